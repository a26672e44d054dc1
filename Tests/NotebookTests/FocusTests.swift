import AttnCore
import Foundation
@testable import Notebook
import Testing

/// A paragraph longer than the 40 rows a step shows whole: 56 tokens on MiniLM, more on SmolLM2.
private let paragraph = "the river ran past the old mill where the miller kept his grain in sacks of rough cloth and every morning he walked down to the water to watch the wheel turn while the village slept behind him and the birds sang in the trees along the bank"

@Suite("Views of a long step: focus, top K keys, the band around the diagonal")
struct FocusTests {
    /// The rows of a printed matrix after its header (the first line whose first word is
    /// `header`), up to a blank line or a notice, as (position, line); `⋮` lines skipped.
    func printedRows(_ output: String, after header: String) throws -> [(position: Int, line: String)] {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex { $0.split(separator: " ").first.map(String.init) == header })
        var rows: [(Int, String)] = []
        for line in lines[(start + 1)...] {
            if line.isEmpty || line.hasPrefix("notice") || line.hasPrefix("too long") { break }
            let fields = line.split(separator: " ")
            if fields.first == "⋮" { continue }
            if let position = fields.first.flatMap({ Int($0) }) { rows.append((position, line)) }
        }
        return rows
    }

    @Test("focus: the rows around each occurrence, the first key and the keys around them, each cell the trace's")
    func focusedRowsAndColumns() throws {
        let s = ScriptedSession(width: 120)
        let output = s.run("sentence \(paragraph)\nlayer 1\nhead 3\nfocus mill water\nweights")
        let trace = try #require(s.session.currentTrace)
        #expect(trace.count > 40)
        let mill = try #require(trace.tokens.firstIndex(of: "mill")), water = try #require(trace.tokens.firstIndex(of: "water"))
        let expectedRows = Set((mill - 2)...(mill + 2)).union((water - 2)...(water + 2)).sorted()
        let columnsLine = try #require(output.split(separator: "\n").first { $0.hasPrefix("focus mill water: rows") })
        #expect(columnsLine.contains("rows \(mill - 2)…\(mill + 2), \(water - 2)…\(water + 2); columns 0, \(mill - 2)…"), "\(columnsLine)")
        let weights = trace.layers[1].heads[3].weights
        let rows = try printedRows(output, after: "[CLS]")
        #expect(rows.map(\.position) == expectedRows, "\(output)")
        // The columns: key 0, then the rows' positions in order, as many as fit (all of them at 120).
        let columns = [0] + expectedRows
        for (i, line) in rows {
            let values = numbers(in: Substring(line)).dropFirst()  // the position is a number too
            #expect(values.count == columns.count, "\(line)")
            for (value, j) in zip(values, columns) {
                #expect(abs(value - weights[i, j]) <= 5e-5, "row \(i), key \(j): \(value) vs \(weights[i, j])")
            }
        }
        #expect(!output.contains("too long to show whole"))
    }

    @Test("focus leaves a sentence that fits alone, and says so; focus off returns the first and last rows")
    func focusOnlyWhenTooLarge() throws {
        let s = ScriptedSession()
        _ = s.run("sentence the cat sat on the mat")
        let plain = s.run("weights")
        let said = s.run("focus cat")
        #expect(said.contains("position 2 of 8") && said.contains("this sentence's 8 tokens fit"), "\(said)")
        #expect(s.run("weights") == plain)
        _ = s.run("sentence \(paragraph)")
        // The focus stays for the next sentence, which has no cat: the first and last rows, and why.
        let stayed = s.run("weights")
        #expect(stayed.contains("focus cat finds no token of this sentence") && stayed.contains("⋮"), "\(stayed)")
        let unfocused = s.run("focus off\nweights")
        #expect(unfocused.contains("too long to show whole: focus TOKEN"))
        #expect(unfocused.contains("⋮"))
    }

    @Test("focus narrows exactly the steps the renderer cannot show whole: scores whose numbers are too wide for 80 columns, not weights")
    func focusFollowsTheRenderer() throws {
        let s = ScriptedSession()
        _ = s.run("sentence the cat sat on the mat\nlayer 0\nhead 2")
        let scores = s.run("scores"), weights = s.run("weights")
        #expect(scores.contains("  …  ") && !weights.contains("…"), "\(scores)\(weights)")
        let said = s.run("focus cat").replacingOccurrences(of: "\n", with: " ")
        #expect(said.contains("this sentence's 8 tokens fit, and of this head's steps only scores, scaled and masked are too wide to show whole"), "\(said)")
        let focused = s.run("scores")
        #expect(focused.contains("focus cat: rows 0…4") && !focused.contains("  …  "), "\(focused)")
        #expect(s.run("weights") == weights)
    }

    @Test("top K: each listed row's K largest keys in order, with the trace's values; a decoder never lists a masked key")
    func topKeys() throws {
        let s = ScriptedSession(width: 100)
        let output = s.run("model smollm2\nsentence \(paragraph)\nlayer 2\nhead 4\nweights top 3")
        let trace = try #require(s.session.currentTrace)
        let weights = trace.layers[2].heads[4].weights
        let rows = try printedRows(output, after: "query")
        #expect(rows.count == 40)  // the first 20 and the last 20
        #expect(rows.first?.position == 0 && rows.last?.position == trace.count - 1)
        for (i, line) in rows {
            let fields = line.split(separator: " ").map(String.init)
            // position token, then (key token value) × 3 (fewer on the first rows: only keys ≤ i).
            let cells = stride(from: 2, to: fields.count, by: 3).map { (Int(fields[$0]), Float(fields[$0 + 2])) }
            let expected = (0...i).sorted { weights[i, $0] != weights[i, $1] ? weights[i, $0] > weights[i, $1] : $0 < $1 }.prefix(3)
            #expect(cells.count == min(3, i + 1), "\(line)")
            for ((key, value), j) in zip(cells, expected) {
                #expect(key == j, "row \(i): \(line)")
                #expect(abs((value ?? .nan) - weights[i, j]) <= 5e-5)
            }
        }
    }

    @Test("band W: column o of row i is the step at key i + o, blank off the sentence; −W … 0 on a decoder, −W … W on an encoder")
    func band() throws {
        let s = ScriptedSession(width: 100)
        let encoder = s.run("sentence \(paragraph)\nlayer 0\nhead 0\nscores band 2")
        var trace = try #require(s.session.currentTrace)
        #expect(encoder.split(separator: "\n").contains { $0.split(separator: " ") == ["i−2", "i−1", "i", "i+1", "i+2"] }, "\(encoder)")
        var scores = trace.layers[0].heads[0].scores
        for (i, line) in try printedRows(encoder, after: "i−2") where i > 1 && i < trace.count - 2 {
            let values = numbers(in: Substring(line)).dropFirst()
            #expect(values.count == 5, "\(line)")
            for (value, o) in zip(values, -2...2) { #expect(abs(value - scores[i, i + o]) <= 5e-4, "row \(i) offset \(o)") }
        }
        let decoder = s.run("model smollm2\nsentence \(paragraph)\nweights band 3")
        trace = try #require(s.session.currentTrace)
        scores = trace.layers[0].heads[0].weights
        let rows = try printedRows(decoder, after: "i−3")
        let first = try #require(rows.first)
        #expect(first.position == 0 && numbers(in: Substring(first.line)).dropFirst().count == 1)  // only i: the rest is off the sentence
        for (i, line) in rows where i >= 3 {
            for (value, o) in zip(numbers(in: Substring(line)).dropFirst(), -3...0) {
                #expect(abs(value - scores[i, i + o]) <= 5e-5)
            }
        }
        // On a page the cells off the sentence are drawn masked, and their value reads — (not nan).
        _ = s.run("save notebook band.html")
        let page = try String(contentsOfFile: s.directory + "/band.html", encoding: .utf8)
        #expect(page.contains("key i−3: —") && !page.contains(": nan<"))
    }

    @Test("bad focus, top and band arguments get one line saying what to do")
    func refusals() {
        let s = ScriptedSession()
        #expect(s.failure("focus cat")?.contains("sentence") == true)
        _ = s.run("sentence the cat sat")
        #expect(s.failure("focus dog")?.contains("no token of this sentence is dog") == true)
        #expect(s.failure("focus 99")?.contains("position 0…4") == true)
        #expect(s.failure("focus a b c d e f g h i")?.contains("at most 8") == true)
        #expect(s.failure("weights top 0")?.contains("1 ≤ K ≤ 50") == true)
        #expect(s.failure("q top 3")?.contains("token × token") == true)
        #expect(s.failure("weights band 9")?.contains("1 ≤ W ≤ 4") == true)
        #expect(s.failure("show weights band x") != nil)
        #expect(s.failure("focus cat") == nil && s.failure("focus") == nil && s.failure("focus off") == nil)
    }
}
