import AttnCore
import Foundation
@testable import Notebook
import Testing

/// `STEP all` and `export STEP all`: every layer and head at once, as `output_attentions=True`
/// gives them, checked against the Hugging Face fixtures; and `export NAME` for the learner's math.
@Suite("Every layer at once: STEP all, export STEP all, export NAME")
struct AllLayersTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("AttnCoreTests/Fixtures").path

    /// The largest |a − b| over two arrays of one shape.
    static func largestDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    /// The text of a `sentence "…"` line: quotes, backslashes and line ends escaped.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }

    @Test("the grammar: STEP all, show STEP all, export STEP all PATH, export NAME PATH, export a slice with spaces")
    func grammar() throws {
        func parsed<C: NotebookCommand>(_ line: String, as type: C.Type) throws -> C? {
            guard case let .command(command) = try Commands.parse(line) else { return nil }
            return command as? C
        }
        #expect(try parsed("weights all", as: ShowCommand.self) == ShowCommand(step: .weights, all: true))
        #expect(try parsed("show q all", as: ShowCommand.self) == ShowCommand(step: .q, all: true))
        #expect(try parsed("export weights all w.npy", as: ExportCommand.self) == ExportCommand(what: "weights", path: "w.npy", all: true))
        #expect(try parsed("export out all dir/my out.npy", as: ExportCommand.self) == ExportCommand(what: "out", path: "dir/my out.npy", all: true))
        #expect(try parsed("export R r.csv", as: ExportCommand.self) == ExportCommand(what: "R", path: "r.csv"))
        #expect(try parsed("export weights[2, :] w.csv", as: ExportCommand.self) == ExportCommand(what: "weights[2, :]", path: "w.csv"))
        #expect(try parsed("export weights w.npy", as: ExportCommand.self) == ExportCommand(what: "weights", path: "w.npy"))
        #expect(throws: NotebookError.usage(command: "export", usage: "export weights all PATH.npy")) {
            try Commands.parse("export weights all")
        }
    }

    @Test("export STEP all for MiniLM: [6, 12, T, T], [6, 12, T, 32] and [6, T, 384], equal to the transformers fixtures")
    func miniLMExports() throws {
        let s = ScriptedSession()
        let output = s.run("""
            sentence the cat sat on the mat
            export weights all w.npy
            export scores all s.npy
            export q all q.npy
            export z all z.npy
            export x all x.npy
            export out all out.npy
            """)
        #expect(output.contains("wrote weights (layers 0…5, heads 0…11) [6 × 12 × 8 × 8] to w.npy\n"))
        #expect(output.contains("wrote q (layers 0…5, heads 0…11) [6 × 12 × 8 × 32] to q.npy\n"))
        #expect(output.contains("wrote out (layers 0…5) [6 × 8 × 384] to out.npy\n"))
        let expected: [(file: String, fixture: String, shape: [Int], tolerance: Float)] = [
            ("w.npy", "weights", [6, 12, 8, 8], 1e-5),
            ("s.npy", "scores", [6, 12, 8, 8], 1e-3),
            ("q.npy", "q", [6, 12, 8, 32], 1e-3),
            ("z.npy", "z", [6, 12, 8, 32], 1e-4),
            ("x.npy", "x", [6, 8, 384], 1e-3),
            ("out.npy", "out", [6, 8, 384], 1e-3),
        ]
        for item in expected {
            let mine = try NumPyFile.read(path: s.directory + "/" + item.file)
            let reference = try NumPyFile.read(path: Self.fixtures + "/minilm/s0/\(item.fixture).npy")
            #expect(mine.shape == item.shape, "\(item.file)")
            #expect(reference.shape == item.shape, "\(item.fixture).npy")
            #expect(Self.largestDifference(mine.values, reference.values) < item.tolerance, "\(item.file)")
        }
        // One head of the stack is the step that head shows: layer 2, head 7 at [2, 7].
        let weights = try NumPyFile.read(path: s.directory + "/w.npy").values
        let trace = try #require(s.session.currentTrace)
        let block = Array(weights[((2 * 12 + 7) * 64)..<((2 * 12 + 8) * 64)])
        #expect(block == trace.layers[2].heads[7].weights.values)
    }

    @Test("export weights all for SmolLM2 equals the fixture's 30 stacked layers of attentions (p1, a chat turn)")
    func smolLM2Weights() throws {
        let data = try #require(FileManager.default.contents(atPath: Self.fixtures + "/smollm2/prompts.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let prompts = try #require(json["prompts"] as? [[String: Any]])
        let p1 = try #require(prompts.first { $0["name"] as? String == "p1" })
        let text = try #require(p1["text"] as? String)
        let s = ScriptedSession()
        let output = s.run("model smollm2\nsentence \(Self.quoted(text))\nexport weights all w.npy\nexport k all k.npy")
        #expect(output.contains("wrote weights (layers 0…29, heads 0…8) [30 × 9 × 16 × 16] to w.npy\n"))
        #expect(output.contains("wrote k (layers 0…29, heads 0…8; each query head's key/value head) [30 × 9 × 16 × 64] to k.npy\n"))
        let mine = try NumPyFile.read(path: s.directory + "/w.npy")
        let reference = try NumPyFile.read(path: Self.fixtures + "/smollm2/p1/weights_all.npy")
        #expect(reference.shape == [30, 9, 16, 16])
        #expect(mine.shape == reference.shape)
        #expect(Self.largestDifference(mine.values, reference.values) < 1e-4)
        // Query heads 3, 4 and 5 share key/value head 1: their keys are the same rows.
        let keys = try NumPyFile.read(path: s.directory + "/k.npy").values
        let size = 16 * 64
        #expect(Array(keys[(3 * size)..<(4 * size)]) == Array(keys[(5 * size)..<(6 * size)]))
        #expect(Array(keys[(2 * size)..<(3 * size)]) != Array(keys[(3 * size)..<(4 * size)]))
    }

    @Test(".csv and devices are refused for more than two dimensions, naming .npy; a file not this session's needs !")
    func refusals() throws {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat")
        #expect(s.failure("export weights all w.csv")
            == "export weights all is [6 × 12 × 8 × 8], and w.csv would hold two dimensions (.csv is rows and columns): write .npy instead, e.g. export weights all w.npy")
        #expect(s.failure("export out all o.CSV!")?.hasPrefix("export out all is [6 × 8 × 384], and o.CSV would hold two dimensions") == true)
        #expect(s.failure("export weights all /dev/null")?.contains("write .npy instead") == true)
        #expect(s.failure("export weights all w.png") == "cannot tell the format of w.png: end the file name with .npy or .csv (or .tsv/.txt for tokens)")
        #expect(s.failure("export embeddings all e.npy")
            == "embeddings is one matrix for the whole sentence, not one per layer: embeddings shows it and export embeddings PATH writes it")
        #expect(!FileManager.default.fileExists(atPath: s.directory + "/w.csv"))
        #expect(!FileManager.default.fileExists(atPath: s.directory + "/e.npy"))

        // Someone else's file is replaced only after !, as for every export.
        let theirs = s.directory + "/theirs.npy"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: theirs))
        #expect(s.failure("export weights all theirs.npy")?.hasPrefix("theirs.npy exists, and this session did not write it") == true)
        #expect(try Data(contentsOf: URL(fileURLWithPath: theirs)) == Data("keep".utf8))
        #expect(s.run("export weights all theirs.npy!") == "wrote weights (layers 0…5, heads 0…11) [6 × 12 × 8 × 8] to theirs.npy, replacing the existing file\n")
        #expect(try NumPyFile.read(path: theirs).shape == [6, 12, 8, 8])
    }

    @Test("export NAME and export a slice write the values the math gives them")
    func learnerNamesAndSlices() throws {
        let s = ScriptedSession()
        let output = s.run("""
            sentence the cat sat on the mat
            layer 2
            head 7
            R = weights[2]
            export R r.csv
            export R r.npy
            export weights[2, :] w2.csv
            export weights[1:3, 0:2] corner.npy
            export W_Q wq.npy
            """)
        #expect(output.contains("wrote R [1 × 8] to r.csv\n"))
        #expect(output.contains("wrote weights[2, :] (layer 2, head 7) [1 × 8] to w2.csv\n"))
        #expect(output.contains("wrote weights[1:3, 0:2] (layer 2, head 7) [2 × 2] to corner.npy\n"))
        #expect(output.contains("wrote W_Q (layer 2, head 7) [384 × 32] to wq.npy\n"))
        let weights = try #require(s.session.currentTrace).layers[2].heads[7].weights
        func csv(_ name: String) throws -> [Float] {
            try String(contentsOfFile: s.directory + "/" + name, encoding: .utf8)
                .split(whereSeparator: { $0 == "," || $0 == "\n" }).map { try #require(Float(String($0))) }
        }
        #expect(try csv("r.csv") == weights.row(2))
        #expect(try csv("w2.csv") == weights.row(2))
        let r = try NumPyFile.read(path: s.directory + "/r.npy")
        #expect(r.shape == [1, 8] && r.values == weights.row(2))
        let corner = try NumPyFile.read(path: s.directory + "/corner.npy")
        #expect(corner.shape == [2, 2] && corner.values == [weights[1, 0], weights[1, 1], weights[2, 0], weights[2, 1]])
        // The row [CLS] of the quick tour: most weight on [CLS].
        #expect(weights[2, 0] > 0.9)
        #expect(s.failure("export wieghts w.npy")?.hasPrefix("unknown step 'wieghts': did you mean 'weights'") == true)
        // The math's own message: the slice is evaluated as the math evaluates it.
        #expect(s.failure("export weights[9, :] w9.csv") == "weights[9, :]: row 9 is out of range for [8 × 8]: the rows are 0…7")
        #expect(!FileManager.default.fileExists(atPath: s.directory + "/w9.csv"))
    }

    /// The argmax key of every query row of one head, as `weights all` names them.
    static func argmaxKeys(_ m: Matrix) -> String {
        let symbols = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return String((0..<m.rows).map { i in
            let row = m.row(i)
            return symbols[row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!]
        })
    }

    @Test("weights all fits 60, 80 and 200 columns in 3, 2 and 1 bands, each head's argmax keys those of the trace")
    func overviewFits() throws {
        for (width, bands) in [(60, 3), (80, 2), (200, 1)] {
            let s = ScriptedSession(width: width)
            let output = s.run("sentence the cat sat on the mat\nweights all")
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines[1].hasPrefix("weights, layers × heads: the argmax key of each query row"))
            let legendStart = try #require(lines.firstIndex { $0.hasPrefix("one character per query row") })
            let legend = lines[legendStart..<(lines.firstIndex { $0.hasPrefix("    H0") } ?? 2)].map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(legend.joined(separator: " ") == "one character per query row 0…7, naming its key: 0=[CLS] 1=the 2=cat 3=sat 4=on 5=the 6=mat 7=[SEP]")
            for line in lines {
                #expect(MatrixRenderer.displayWidth(line) <= width, "\(width): \(line)")
                #expect(!line.hasSuffix(" "), "\(width): trailing space in \(line)")
            }
            // Every head once, in bands; every band has the six layers.
            let headers = lines.filter { $0.hasPrefix("    H") }
            #expect(headers.count == bands, "\(width)")
            #expect(headers.flatMap { $0.split(separator: " ") }.map(String.init) == (0..<12).map { "H\($0)" })
            #expect(lines.filter { $0.hasPrefix("L0  ") }.count == bands)
            // The cells of L0 and L5 against the trace, head by head.
            let trace = try #require(s.session.currentTrace)
            for layer in [0, 3, 5] {
                let cells = lines.filter { $0.hasPrefix("L\(layer)  ") }.flatMap { $0.split(separator: " ").dropFirst() }.map(String.init)
                #expect(cells == (0..<12).map { Self.argmaxKeys(trace.layers[layer].heads[$0].weights) }, "\(width) L\(layer)")
            }
            // Layer 0's head 2 looks at the previous token (the first query at itself), and layer 2's
            // head 7 at [CLS], as the quick tour shows.
            #expect(Self.argmaxKeys(trace.layers[0].heads[2].weights) == "00123456")
            #expect(Self.argmaxKeys(trace.layers[2].heads[7].weights) == "00000000")
        }
    }

    @Test("masked all for SmolLM2 never names a future key; q all and x all print one mean row length per head or layer")
    func otherSteps() throws {
        let s = ScriptedSession(width: 80)
        let output = s.run("sentence the cat sat on the mat\nq all\nx all")
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.contains("q, layers × heads: the mean length ‖row‖ of its rows   [6 × 12 × 8 × 32]"))
        #expect(lines.contains("x, layers: the mean length ‖row‖ of its rows   [6 × 8 × 384]"))
        let trace = try #require(s.session.currentTrace)
        let q2 = trace.layers[2].heads[0].q
        let length = (0..<8).map { i in sqrt(q2.row(i).reduce(0.0) { $0 + Double($1) * Double($1) }) }.reduce(0, +) / 8
        let row = try #require(lines.first { $0.hasPrefix("L2  ") })
        #expect(row.split(separator: " ")[1] == Substring(String(format: "%.1f", length)))
        #expect(lines.allSatisfy { MatrixRenderer.displayWidth($0) <= 80 && !$0.hasSuffix(" ") })

        let decoder = ScriptedSession(width: 80)
        let masked = decoder.run("model smollm2\nsentence The capital of France is\nmasked all")
        let rows = masked.split(separator: "\n").filter { $0.hasPrefix("L") }
        #expect(rows.count == 30)  // 9 heads of 7 columns fit 80 in one band
        for row in rows {
            for cell in row.split(separator: " ").dropFirst() {
                // Query i sees keys 0…i only.
                for (i, key) in cell.enumerated() { #expect(Int(String(key))! <= i) }
            }
        }
    }

    @Test("a sentence too long for one character per key, or a terminal too narrow, says so and names export")
    func overviewLimits() throws {
        let s = ScriptedSession(width: 80)
        s.run("sentence " + Array(repeating: "the cat sat on the mat", count: 12).joined(separator: " "))
        #expect(s.failure("weights all")
            == "weights all cannot show every head here: it names each key with one character, for at most 62 tokens, and the sentence has 74; export weights all PATH.npy writes every layer and head, and heads all sums them up")
        let narrow = ScriptedSession(width: 40)
        narrow.run("sentence " + Array(repeating: "the cat sat", count: 13).joined(separator: " "))
        #expect(narrow.failure("scores all")?.hasPrefix("scores all cannot show every head here: one head takes 45 columns and the terminal has 40") == true)
        #expect(narrow.session.completions(before: "export weights ", word: "a") == .words(["all"]))
        #expect(narrow.session.completions(before: "weights ", word: "") == .words(["all"]))
        #expect(narrow.session.completions(before: "export embeddings ", word: "a") == .files)
    }
}
