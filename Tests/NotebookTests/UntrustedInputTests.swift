import AttnCore
import Foundation
@testable import Notebook
import Testing

// Untrusted input (issue 11): a session that nothing a learner, a script or a lesson types can
// crash, hang or misdirect. Every number has a range, lessons cannot run lessons, the learner's
// values have budgets, long work shows progress, and writes go only where they were meant to.

// MARK: - Helpers

/// A session over the real MiniLM in a fresh temporary directory, removed by `remove()`.
private struct Scratch {
    let path: String
    let session: Session

    init(_ label: String, width: Int = 80) {
        path = NSTemporaryDirectory() + "attn-untrusted-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var environment = ProcessInfo.processInfo.environment
        environment["ATTN_MODELS"] = ModelStore.root()  // the shared weights, whatever HOME is
        environment["HOME"] = path
        session = Session(renderer: MatrixRenderer(width: width), environment: environment, workingDirectory: path)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Lines run the way a pipe runs them: errors print `error: …` and the session goes on.
    @discardableResult
    func run(_ lines: String...) -> String {
        var source = ScriptLines(lines)
        var output = ""
        Runner.runAll(session, &source) { output += $0 }
        return output
    }

    /// The names in the directory, sorted.
    var names: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func contents(_ name: String) -> Data? { FileManager.default.contents(atPath: path + "/" + name) }

    func write(_ text: String, to name: String) {
        #expect(FileManager.default.createFile(atPath: path + "/" + name, contents: Data(text.utf8)))
    }
}

// MARK: - 1. Numbers

@Suite("Untrusted input: every number a learner types has a range")
struct UntrustedNumberTests {
    @Test("integer extremes in commands: one error line naming the range, never a trap", arguments: [
        ("layer +9223372036854775807", "layer 9223372036854775807 does not exist: minilm has layers 0…5"),
        ("layer -9223372036854775808", "layer -9223372036854775805 does not exist: minilm has layers 0…5"),
        ("head +9223372036854775807", "head 9223372036854775807 does not exist: minilm has heads 0…11"),
        ("head -9223372036854775807", "head -9223372036854775804 does not exist: minilm has heads 0…11"),
        ("layer 99999999999999999999", "layer 99999999999999999999 is out of range: layer N, or layer +1 / layer -1 to move"),
        ("predict 9223372036854775807", "predict 9223372036854775807 is out of range: predict [K] with 1 ≤ K ≤ 100"),
        ("predict 99999999999999999999", "predict 99999999999999999999 is out of range: predict [K] with 1 ≤ K ≤ 100"),
        ("generate -9223372036854775808", "generate -9223372036854775808 is out of range: generate N with 1 ≤ N ≤ 1000"),
        ("precision 10000", "precision 10000 is out of range: choose 0…8 digits"),
        ("precision -99999999999999999999", "precision -99999999999999999999 is out of range: precision N, 0 ≤ N ≤ 8 digits after the point"),
        ("neuron 9223372036854775807 -9223372036854775808", "token 9223372036854775807 does not exist: the sentence has tokens 0…7 (tokens lists them)"),
        ("ablate head -9223372036854775808 0", "layer -9223372036854775808 does not exist: minilm has layers 0…5"),
        ("show q[9223372036854775807]", "index 9223372036854775807 is out of range: the rows are 0…7"),
        ("show q[-9223372036854775808, 0]", "index -9223372036854775808 is out of range: the rows are 0…7"),
        ("Q[9223372036854775807]", "Q[9223372036854775807]: row 9.223372e+18 is out of range for [8 × 32]: the rows are 0…7"),
        ("arange(9223372036854775807)", "arange(9223372036854775807): the result would be [1 × 999999995904], 3814697.25 MB; a matrix holds at most 64 MB (16777216 numbers): make it smaller, or take a slice"),
        ("1e400", "syntax error at column 1 in '1e400': '1e400' is beyond the numbers the math holds (±3.4e38); write inf for infinity"),
        ("Q * -1e39", "syntax error at column 6 in 'Q * -1e39': '1e39' is beyond the numbers the math holds (±3.4e38); write inf for infinity"),
    ])
    func extremes(line: String, error: String) {
        let s = Scratch("numbers")
        defer { s.remove() }
        #expect(s.run("sentence the cat sat on the mat", "layer 3", "head 3") == "sentence: 8 tokens: [CLS] the cat sat on the mat [SEP]\n")
        #expect(s.run(line) == "error: \(error)\n")
        #expect(s.session.prompt == "minilm L3 H3> ")
    }

