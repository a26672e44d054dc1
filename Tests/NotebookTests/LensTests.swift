import AttnCore
import Foundation
@testable import Notebook
import Testing

@Suite("lens: the logit lens, the model's last step after every layer")
struct LensTests {
    @Test("SmolLM2: each row's top tokens and p equal final_norm(out_l) · Eᵀ computed here; the last row is predict's")
    func smollm2() throws {
        let s = ScriptedSession(width: 80)
        let output = s.run("model smollm2\nsentence The capital of France is\nlens\npredict 1")
        let decoder = try #require(s.session.model as? any DecoderModel)
        let trace = try #require(s.session.currentTrace)
        let lines = output.split(separator: "\n").map(String.init)
        let header = try #require(lines.firstIndex { $0.hasPrefix("layer  The") })
        let rows = Array(lines[(header + 1)...].prefix(decoder.sizes.layers))
        #expect(lines[header + 1 + decoder.sizes.layers].hasPrefix("notice:"), "\(output)")
        let next = 7042  // ·Paris, the model's top next token (lesson 14)
        for (l, row) in rows.enumerated() {
            let fields = row.split(separator: " ").map(String.init)
            #expect(Int(fields[0]) == l)
            // Computed here from the trace: the final norm and the logits of the last position.
            let logits = decoder.logits(decoder.finalNorm(trace.layers[l].out.rows((trace.count - 1)..<trace.count))).row(0)
            let p = probabilities(logits: logits, temperature: 1)[next]
            let printed = try #require(Double(fields.last ?? ""))
            #expect(abs(printed - Double(p)) < 1e-4, "layer \(l): \(printed) vs \(p)")
            let top = topTokens(logits: logits, count: 1, temperature: 1)[0].id
            #expect(fields[fields.count - 2] == decoder.tokenLabel(top), "layer \(l): \(row)")
        }
        // The last layer's row is the model's own prediction, as predict prints it.
        let predicted = try #require(lines.last { $0.hasPrefix("  1  ·Paris") })
        let lastP = try #require(rows.last?.split(separator: " ").last.map(String.init))
        #expect(predicted.contains("  \(lastP)  "), "\(predicted) vs \(lastP)")
        #expect(output.contains("notice: ·Paris is the top token at the last position from layer 29 on"))
    }

    @Test("target-aware: p(·London) by layer, and for ·Paris − ·London the logit difference, whose last row is attribute's")
    func target() throws {
        let s = ScriptedSession(width: 80)
        let output = s.run("model smollm2\nsentence The capital of France is\ntarget ·London\nlens")
        let decoder = try #require(s.session.model as? any DecoderModel)
        let trace = try #require(s.session.currentTrace)
        let rows = output.split(separator: "\n").filter { $0.hasPrefix("   ") || $0.hasPrefix("    ") }.suffix(30)
        #expect(output.contains(" p(·London)"), "\(output)")
        for (l, row) in rows.enumerated() {
            let logits = decoder.logits(decoder.finalNorm(trace.layers[l].out.rows(4..<5))).row(0)
            let p = Double(probabilities(logits: logits, temperature: 1)[4528])
            let printed = try #require(Double(row.split(separator: " ").last ?? ""))
            #expect(abs(printed - p) < 1e-4, "layer \(l): \(printed) vs \(p)")
        }
        let difference = s.run("target ·Paris - ·London\nlens")
        #expect(difference.contains("Δlogit"), "\(difference)")
        let last = try #require(difference.split(separator: "\n").last { $0.hasPrefix("   29") })
        let printed = try #require(Double(last.split(separator: " ").last ?? ""))
        let a = try s.session.logitAttribution().0
        #expect(abs(printed - a.modelLogit) < 1e-4, "\(printed) vs \(a.modelLogit)")
        #expect(difference.contains("notice: ·Paris is ahead of ·London at the last position from layer 23 on"), "\(difference)")
    }

    @Test("export lens writes every layer and position; plot lens labels each cell with its top token")
    func exportPlot() throws {
        let s = ScriptedSession(width: 80)
        let output = s.run("model smollm2\nsentence The capital of France is\nexport lens l.csv\nplot lens l.svg")
        #expect(output.contains("wrote the lens of 30 layers × 5 positions"), "\(output)")
        let csv = try String(contentsOfFile: s.directory + "/l.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "layer,position,token,top_token,top_p,target_p")
        #expect(csv.count == 1 + 30 * 5)
        // The last layer's last position: the model's own prediction, ·Paris at 0.7726.
        let last = csv.last?.split(separator: ",").map(String.init) ?? []
        #expect(last.prefix(4) == ["29", "4", "·is", "·Paris"], "\(last)")
        #expect(abs((Double(last[4]) ?? 0) - 0.7726) < 1e-4 && last[4] == last[5], "\(last)")
        let svg = try String(contentsOfFile: s.directory + "/l.svg", encoding: .utf8)
        #expect(svg.components(separatedBy: "class=\"cell\"").count - 1 == 30 * 5)
        #expect(svg.contains("layer 29 → after ·is: ·Paris (0.7726)"), "\(svg.prefix(2000))")
        #expect(svg.contains(">·Pa…<") || svg.contains(">·Paris<"), "the top token written in its cell")

        // The page draws the file's very chart: its cells' hover text and the tokens written in them.
        _ = s.run("save notebook l.html")
        let page = try parsePage(try String(contentsOfFile: s.directory + "/l.html", encoding: .utf8))
        let drawn = try #require(page.all("svg").first { $0.all("title").first?.text.hasPrefix("logit lens") == true })
        let file = try parsePage(svg)
        func hovers(_ chart: PageNode) -> [String] { chart.classed("cell").map(\.text) }
        func written(_ chart: PageNode) -> [String] { chart.classed("values").first?.children.map(\.text) ?? [] }
        #expect(hovers(drawn).count == 30 * 5 && hovers(drawn) == hovers(file))
        #expect(hovers(drawn).last?.hasSuffix("layer 29 → after ·is: ·Paris (0.7726)") == true, "\(hovers(drawn).last ?? "")")
        #expect(written(drawn).count == 30 * 5 && written(drawn) == written(file))
        #expect(written(drawn).last == "·Pa…" || written(drawn).last == "·Paris", "\(written(drawn).last ?? "")")
    }

    @Test("an encoder, no sentence, or arguments: one line saying what to do")
    func refusals() {
        let s = ScriptedSession()
        #expect(s.failure("lens")?.contains("decoder") == true || s.failure("lens")?.contains("sentence") == true)
        _ = s.run("sentence a b")
        #expect(s.failure("lens")?.hasPrefix("lens needs a decoder") == true)
        #expect(s.failure("lens 3") != nil)
    }
}
