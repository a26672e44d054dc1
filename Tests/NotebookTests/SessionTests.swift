import AttnCore
import Foundation
@testable import Notebook
import Testing

/// A scripted session over the real weights, in a scratch directory for exports.
struct ScriptedSession {
    let session: Session
    let directory: String

    init(width: Int = 80) {
        directory = NSTemporaryDirectory() + "attn-session-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        session = Session(renderer: MatrixRenderer(width: width), workingDirectory: directory)
    }

    /// Runs lines the way a pipe does: errors print `error: …` and the session goes on.
    @discardableResult
    func run(_ lines: String) -> String {
        var source = ScriptLines(text: lines)
        var output = ""
        Runner.runAll(session, &source) { output += $0 }
        return output
    }

    /// One line that must fail; returns the error's sentence.
    func failure(_ line: String) -> String? {
        do {
            _ = try session.execute(line)
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// The numbers of a printed matrix row (after its label).
func numbers(in line: Substring) -> [Float] {
    line.split(separator: " ").compactMap { Float($0) }
}

@Suite("A scripted session over the real MiniLM")
struct SessionTests {
    @Test("the issue's example: a labelled 8 × 8 weights matrix whose rows sum to 1, exported to .npy")
    func weightsExample() throws {
        let s = ScriptedSession()
        let output = s.run("""
            sentence "the cat sat on the mat"
            layer 2
            head 7
            weights
            export weights w.npy
            """)
        let lines = output.split(separator: "\n")
        #expect(lines[0] == "sentence: 8 tokens: [CLS] the cat sat on the mat [SEP]")
        #expect(lines[1].hasPrefix("weights = softmax(masked)"))
        #expect(lines[1].hasSuffix("[8 × 8]") && lines[2] == "layer 2, head 7")
        #expect(lines[3].split(separator: " ") == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"])
        let rows = lines[4..<12]
        #expect(rows.map { $0.split(separator: " ").first! } == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"])
        for row in rows {
            let values = numbers(in: row)
            #expect(values.count == 8)
            #expect(abs(values.reduce(0, +) - 1) < 0.002)  // printed with 4 digits
        }
        #expect(lines[12].hasPrefix("notice: each row sums to 1. 8 of 8 queries look most at [CLS]"))
        #expect(lines.last == "wrote weights (layer 2, head 7) [8 × 8] to w.npy")

        let exported = try NumPyFile.read(path: s.directory + "/w.npy")
        #expect(exported.shape == [8, 8])
        let bert = try #require(try? Bert(directory: ModelStore.directory(for: .minilm)))
        let reference = bert.trace(ids: [101, 1996, 4937, 2938, 2006, 1996, 13523, 102]).layers[2].heads[7].weights
        #expect(exported.values == reference.values)
    }

    @Test("every step prints a header with its formula and shape, and a token-labelled matrix")
    func everyStep() {
        let s = ScriptedSession()
        s.run("sentence Attention is all you need.\nlayer 1\nhead 3")
        for step in Bert.steps.map(\.rawValue) {
            let output = s.run(step)
            #expect(!output.hasPrefix("error"), "\(step): \(output)")
            let header = output.split(separator: "\n").first ?? ""
            #expect(header.hasPrefix("\(step) = "), "\(step): \(header)")
            #expect(output.contains("[CLS]") && output.contains("[SEP]"))
        }
        #expect(s.run("scaled").hasPrefix("scaled = scores / √32   [8 × 8]\nlayer 1, head 3\n"))
        // Every printed line fits 80 columns.
        for step in Bert.steps.map(\.rawValue) {
            for line in s.run(step).split(separator: "\n") {
                #expect(MatrixRenderer.displayWidth(String(line)) <= 80, "\(step): \(line)")
            }
        }
    }

    @Test("errors are one line that names the problem, and the session goes on")
    func errors() {
        let s = ScriptedSession()
        #expect(s.failure("weights") == "no sentence yet: type, for example, sentence the cat sat on the mat")
        s.run("sentence the cat sat on the mat")
        #expect(s.failure("layer 9") == "layer 9 does not exist: minilm has layers 0…5")
        #expect(s.failure("head -1") == "head -1 does not exist: minilm has heads 0…11")  // from head 0
        #expect(s.failure("head 12") == "head 12 does not exist: minilm has heads 0…11")
        #expect(s.failure("layer two") == "layer takes a whole number, not 'two'")
        #expect(s.failure("weigths") == "unknown command 'weigths': did you mean 'weights'? (type help for the list)")
        let unknown = s.failure("model gpt5") ?? ""
        #expect(unknown.hasPrefix("unknown model 'gpt5': attn knows minilm, smollm2, gemma3, and the Hugging Face cache (")
                && unknown.hasSuffix(") holds no repository of that name"), "\(unknown)")
        #expect(s.failure("sentence \"unterminated") == "the quoted sentence has no closing \": add one at the end")
        #expect(s.failure("sentence \"bad \\q escape\"") == "unknown escape \\q in the quoted sentence: use \\n \\t \\r \\\" or \\\\")
        #expect(s.failure("export weights w.png") == "cannot tell the format of w.png: end the file name with .npy or .csv (or .tsv/.txt for tokens)")
        #expect(s.failure("export wieghts w.npy")?.hasPrefix("unknown step 'wieghts': did you mean 'weights'") == true)
        #expect(s.failure("show tokens") == "show tokens: tokens is a command of its own, not a step: type tokens")
        #expect(s.failure("show rollout") == "show rollout: rollout is a command of its own, not a step: type rollout")
        #expect(s.failure("sentence " + String(repeating: "word ", count: 600))
                == "the sentence has 602 tokens but the model reads at most 512: shorten it")
        #expect(s.failure("export weights " + s.directory) == "cannot write \(s.directory): it is a directory")
        #expect(s.failure("export weights /dev/full")?.hasPrefix("cannot write /dev/full: ") == true)

        // Through a pipe, each bad line gives one error line and the good lines still work.
        let output = s.run("layer 9\nfoo\nlayer 2\nhead 7\nweights")
        let lines = output.split(separator: "\n")
        #expect(lines[0] == "error: layer 9 does not exist: minilm has layers 0…5")
        #expect(lines[1] == "error: unknown command 'foo': type help for the list of commands")
        #expect(lines[2].hasPrefix("weights = softmax(masked)"))
        #expect(s.session.sentence == "the cat sat on the mat")
    }

    @Test("a bad model path is an error and keeps the previous model")
    func badModelPath() throws {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat\nlayer 3")
        let broken = s.directory + "/broken"
        try FileManager.default.createDirectory(atPath: broken, withIntermediateDirectories: true)
        try Data("{\"model_type\": \"bert\"}".utf8).write(to: URL(fileURLWithPath: broken + "/config.json"))
        #expect(s.failure("model minilm \(broken)") == "\(broken)/config.json is not a usable model configuration: it has no hidden_size")
        #expect(s.failure("model minilm /nonexistent/dir")?.hasPrefix("cannot read /nonexistent/dir") == true)
        #expect(s.session.modelSource?.name == "minilm")
        #expect(s.session.layer == 3)
        #expect(s.run("weights").hasPrefix("weights = "))
    }

    @Test("missing weights say exactly which command fetches them")
    func missingWeights() {
        let session = Session(environment: ["ATTN_MODELS": "/nonexistent/models"])
        #expect(throws: NotebookError.core(.weightsMissing(model: "all-MiniLM-L6-v2", directory: "/nonexistent/models/minilm",
                                                           fetchCommand: "attn fetch"))) {
            try session.execute("sentence hello")
        }
    }

    @Test("export writes .npy, .csv (%.9g) and id<TAB>token lines")
    func exports() throws {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat\nexport q q.npy\nexport q q.csv\nexport tokens tokens.tsv\nexport out out.npy")
        let npy = try NumPyFile.read(path: s.directory + "/q.npy")
        #expect(npy.shape == [8, 32])
        let csv = try String(contentsOfFile: s.directory + "/q.csv", encoding: .utf8)
        let csvRows = csv.split(separator: "\n")
        #expect(csvRows.count == 8)
        let csvValues = csvRows.flatMap { $0.split(separator: ",").map { Float(String($0))! } }
        #expect(csvValues == npy.values)  // %.9g round-trips a float32 exactly
        #expect(try String(contentsOfFile: s.directory + "/tokens.tsv", encoding: .utf8)
                == "101\t[CLS]\n1996\tthe\n4937\tcat\n2938\tsat\n2006\ton\n1996\tthe\n13523\tmat\n102\t[SEP]\n")
        #expect(try NumPyFile.read(path: s.directory + "/out.npy").shape == [8, 384])
        // No temporary files are left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: s.directory)
        #expect(names.sorted() == ["out.npy", "q.csv", "q.npy", "tokens.tsv"])
    }

    @Test("the same script prints the same bytes every run")
    func deterministic() {
        let script = "sentence \"Tokenizers split \\\"unbelievable\\\" words!\"\ntokens\nlayer 4\nhead 11\nscores\nweights\nz\nattn_out\nprecision 2\nout\nlayer 99\n"
        let first = ScriptedSession().run(script)
        let second = ScriptedSession().run(script)
        #expect(first == second)
        #expect(first.contains("error: layer 99"))
    }

    @Test("replay stops at the first failing line with FILE:LINE")
    func replay() {
        let session = Session()
        var output = ""
        do {
            try Runner.replay(session, file: "demo.attn",
                              lines: ["# a comment", "sentence the cat", "", "layer 7", "weights"]) { output += $0 }
            Issue.record("replay should have failed")
        } catch {
            #expect(error.description == "demo.attn:4: error: layer 7 does not exist: minilm has layers 0…5")
        }
        #expect(output.contains("minilm L0 H0> sentence the cat"))
        #expect(!output.contains("weights ="))
    }

    @Test("the prompt shows the model, layer and head")
    func prompt() {
        let s = ScriptedSession()
        s.run("sentence hi\nlayer 2\nhead 7")
        #expect(s.session.prompt == "minilm L2 H7> ")
    }

    @Test("wide matrices are summarised with … to fit the width")
    func summarised() {
        let s = ScriptedSession(width: 60)
        let output = s.run("sentence the cat sat on the mat\nembeddings")
        // The matrix starts at the column labels: 0 1 2 …
        let all = output.split(separator: "\n")
        let lines = all[(all.firstIndex { $0.split(separator: " ").first == "0" } ?? 0)...]
        #expect(lines.first?.contains("…") == true)
        #expect(lines.first?.hasSuffix("383") == true)
        for line in lines { #expect(MatrixRenderer.displayWidth(String(line)) <= 60) }
    }

    @Test("walk in a script prints every step of the layer and head, in order")
    func walk() {
        let s = ScriptedSession()
        let output = s.run("sentence the cat sat on the mat\nlayer 1\nhead 2\nwalk")
        let headers = output.split(separator: "\n").filter { $0.hasPrefix("── step ") }
        let names = ["x", "q", "k", "v", "scores", "scaled", "masked", "weights", "z", "concat", "attn_out",
                     "attn_norm", "ffn_hidden", "ffn_act", "ffn_out", "out"]
        #expect(headers == names.enumerated().map { "── step \($0.offset + 1) of 16: \($0.element) ──" })
        // The decoder walks its own layer: RMSNorm, q and k before RoPE, the gated feed-forward.
        let decoder = s.run("model smollm2\nsentence The capital of France is\nwalk")
        let steps = decoder.split(separator: "\n").filter { $0.hasPrefix("── step ") }.map { $0.split(separator: " ")[5] }
        #expect(steps == ["x", "rmsnorm", "q_prerope", "k_prerope", "q", "k", "v", "scores", "scaled", "masked", "weights", "z",
                          "concat", "attn_out", "attn_residual", "ffn_norm", "ffn_gate", "ffn_up", "ffn_act", "ffn_out", "out"], "\(steps)")
        // The encoder's notices speak of LayerNorm, never of the decoder's unnormalized stream.
        #expect(output.contains("notice: LayerNorm leaves each row centred"))
        #expect(!output.contains("not normalized"))
    }

    @Test("every help text fits an 80-column terminal: the overview, the math, each function, command and step")
    func helpFits() {
        let s = ScriptedSession()
        var topics = ["", "math"] + MathSyntax.functions + Commands.words
        topics += Bert.steps.map(\.rawValue)
        var texts = topics.compactMap { try? s.session.execute($0.isEmpty ? "help" : "help \($0)") }
        s.run("model smollm2")
        texts += (Llama.steps + GPT2.steps).compactMap { try? s.session.execute("help \($0.rawValue)") }
        #expect(texts.count > 80)
        for text in texts {
            for line in text.split(separator: "\n") where line.count > 80 {
                Issue.record("\(line.count) characters: \(line)")
            }
        }
    }

    @Test("show and the math read a slice alike: negative ends count from the end, ranges are clamped, 5:2 is empty")
    func slicesAgree() {
        let s = ScriptedSession()
        s.run("sentence the cat sat")  // 5 tokens
        for (slice, first, rows) in [("5:2", 0, 0), ("0:100", 0, 5), ("-2:", 3, 2), ("1:-1", 1, 3), ("-100:2", 0, 2)] {
            #expect(s.run("A = q[\(slice), 0:2]\nA.shape") .hasSuffix("(\(rows), 2)\n"), "\(slice)")
            let shown = s.run("show q[\(slice), 0:2]")
            if rows == 0 {
                #expect(shown.contains("showing no rows: the slice \(slice) of 5 rows is empty"), "\(shown)")
            } else {
                #expect(shown.contains("showing rows \(first)…\(first + rows - 1), columns 0…1"), "\(shown)")
                // The same numbers: the math's A and the shown rows.
                #expect(s.run("A") .split(separator: "\n").count == shown.split(separator: "\n").count - 4, "\(slice)")
            }
        }
        #expect(s.failure("show q[5]") == "index 5 is out of range: the rows are 0…4")
        #expect(s.failure("A = q[5]")?.contains("row 5 is out of range for [5 × 32]: the rows are 0…4") == true)
    }

    @Test("the command table: each word runs one command, each command is in one group, and help shows each usage and topic")
    func commandTable() {
        var owner: [String: String] = [:]
        for command in Commands.all {
            let definition = command.definition
            for word in definition.words {
                #expect(owner[word] == nil, "\(word) is claimed by \(owner[word] ?? "") and \(definition.name)")
                owner[word] = definition.name
                #expect(Step(rawValue: word) == nil, "\(word) is a step's name too")
            }
            let groups = Commands.groups.filter { group in group.commands.contains { $0.definition.name == definition.name } }
            #expect(groups.count == 1, "\(definition.name) is in \(groups.count) groups")
            #expect(definition.help.first?.topic == definition.name, "\(definition.name)'s first help topic")
            for (topic, text) in definition.help {
                #expect(text.hasPrefix(topic) || text.hasPrefix(definition.name) || text.hasPrefix("STEP \(topic)"), "help \(topic): \(text)")
            }
        }
        let overview = ScriptedSession().run("help")
        var moving: [String] = []
        for command in Commands.all {
            for usage in command.definition.synopsis { #expect(overview.contains(usage), "\(usage)") }
            if command.definition.movesThroughLessons { moving += command.definition.words }
        }
        // The lesson-moving commands are refused inside a lesson's block, the others are not.
        #expect(Set(moving) == ["lesson", "next", "back", "where", "hint", "skip", "quit", "exit"])
    }

    @Test("clear asks the terminal for a clear screen and changes nothing else; in a script it prints nothing")
    func clearScreen() {
        let s = ScriptedSession()
        s.run("sentence the cat sat\nlayer 2")
        #expect(!s.session.wantsClearScreen)
        #expect(s.run("clear") == "")
        #expect(s.session.wantsClearScreen)
        #expect(s.session.sentence == "the cat sat")
        #expect(s.session.layer == 2)
        #expect(s.failure("clear all") == "usage: clear")
        #expect(s.run("help clear").hasPrefix("clear (or Ctrl-L): clears the screen"))
    }

    @Test("help answers every command word, the two-word commands, and says so plainly when it has no help")
    func helpForEveryCommand() {
        let s = ScriptedSession()
        for word in Commands.words + ["lesson stop", "ablate clear", "heads all", "save transcript", "?"] {
            let text = s.run("help \(word)")
            #expect(!text.hasPrefix("error:") && !text.isEmpty, "help \(word): \(text)")
        }
        #expect(s.run("help next").hasPrefix("next (or Enter): in a lesson"))
        #expect(s.run("help lesson stop").hasPrefix("lesson stop: leaves the lesson"))
        #expect(s.run("help ablate clear").hasPrefix("ablate clear: restores"))
        #expect(s.run("help heads all").hasPrefix("heads all:"))
        #expect(s.run("help nexy") == "error: there is no help on 'nexy': did you mean help next?\n")
        #expect(s.run("help zzzzzzzz") == "error: there is no help on 'zzzzzzzz': help lists the commands, help math the math\n")
        #expect(s.session.completions(before: "help ", word: "mat") == .words(["math"]))
        // Argument errors say how the command is used, never that arguments are missing when they are not.
        #expect(s.run("importance ·positive") == "error: usage: importance (no arguments)\n")
        #expect(s.run("predict 0") == "error: predict 0 is out of range: predict [K] with 1 ≤ K ≤ 100\n")
    }

    @Test("an empty or blank sentence is what Hugging Face makes of it; only no tokens at all is an error")
    func emptySentences() {
        let s = ScriptedSession()
        #expect(s.run("sentence \"\"") == "sentence: 2 tokens: [CLS] [SEP]\n")  // [101, 102]
        #expect(s.session.currentTrace?.tokenIds == [101, 102])
        s.run("model smollm2")
        #expect(s.run("sentence \"   \"") == "sentence: 1 token: ···\n")
        #expect(s.session.currentTrace?.tokenIds == [333])  // tokenizer("   ").input_ids
        #expect(s.run("sentence \"\"") == "error: the sentence has no tokens: type sentence followed by some text\n")
        #expect(s.session.currentTrace?.tokenIds == [333])  // the previous sentence stays
    }

    @Test("Tab completion offers what fits at the cursor")
    func completion() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat")
        #expect(s.session.completions(before: "", word: "wei") == .words(["weights"]))
        #expect(s.session.completions(before: "export ", word: "att") == .words(["attn_out", "attn_norm"]))
        #expect(s.session.completions(before: "export weights ", word: "w") == .files)
        #expect(s.session.completions(before: "layer ", word: "") == .words(["0", "1", "2", "3", "4", "5"]))
        #expect(s.session.completions(before: "model ", word: "s") == .words(["smollm2"]))
        // The first word offers the selected model's steps only: MiniLM has no ffn_gate or logits.
        #expect(s.session.completions(before: "", word: "ffn_") == .words(["ffn_hidden", "ffn_act", "ffn_out"]))
        #expect(s.session.completions(before: "", word: "logi") == .words([]))
        guard case let .words(names) = s.session.completions(before: "A = softmax(", word: "W_") else {
            Issue.record("math names expected")
            return
        }
        #expect(names.contains("W_Q") && names.contains("W_O"))
    }
}