    @Test("huge slices are clamped as NumPy clamps them, and huge sizes are refused before anything is allocated")
    func slicesAndSizes() {
        let s = Scratch("slices")
        defer { s.remove() }
        s.run("sentence the cat sat on the mat")
        #expect(s.run("A = Q[-9223372036854775808:9223372036854775807]") == "A = [8 × 32]\n")
        #expect(s.run("B = Q[9223372036854775807:]").hasPrefix("B = [0 × 32]"))
        #expect(s.run("ones(T, 10**10)").hasPrefix("error: ones(T, 10**10): the result would be [8 × 10000000000]"))
        #expect(s.run("eye(2 ** 62)").hasPrefix("error: eye(2 ** 62): "))
        #expect(s.run("Q @ ones(32, 2 ** 40)").hasPrefix("error: "))
        #expect(s.run("1e-400") == "0\n")  // below the smallest Float is 0, as in NumPy
        #expect(s.run("check softmax(Q @ K.T / sqrt(dk)) weights").hasPrefix("✓"))
    }
}

// MARK: - 2. Lessons that run lessons

@Suite("Untrusted input: a lesson's block cannot move through lessons")
struct UntrustedLessonTests {
    static let controls = ["lesson 1", "lesson 2", "lesson stop", "next", "back", "skip", "hint", "where", "quit", "exit"]

    @Test("a block line that moves through lessons is an error of the file at its line: lessons, lesson N and a replay say so",
          arguments: controls)
    func refusedWhenLoaded(control: String) throws {
        let s = Scratch("lesson-loop")
        defer { s.remove() }
        s.write("# 1. Fine\n\n```attn\nsentence the cat\n```\n", to: "01-fine.md")
        s.write("# 2. Loop\n\nProse.\n\n```attn\nsentence the cat\n  \(control)  \ntokens\n```\n", to: "02-loop.md")
        s.session.lessonsDirectory = s.path
        let file = s.path + "/02-loop.md"
        let problem = "\(file):7: a lesson's block cannot run '\(control)': only the learner moves through lessons; take the line out of the ```attn block"

        let listing = s.run("lessons")
        #expect(listing.contains("  1  Fine  not started\n"))
        #expect(listing.contains("not a lesson: \(problem)\n"), "\(listing)")
        #expect(s.run("lesson 2") == "error: \(problem)\n")
        #expect(s.run("lesson loop") == "error: \(problem)\n")
        #expect(s.session.sentence == nil)  // nothing of the lesson ran
        #expect(throws: Runner.Failure.self) { try Lesson(path: file) }
        do {
            _ = try Lesson(path: file)
        } catch let failure as Runner.Failure {
            // What `attn replay` prints: FILE:LINE: error: …
            #expect("\(failure)" == "\(file):7: error: a lesson's block cannot run '\(control)': only the learner moves through lessons; take the line out of the ```attn block")
        }
        // The good lesson still runs, to its end.
        #expect(s.run("lesson 1").contains("▶ step 1 of 1"))
        #expect(s.run("").hasSuffix("✓ lesson 1 done. That was the last lesson.\n"))
    }

    @Test("at run time too: a block's line that moves through lessons is refused, and blocks cannot nest")
    func refusedWhenRun() throws {
        let s = Scratch("lesson-run")
        defer { s.remove() }
        s.run("sentence the cat sat")
        for control in Self.controls {
            let block = Lesson.Block(prose: "", commands: [("tokens", 3), (control, 4)], exercise: nil, hints: [],
                                     defaultSentence: nil, line: 2)
            #expect(throws: NotebookError.lesson("a lesson's block cannot move through lessons (lesson, next, back, skip, hint, where, quit): only the learner does")) {
                _ = try s.session.runBlock(block)
            }
            #expect(!s.session.wantsToQuit)
        }
        #expect(s.session.lessonBlockDepth == 0)
        // Nesting is bounded whatever a block runs.
        let nested: () throws -> Void = {
            try s.session.runningLessonBlock { try s.session.runningLessonBlock { try s.session.runningLessonBlock { } } }
        }
        #expect(throws: NotebookError.lesson("lesson blocks nested 3 deep: a block cannot run another lesson's blocks"), performing: nested)
        #expect(s.session.lessonBlockDepth == 0)
        #expect(s.run("tokens").hasPrefix("tokens   5 tokens"))
    }
}

