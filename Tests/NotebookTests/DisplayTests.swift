import AttnCore
import Foundation
import Notebook
import Testing

// What a learner tripped over on screen (issue 12): each test reads the real models' output and
// computes what it expects from the session's trace with plain loops.

/// The lines of an output.
private func lines(_ text: String) -> [String] { text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

/// The output as one line: prose is wrapped wherever its words fall.
private func joined(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: " ") }

private func two(_ x: Float) -> String { String(format: "%.2f", x) }

@Suite("What the learner sees: rollout, labels, wrapping, prose, tokens")
struct DisplayTests {
    @Test("rollout on the decoder says why every row ends on the first token, and its notice reads the matrix shown")
    func decoderRollout() throws {
        let s = ScriptedSession()
        let output = s.run("model smollm2\nsentence The capital of France is Paris\nrollout")
        let trace = try #require(s.session.currentTrace)
        let t = trace.count
        let text = joined(output)
        #expect(text.contains("Under the causal mask row i can mix only tokens 0…i"))
        // The sink, measured here: the mean weight rows 1…T−1 of every head put on token 0.
        var sink = 0.0, count = 0.0
        for layer in trace.layers {
            for head in layer.heads.map(\.weights) { for i in 1..<t { sink += Double(head[i, 0]); count += 1 } }
        }
        #expect(text.contains("put \(String(format: "%.2f", sink / count)) of their weight on it"))
        #expect(text.contains("Multiplied through 30 layers"))

        // The notice describes the rows on screen: what rows 1… keep of themselves and take from
        // token 0, read back from the printed matrix.
        let printed = lines(output)
        let header = try #require(printed.firstIndex { $0.hasPrefix("  ") && $0.contains("The") && $0.contains("·Paris") })
        let rows = (1..<t).map { numbers(in: Substring(printed[header + 1 + $0])) }
        func span(_ values: [Float]) -> String {
            let low = two(values.min()!), high = two(values.max()!)
            return low == high ? low : "\(low)…\(high)"
        }
        let keeps = span((1..<t).map { rows[$0 - 1][$0] })
        let first = span(rows.map { $0[0] })
        #expect(text.contains("rows 1…\(t - 1) keep \(keeps) of themselves and take \(first) from the first token, The."),
                "\(text)")
        // Not the diagonal's mean over every row, which counts row 0's forced 1 as keeping.
        #expect(!text.contains("On average a token keeps"))