// MARK: - 3. Budgets for the learner's values

@Suite("Untrusted input: the learner's values have budgets")
struct UntrustedBudgetTests {
    @Test("one matrix: at most 64 MB, refused before it is made, with the size it would have")
    func oneValue() {
        let s = Scratch("budget-one")
        defer { s.remove() }
        s.run("sentence the cat sat on the mat")
        #expect(s.run("A = ones(4096, 4097)") == "error: ones(4096, 4097): the result would be [4096 × 4097], 64.02 MB; a matrix holds at most 64 MB (16777216 numbers): make it smaller, or take a slice\n")
        #expect(s.run("zeros(100000, 100000)").hasPrefix("error: zeros(100000, 100000): the result would be [100000 × 100000], 38146.98 MB; "))
        #expect(s.run("ones(9223372036854775807, 9223372036854775807)").hasPrefix("error: ones(9223372036854775807, 9223372036854775807): the result would be [1000000000000 × 1000000000000]"))
        #expect(s.run("A = ones(4096, 4096)") == "A = [4096 × 4096]\n")
    }

    @Test("one line: its matrices together at most 1024 MB, whatever waits while the rest is computed")
    func oneLine() {
        let s = Scratch("budget-line")
        defer { s.remove() }
        #expect(s.run("A = ones(4096, 4096)") == "A = [4096 × 4096]\n")
        // Each ones(…) makes a new 64 MB matrix: sixteen fit in one line, seventeen do not.
        let sixteen = Array(repeating: "ones(4096, 4096)[0, 0]", count: 16).joined(separator: " + ")
        #expect(s.run("B = " + sixteen) == "B = 16\n")
        #expect(s.run("B = \(sixteen) + ones(4096, 4096)[1, 1]") == "error: ones(4096, 4096): this line's matrices would hold 1088 MB together; one line makes at most 1024 MB: name a part first (A = …) and use A\n")
        #expect(s.run("B") == "16\n")
        // 100,000 parentheses, brackets or signs: one error line, no overflowed stack.
        let deep = String(repeating: "(", count: 100_000) + "A" + String(repeating: ")", count: 100_000)
        #expect(s.run(deep).contains("more than 100 levels of nesting"))
        #expect(s.run(String(repeating: "[", count: 100_000)).contains("more than 100 levels of nesting"))
        #expect(s.run("B = " + String(repeating: "-", count: 100_000) + "A").contains("more than 1000 symbols in one line"))
        #expect(s.run("check " + String(repeating: "(", count: 100_000) + " weights").hasPrefix("error: "))
        #expect(s.run("A[0, 0]") == "1\n")
    }

    @Test("all the learner's names: at most 1024 MB together; del frees them, and the session goes on")
    func allNames() {
        let s = Scratch("budget-names")
        defer { s.remove() }
        s.run("sentence the cat sat on the mat")
        #expect(s.run("A1 = ones(4096, 4096)") == "A1 = [4096 × 4096]\n")
        // A name shares the storage of what it was bound to, but counts whole.
        for n in 2...16 { #expect(s.run("A\(n) = A1") == "A\(n) = [4096 × 4096]\n") }
        let full = "error: A17 would hold 64 MB, and your names then 1088 MB, more than the 1024 MB they may hold together: del a name you no longer need, or reuse one (names lists them)\n"
        #expect(s.run("A17 = A1") == full)
        #expect(s.run("A17 = 2").hasPrefix("error: A17 would hold 1 KB, and your names then 1024.01 MB, more than the 1024 MB"))
        #expect(s.run("A16 = A1[0]") == "A16 = [1 × 4096]\n")  // reusing a name gives its room back
        #expect(s.run("names").contains("yours (960.02 MB of 1024 MB; del NAME forgets one):"))
        #expect(s.run("del A1 A2") == "deleted A1, A2 (128 MB); your names hold 832.02 MB of 1024 MB\n")
        #expect(s.run("del A1") == "error: you have no name 'A1': did you mean A10?\n")
        #expect(s.run("del Q") == "error: Q is the model's own name: del forgets only the names you bound (names lists them)\n")
        #expect(s.run("del") == "error: usage: del NAME …, e.g. del A B (names lists yours)\n")
        #expect(s.run("A1").hasPrefix("error: unknown name 'A1'"))
        #expect(s.run("A20 = ones(4096, 4096)") == "A20 = [4096 × 4096]\n")
        #expect(s.session.learnerCells <= Session.maximumLearnerCells)
    }
}

// MARK: - 4. Progress for long work

@Suite("Untrusted input: long work shows progress, outside the output and the transcript")
struct UntrustedProgressTests {
    static let sentence = "sentence the cat sat on the mat"  // 6 word pieces between [CLS] and [SEP]

    @Test("the progress line's estimate of the time left: from the pace so far, after a second, in s or min")
    func progressEstimate() {
        #expect(ProgressLine.estimate(elapsed: .seconds(10), done: 5, total: 15) == "about 20 s left")
        #expect(ProgressLine.estimate(elapsed: .milliseconds(500), done: 5, total: 15) == nil)
        #expect(ProgressLine.estimate(elapsed: .seconds(100), done: 1, total: 10) == "about 15 min left")
        #expect(ProgressLine.estimate(elapsed: .seconds(3), done: 0, total: 10) == nil)
        #expect(ProgressLine.estimate(elapsed: .seconds(3), done: 10, total: 10) == nil)
        #expect(ProgressLine.estimate(elapsed: .seconds(2), done: 1000, total: 1001) == "about 1 s left")
    }

    @Test("in a script: progress goes to the progress hook, never to the output or the transcript")
    func script() throws {
        let s = Scratch("progress-script")
        defer { s.remove() }
        var reports: [String] = []
        s.session.progress = { reports.append($0) }
        s.session.progressInterval = .zero  // every step, for the test
        s.run(Self.sentence)
        let output = s.run("importance")
        #expect(reports == (0..<6).map { "importance: \($0) of 6 tokens…" })
        #expect(output.hasPrefix("importance = 1 − cos("))
        #expect(!output.contains("of 6 tokens…"))
        #expect(s.run("save transcript t.md") == "wrote 2 commands with their output to t.md\n")
        let transcript = try #require(s.contents("t.md").flatMap { String(data: $0, encoding: .utf8) })
        #expect(transcript.contains("importance = 1 − cos(") && !transcript.contains("tokens…"))

        // The default interval keeps a quick command silent.
        reports = []
        s.session.progressInterval = .seconds(3)
        s.run("importance")
        #expect(reports.isEmpty)
    }

    @Test("on a terminal: one line on the stream, rewritten in place and blanked at the end; Ctrl-C stops with a line saying so")
    func terminal() throws {
        let s = Scratch("progress-terminal")
        defer { s.remove() }
        var streamed = ""
        var reports: [String] = []
        s.session.interactive = true
        s.session.stream = { streamed += $0 }
        s.session.progress = { reports.append($0) }
        s.session.progressInterval = .zero
        _ = try s.session.execute(Self.sentence)
        let output = try s.session.execute("importance")
        let expected = (0..<6).map { "\rimportance: \($0) of 6 tokens…" }.joined() + "\r" + String(repeating: " ", count: 26) + "\r"
        #expect(streamed == expected)
        #expect(reports.isEmpty)  // a terminal has its line; the hook is for scripts
        #expect(!output.contains("tokens…") && output.hasPrefix("importance = "))

        // Ctrl-C after two tokens: what was computed, and a line that says it stopped.
        var asked = 0
        s.session.isInterrupted = { asked += 1; return asked > 2 }
        streamed = ""
        let stopped = try s.session.execute("importance")
        #expect(stopped.contains("importance stopped (Ctrl-C) after 2 of 6 tokens: the bars above are theirs\n"))
        let bars = stopped.split(separator: "\n").filter { $0.first?.isNumber == true }
        #expect(bars.map { $0.split(separator: " ")[1] } == ["the", "cat"])
        #expect(streamed.hasSuffix("\r" + String(repeating: " ", count: 26) + "\r"))
        s.session.isInterrupted = { false }

        s.session.stream = nil
        #expect(try s.session.execute("save transcript t.md") == "wrote 3 commands with their output to t.md\n")
        let transcript = try #require(s.contents("t.md").flatMap { String(data: $0, encoding: .utf8) })
        #expect(!transcript.contains("tokens…") && transcript.contains("importance stopped (Ctrl-C)"))
    }
}

// MARK: - 5. Writes named by scripts and lessons

@Suite("Untrusted input: writes go only where they were meant to")
struct UntrustedWriteTests {
    @Test("every write needs a suffix its command writes; an unknown one writes nothing", arguments: [
        ("export tokens notes.conf", "export tokens writes .tsv or .txt files: end the file name with one of them (not notes.conf)"),
        ("export tokens notes", "export tokens writes .tsv or .txt files: end the file name with one of them (not notes)"),
        ("export tokens .tsv", "export tokens writes .tsv or .txt files: end the file name with one of them (not .tsv)"),
        ("export weights notes.conf", "cannot tell the format of notes.conf: end the file name with .npy or .csv (or .tsv/.txt for tokens)"),
        ("export rollout notes.conf!", "cannot tell the format of notes.conf: end the file name with .npy or .csv (or .tsv/.txt for tokens)"),
        ("plot weights notes.conf", "plot writes .svg files: end the file name with .svg (not notes.conf)"),
        ("save transcript notes.conf", "save transcript writes .md files: end the file name with .md (not notes.conf)"),
        ("save notebook notes.conf", "save notebook writes .html files: end the file name with .html (not notes.conf)"),
        // A control character in the name is quoted escaped, never sent to the terminal.
        ("plot weights x\u{1b}[2J.conf", "plot writes .svg files: end the file name with .svg (not x\\u{1b}[2J.conf)"),
        ("export weights x\u{202e}.conf", "cannot tell the format of x\\u{202e}.conf: end the file name with .npy or .csv (or .tsv/.txt for tokens)"),
    ])
    func suffixes(line: String, error: String) {
        let s = Scratch("suffix")
        defer { s.remove() }
        s.write("keep = me\n", to: "notes.conf")
        s.run("sentence the cat sat on the mat")
        #expect(s.run(line) == "error: \(error)\n")
        #expect(s.names == ["notes.conf"])
        #expect(s.contents("notes.conf") == Data("keep = me\n".utf8))
    }