        // The encoder's rollout keeps its notice, and has no causal note.
        let encoder = joined(s.run("model minilm\nsentence the cat sat on the mat\nrollout"))
        #expect(encoder.contains("On average a token keeps"))
        #expect(!encoder.contains("causal mask"))
    }

    @Test("column labels grow to whole tokens when the width has room for every column, up to 12 characters")
    func columnLabels() throws {
        let wide = ScriptedSession(width: 200)
        let output = wide.run("model smollm2\nsentence The capital of France is\nweights")
        let header = try #require(lines(output).first { $0.hasPrefix(" ") && $0.contains("·France") })
        #expect(header.split(separator: " ") == ["The", "·capital", "·of", "·France", "·is"])
        // Every cell as wide as the widest label: the columns still line up under their labels.
        let trace = try #require(wide.session.currentTrace)
        let row = try #require(lines(output).first { $0.hasPrefix("·France ") })
        #expect(numbers(in: Substring(row)).count == 5)
        #expect(MatrixRenderer.displayWidth(row) == MatrixRenderer.displayWidth(header))

        // At 60 columns the same labels are cut to six characters, and the matrix fits.
        let narrow = ScriptedSession(width: 60)
        let cut = narrow.run("model smollm2\nsentence The capital of France is a big city of many products\nweights")
        #expect(cut.contains("·capi…"))
        for line in lines(cut) { #expect(MatrixRenderer.displayWidth(line) <= 60, "\(line)") }

        // A longer label is cut at 12 characters, even with room to spare.
        let long = MatrixRenderer(width: 200).render(trace.layers[0].heads[0].weights, rowLabels: trace.tokens,
                                                     columnLabels: ["a-very-long-label-indeed"] + trace.tokens.dropFirst())
        #expect(lines(long)[0].split(separator: " ").first == "a-very-long…")
        // With no room for whole labels the cells stay at six.
        let tight = MatrixRenderer(width: 50).render(trace.layers[0].heads[0].weights, rowLabels: trace.tokens,
                                                     columnLabels: trace.tokens)
        #expect(lines(tight)[0].split(separator: " ") == ["The", "·capi…", "·of", "·Fran…", "·is"])
    }

    @Test("the z notice names a row by its index and token, as the learner's math writes it")
    func zNotice() throws {
        let s = ScriptedSession()
        let output = joined(s.run("sentence the cat sat on the mat\nlayer 2\nhead 7\nz"))
        let w = try #require(s.session.currentTrace).layers[2].heads[7].weights
        let tokens = try #require(s.session.currentTrace).tokens
        // The query whose strongest weight is largest, and the key it goes to.
        var best = (i: 0, j: 0)
        for i in 0..<w.rows { for j in 0..<w.columns where w[i, j] > w[best.i, best.j] { best = (i, j) } }
        let percent = Int((w[best.i, best.j] * 100).rounded())
        #expect(output.contains("z[\(best.i)] (\(tokens[best.i])) is \(percent)% v[\(best.j)] (\(tokens[best.j]))."), "\(output)")
        #expect(!output.contains("z[["))
    }

    @Test("at 60 columns headers, provenance and a re-tokenized long sentence break at spaces, never mid-word")
    func narrowLines() throws {
        let s = ScriptedSession(width: 60)
        let sentence = "the capital of France is a city of many products and people who live there happily"
        var output = s.run("sentence \(sentence)\nq\nmasked\nattn_out\nneuron 1 2\nrollout\nimportance")
        output += s.run("model smollm2\nq\nk\nmasked\nneuron 2 1")
        for line in lines(output) { #expect(MatrixRenderer.displayWidth(line) <= 60, "\(line)") }
        // Words only: broken at a space, a line's words join up again.
        let text = output.split { $0 == " " || $0 == "\n" }.joined(separator: " ")
        for whole in ["(32 products)", "(64 products)", "384 × 384 weight, transposed", "a token sees only itself and the past",
                      "(shared by query heads 0, 1, 2)", "the same without token i) (occlusion)",
                      "·live ·there ·happily (82 characters)"] {
            #expect(text.contains(whole), "\(whole) is not in the output")
        }
        // The re-tokenized sentence: every token of it, on lines of at most 60 columns.
        let trace = try #require(s.session.currentTrace)
        let printed = try #require(output.range(of: "sentence: \(trace.count) tokens:"))
        let words = output[printed.upperBound...].prefix { $0 != "(" }.split { $0 == " " || $0 == "\n" }.map(String.init)
        #expect(words == trace.tokens)
    }

    @Test("the heads legend counts the rows that choose as the model has them: all on the encoder, 1… on the decoder")
    func headsLegend() throws {
        let s = ScriptedSession()
        let encoder = joined(s.run("sentence the cat sat on the mat\nheads"))
        let t = try #require(s.session.currentTrace).count
        #expect(encoder.contains("pattern: over all \(t) query rows, the mean weight"))
        #expect(!encoder.contains("have a choice"))
        let decoder = joined(s.run("model smollm2\nheads"))
        let u = try #require(s.session.currentTrace).count
        #expect(decoder.contains("pattern: over the \(u - 1) query rows that have a choice (row 0 sees only itself)"))
        #expect(decoder.contains("or on the first token;"))
    }

    @Test("tokens shows the character each run of SmolLM2's byte tokens builds; MiniLM has no byte tokens")
    func byteTokens() throws {
        let s = ScriptedSession()
        let output = s.run("model smollm2\nsentence 我爱自然语言处理\ntokens")
        let trace = try #require(s.session.currentTrace)
        #expect(lines(output).contains { $0.hasPrefix(" i") && $0.contains("  token ") && $0.hasSuffix("  builds") })
        // The rows that end a run: "i  id  token  character  (tokens a…b)".
        var built: [String] = []
        for line in lines(output) {
            guard let range = line.range(of: #"\(tokens (\d+)…(\d+)\)$"#, options: .regularExpression) else { continue }
            let fields = line[..<range.lowerBound].split(separator: " ")
            let character = String(try #require(fields.last))
            let bounds = line[range].dropFirst(8).dropLast().components(separatedBy: "…").compactMap { Int($0) }
            #expect(Int(fields[0]) == bounds[1])
            // The bytes the run's labels spell are the character's UTF-8.
            var bytes: [UInt8] = []
            for label in trace.tokens[bounds[0]...bounds[1]] {
                for match in label.matches(of: /<0x([0-9A-F]{2})>/) { bytes.append(UInt8(match.1, radix: 16)!) }
            }
            #expect(bytes == Array(character.utf8), "\(line)")
            built.append(character)
        }
        #expect(built == ["我", "爱", "自", "然", "语", "言", "处"])
        #expect(joined(output).contains("the vocabulary has no token for the character, so the model reads it in bytes"))
        // 理 is one token of its own: nothing to build.
        #expect(lines(output).contains { $0.hasSuffix("  理") })

        let encoder = s.run("model minilm\nsentence 我爱自然语言处理\ntokens")
        #expect(!encoder.contains("builds"))
    }

    @Test("lesson 1 says why MiniLM turns 我爱自然语言处理 into 我 and [UNK], and what it says holds for the vocabulary")
    func chineseInLessonOne() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let lesson = try Lesson(path: repository + "/Lessons/01-tokens.md")
        let block = try #require(lesson.blocks.first { $0.commands.contains { $0.text == "sentence 我爱自然语言处理" } })
        #expect(block.commands.map(\.text).contains("tokens"))
        #expect(block.prose.contains("only 244 of the thousands of Chinese characters"))
        // The vocabulary itself: how many CJK ideographs it has whole, and which of the eight.
        let vocabulary = try String(contentsOfFile: ModelStore.directory(for: .minilm) + "/vocab.txt", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let ideographs = Set(vocabulary.filter { $0.unicodeScalars.count == 1 && (0x4E00...0x9FFF).contains($0.unicodeScalars.first!.value) })
        #expect(ideographs.count == 244)
        let known = "我爱自然语言处理".map(String.init).filter(ideographs.contains)
        #expect(known == ["我"])
        // And the model's tokenizer agrees.
        let s = ScriptedSession()
        s.run("sentence 我爱自然语言处理")
        let trace = try #require(s.session.currentTrace)
        #expect(trace.tokens == ["[CLS]", "我"] + Array(repeating: "[UNK]", count: 7) + ["[SEP]"])
    }

    @Test("lesson prose shows inline code without backticks: bold on a colour terminal, plain otherwise; the Markdown keeps them")
    func inlineCode() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let markdown = try String(contentsOfFile: repository + "/Lessons/01-tokens.md", encoding: .utf8)
        #expect(markdown.contains("`[CLS]` first and `[SEP]` last"))
        let lesson = try Lesson(path: repository + "/Lessons/01-tokens.md")
        for color in [false, true] {
            let session = Session(renderer: MatrixRenderer(width: 80, color: color))
            var output = ""
            try Runner.replay(session, lesson: lesson) { output += $0 }
            #expect(!output.contains("`"), "color \(color)")
            let bold = color ? "\u{1B}[1m[CLS]\u{1B}[22m" : "[CLS]"
            #expect(output.contains("T token ids, \(bold) first and"))
            // Wrapped by what shows: escape sequences take no columns.
            for line in lines(output) { #expect(MatrixRenderer.displayWidth(line) <= 80, "\(line)") }
            if color {
                let line = try #require(lines(output).first { $0.contains(bold) })
                let visible = line.replacingOccurrences(of: "\u{1B}[1m", with: "").replacingOccurrences(of: "\u{1B}[22m", with: "")
                #expect(MatrixRenderer.displayWidth(line) == visible.count)
            }
        }
        // A heading's code too, with an underline as long as what shows.
        let heading = ProseRenderer(width: 80).render("## The sum tells the two `the`s apart")
        #expect(heading == "The sum tells the two thes apart\n" + String(repeating: "─", count: 32) + "\n")
    }
}