    @Test("a file this session did not write is replaced only with !, and the success line says so", arguments: [
        ("export weights", "w.npy", "wrote weights (layer 0, head 0) [8 × 8] to w.npy"),
        ("export tokens", "t.tsv", "wrote 8 tokens to t.tsv"),
        ("plot weights", "p.svg", "wrote weights (layer 0, head 0) [8 × 8] as an SVG heatmap to p.svg"),
        ("save transcript", "t.md", "wrote 1 command with their output to t.md"),
        ("save notebook", "n.html", "wrote 1 command with their output as a page to n.html"),
    ])
    func replacing(command: String, name: String, wrote: String) throws {
        let s = Scratch("replace")
        defer { s.remove() }
        s.write("the learner's own\n", to: name)
        s.run("sentence the cat sat on the mat")
        #expect(s.run("\(command) \(name)") == "error: \(name) exists, and this session did not write it: to replace it, end the name with ! (\(command) \(name)!), or choose another name\n")
        #expect(s.contents(name) == Data("the learner's own\n".utf8))
        let replaced = s.run("\(command) \(name)!")
        #expect(replaced.hasPrefix(wrote.replacingOccurrences(of: "1 command", with: "2 commands")) && replaced.hasSuffix("\(name), replacing the existing file\n"), "\(replaced)")
        #expect(s.contents(name) != Data("the learner's own\n".utf8))
        // Now the session's own file: written again without asking.
        let again = s.run("\(command) \(name)")
        #expect(again.hasSuffix(" to \(name)\n") && !again.contains("replacing"), "\(again)")
        #expect(s.names == [name])
    }

    @Test("a link at the name is replaced, never written through; devices and pipes are written in place")
    func linksAndDevices() throws {
        let s = Scratch("links")
        defer { s.remove() }
        s.write("precious\n", to: "victim.txt")
        try FileManager.default.createSymbolicLink(atPath: s.path + "/w.csv", withDestinationPath: s.path + "/victim.txt")
        try FileManager.default.createSymbolicLink(atPath: s.path + "/dangling.csv", withDestinationPath: s.path + "/nowhere.csv")
        s.run("sentence the cat sat on the mat")
        #expect(s.run("export weights w.csv").hasPrefix("error: w.csv exists, and this session did not write it"))
        #expect(s.run("export weights dangling.csv").hasPrefix("error: dangling.csv exists, and this session did not write it"))
        #expect(s.run("export weights w.csv!") == "wrote weights (layer 0, head 0) [8 × 8] to w.csv, replacing the existing file\n")
        #expect(s.contents("victim.txt") == Data("precious\n".utf8))
        #expect(s.names == ["dangling.csv", "victim.txt", "w.csv"])
        #expect(s.run("export weights /dev/null") == "wrote weights (layer 0, head 0) [8 × 8] to /dev/null\n")
        #expect(s.run("export tokens /dev/null") == "wrote 8 tokens to /dev/null\n")
    }

    @Test("a lesson's block cannot replace a file, even with !; what it may write it writes")
    func lessons() throws {
        let s = Scratch("lesson-write")
        defer { s.remove() }
        s.write("the learner's own\n", to: "w.npy")
        s.write("# 1. Writes\n\n```attn\nsentence the cat\nexport weights mine.npy\nexport weights w.npy!\n```\n", to: "01-writes.md")
        let lesson = try Lesson(path: s.path + "/01-writes.md")
        var output = ""
        do {
            try Runner.replay(s.session, lesson: lesson) { output += $0 }
            Issue.record("the replay should stop at line 6")
        } catch {
            #expect("\(error)" == "\(s.path)/01-writes.md:6: error: a lesson cannot replace w.npy, which exists: the lesson should write another name")
        }
        #expect(output.contains("wrote weights (layer 0, head 0) [4 × 4] to mine.npy\n"))
        #expect(s.contents("w.npy") == Data("the learner's own\n".utf8))
        // The learner may.
        #expect(s.run("export weights w.npy!").hasSuffix("to w.npy, replacing the existing file\n"))
    }

    @Test("file names in success lines, and lesson titles, prose, hints and commands, cannot drive the terminal")
    func escapes() throws {
        let s = Scratch("escapes")
        defer { s.remove() }
        s.run("sentence the cat sat on the mat")
        let name = "\u{1B}]0;owned\u{7}t.tsv"
        #expect(s.run("export tokens \(name)") == "wrote 8 tokens to \\u{1b}]0;owned\\u{7}t.tsv\n")
        #expect(s.names == [name])

        let lessons = s.path + "/lessons"
        try FileManager.default.createDirectory(atPath: lessons, withIntermediateDirectories: true)
        let hostile = "# 1. Title\u{1B}[2J\n\nProse \u{1B}[31mred\u{1B}[0m and a bell\u{7}.\n\n```attn\nA = 1 # \u{1B}[2K\n```\n\n```attn\n# hint: look\u{1B}[1A up\n# exercise: weights\ncheck weights weights\n```\n\nThe end\u{9B}2J.\n"
        #expect(FileManager.default.createFile(atPath: lessons + "/01-hostile.md", contents: Data(hostile.utf8)))
        s.session.lessonsDirectory = lessons
        let lesson = try Lesson(path: lessons + "/01-hostile.md")
        #expect(lesson.title == "Title\\u{1b}[2J")
        var replay = ""
        try Runner.replay(s.session, lesson: lesson) { replay += $0 }
        let shown = s.run("lessons") + s.run("lesson 1") + s.run("") + s.run("hint") + s.run("hint") + s.run("where") + s.run("skip")
        for text in [replay, shown] {
            #expect(!text.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{7}" || $0 == "\u{9B}" }, "\(text.debugDescription)")
        }
        #expect(shown.contains("Prose \\u{1b}[31mred\\u{1b}[0m and a bell\\u{7}."))
        #expect(shown.contains("hint 1 of 2: look\\u{1b}[1A up"))
        #expect(replay.contains("A = 1 # \\u{1b}[2K\n") && shown.contains("A = 1 # \\u{1b}[2K\n"))
        #expect(shown.contains("The end\\u{9b}2J."))
    }

    @Test("a learner's text quoted back (target like here; patch and classify quote the same way) cannot drive the terminal: ESC and a bidi override come out escaped")
    func quotedText() {
        let s = Scratch("quoted")
        defer { s.remove() }
        let output = s.run("sentence the cat sat on the mat", "target like \"a \u{1B}[2Jsad\u{202E} story\"")
        #expect(!output.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" }, "\(output.debugDescription)")
        #expect(output.contains("target: cos(e(x), e(\"a \\u{1b}[2Jsad\\u{202e} story\")) = "), "\(output)")
        #expect(quoted("one\r\ntwo\u{1B}\u{9B}\u{2066}\t\"é\"") == "\"one\\r\\ntwo\\u{1b}\\u{9b}\\u{2066}\\t\\\"é\\\"\"")
    }
}
