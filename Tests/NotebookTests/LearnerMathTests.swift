import AttnCore
import Foundation
import Notebook
import Testing

@Suite("The learner's own math against the real model")
struct LearnerMathTests {
    @Test("every step of one head can be reproduced by hand and confirmed by check")
    func reproduceOneHead() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat\nlayer 2\nhead 7")
        let steps = [
            ("X @ W_Q + b_Q", "q"), ("X @ W_K + b_K", "k"), ("X @ W_V + b_V", "v"),
            ("Q @ K.T", "scores"), ("scores / sqrt(dk)", "scaled"), ("scaled + M", "masked"),
            ("softmax(masked)", "weights"), ("weights @ V", "z"), ("X", "x"),
        ]
        for (expression, step) in steps {
            let output = s.run("check \(expression) \(step)")
            #expect(output.hasPrefix("✓ matches \(step)"), "\(expression) vs \(step): \(output)")
        }
        // The heads joined and projected: attn_out from every head's Z.
        s.run("layer 0")
        var heads: [String] = []
        for h in 0..<12 {
            s.run("head \(h)\nZ\(h) = Z")
            heads.append("Z\(h)")
        }
        #expect(s.run("check concat(\(heads.joined(separator: ", "))) concat").hasPrefix("✓"))
        #expect(s.run("check concat @ W_O + b_O attn_out").hasPrefix("✓"))
    }

    @Test("the issue's example: with √dk it passes, without it fails and says where")
    func checkExample() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat\nlayer 2\nhead 7")
        #expect(s.run("A = softmax(Q @ K.T / sqrt(dk))") == "A = [8 × 8]\n")
        #expect(s.run("check A weights").hasPrefix("✓ matches weights [8 × 8]: max|Δ| = "))
        let wrong = s.run("check softmax(Q @ K.T) weights")
        #expect(wrong.hasPrefix("✗ max|Δ| = "))
        #expect(wrong.contains(" at ["))
        let shape = s.run("check Q weights")
        #expect(shape.hasPrefix("✗ shapes differ: yours [8 × 32], weights is [8 × 8]"))
    }

    @Test("check against a slice of a step: one row, one cell, a block; a miss names the cell as the whole step does")
    func checkSlices() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat\nlayer 1\nhead 8")
        #expect(s.run("check weights[1] @ V z[1]").hasPrefix("✓ matches z[1] [1 × 32]"))
        #expect(s.run("check softmax(scaled[2]) weights[2]").hasPrefix("✓ matches weights[2] [1 × 8]"))
        #expect(s.run("check Q[3, 4] q[3, 4]").hasPrefix("✓ matches q[3, 4] [1 × 1]"))
        #expect(s.run("check (Q @ K.T)[1:3, 0:3] scores[1:3, 0:3]").hasPrefix("✓ matches scores[1:3, 0:3] [2 × 3]"))
        // Row 3 against row 2: the largest difference is reported in row 2, "cat", of q.
        #expect(s.run("check Q[3] q[2]").hasPrefix("✗ max|Δ| = 3.9 at [2 cat, 12]"))
        #expect(s.run("check Q z[1]").hasPrefix("✗ shapes differ: yours [8 × 32], z[1] is [1 × 32]"))
        #expect(s.failure("check Q z[99]") == "z[99]: row 99 is out of range for [8 × 32]: the rows are 0…7")
        #expect(s.failure("check Q zz[1]")?.hasPrefix("unknown step 'zz': did you mean 'z'") == true)
    }

    @Test("errors point at the problem")
    func errors() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat")
        #expect(s.failure("Q @ K") == "Q @ K: [8 × 32] @ [8 × 32]: inner sizes 32 and 8 differ — did you mean K.T?")
        #expect(s.failure("Qs") == "unknown name 'Qs': did you mean 'Q'?")
        #expect(s.failure("Q = 3") == "Q is the model's own name: choose another, e.g. my_Q")
        #expect(s.failure("check Q") == "usage: check EXPR STEP, e.g. check softmax(Q @ K.T / sqrt(dk)) weights")
        #expect(s.failure("check Q wieghts")?.hasPrefix("unknown step 'wieghts': did you mean 'weights'") == true)
        // The session goes on.
        #expect(s.run("check Q q").hasPrefix("✓"))
    }

    @Test("a slice keeps the labels of what it was cut from: tokens stay tokens, column numbers stay the whole's")
    func sliceLabels() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat")
        let rows = s.run("Q[2:4, 16:18]").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.count == 4)
        #expect(rows[0] == ["Q[2:4,", "16:18]", "[2", "×", "2]"])
        #expect(rows[1] == ["16", "17"])
        #expect(rows[2].first == "cat" && rows[3].first == "sat")
        // A product's rows are tokens too, and so are the columns of a token-by-token matrix.
        let scores = s.run("(Q @ K.T)[-1]").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(scores[1] == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"])
        #expect(scores[2].first == "[SEP]")
        // Something that is not token by token keeps plain numbers, from the first kept one.
        let weight = s.run("W_Q[3:5, 30:32]").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(weight[1] == ["30", "31"])
        #expect(weight[2].first == "3" && weight[3].first == "4")
        // A name keeps the labels it was made with, even after another sentence.
        s.run("A = Q[2:4, 16:18]\nB = weights\nC = Q[2:4, 16:20]")
        s.run("sentence a dog")
        #expect(s.run("A").split(separator: "\n").map { $0.split(separator: " ").first.map(String.init) ?? "" }
                == ["A", "16", "cat", "sat"])
        let b = s.run("B").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(b[1] == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"])
        // So does arithmetic on it, cell by cell: C has 4 columns as "a dog" has 4 tokens, and
        // they stay 16…19.
        let c = s.run("-(C + 1)").split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(c[1] == ["16", "17", "18", "19"])
        #expect(c[2].first == "cat" && c[3].first == "sat")
    }

    @Test("math that names nothing of the model needs no sentence; naming the model's does")
    func mathWithoutSentence() {
        let s = ScriptedSession()
        #expect(s.run("2 ** 10") == "1024\n")
        #expect(s.run("a = arange(3)") == "a = [1 × 3]\n")
        #expect(s.run("sum(a)") == "3\n")
        #expect(s.failure("Q")?.hasPrefix("no sentence yet") == true)
    }

    @Test("RoPE's COS and SIN rebuilt from arange, cos and sin")
    func ropeByHand() {
        let s = ScriptedSession()
        s.run("model smollm2\nsentence The capital of France is Paris")
        s.run("theta = 100000 ** (-arange(0, 64, 2) / 64)\nangles = arange(T).T @ theta")
        let cosines = s.run("max(abs(concat(cos(angles), cos(angles)) - COS))")
        let sines = s.run("max(abs(concat(sin(angles), sin(angles)) - SIN))")
        #expect(cosines == "0.0000\n" || cosines == "0\n", "\(cosines)")
        #expect(sines == "0.0000\n" || sines == "0\n", "\(sines)")
    }

    @Test("names follow the selected layer and head; the learner's names stay")
    func namesFollowSelection() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat\nlayer 1\nhead 2\nmine = Q")
        s.run("head 3")
        #expect(s.run("check mine q").hasPrefix("✗"))
        s.run("head 2")
        #expect(s.run("check mine q").hasPrefix("✓"))
        #expect(s.run("dk") == "32\n")
        #expect(s.run("T") == "8\n")
    }
}

@Suite("A failed check says why, when the slip is a common one")
struct CheckDiagnosisTests {
    @Test("the transpose, a factor applied twice, a missing bias, softmax by columns", arguments: [
        ("check K @ Q.T scores", "Yours is the model's transposed"),
        ("check scaled / sqrt(dk) scaled", "Yours is the model's ÷ 5.657 in every cell"),
        ("check Q @ K.T scaled", "Yours is the model's × 5.657 in every cell"),
        ("check X @ W_Q q", "Yours − the model's is the same row in every row: a bias left out"),
        ("check X @ W_Q + b_Q + b_Q q", "Yours − the model's is the same row in every row"),
        ("check softmax(scaled, axis=0) weights", "The columns of yours sum to 1, the model's rows do"),
    ])
    func diagnosis(line: String, expected: String) {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat\nlayer 2\nhead 7")
        let output = s.run(line).replacingOccurrences(of: "\n", with: " ")
        #expect(output.hasPrefix("✗") && output.contains(expected), "\(line): \(output)")
    }

    @Test("an unrelated wrong answer gets no made-up reason")
    func noDiagnosis() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat\nlayer 2\nhead 7")
        let output = s.run("check softmax(Q @ K.T) weights")
        #expect(output.hasPrefix("✗") && !output.contains("Yours") && !output.contains("columns of yours"), "\(output)")
    }
}

@Suite("Following a lesson in the shell")
struct LessonFollowingTests {
    /// A lesson written by the test, with a plain block and an exercise.
    func lessonDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "attn-lessons-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let text = """
            # 1. Scores

            Every query meets every key.

            ```attn
            # default-sentence: the cat sat on the mat
            layer 2
            head 7
            ```

            Now the weights, by your own hand.

            ```attn
            # exercise: weights
            # hint: softmax by rows of the scaled scores
            check softmax(Q @ K.T / sqrt(dk)) weights
            ```

            Well done.
            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/01-scores.md"))
        return directory
    }

    @Test("Enter runs a block, an exercise waits for a passing check, progress is remembered")
    func follow() throws {
        let directory = try lessonDirectory()
        let progress = directory + "/progress.json"
        let s = ScriptedSession()
        s.session.lessonsDirectory = directory
        s.session.progressPath = progress
        #expect(s.run("lessons").contains("Scores  not started"))
        let start = s.run("lesson 1")
        #expect(start.contains("Every query meets every key."))
        #expect(start.contains("▶ step 1 of 2, Enter or next runs:\n    layer 2\n    head 7\n"))
        let next = try s.session.execute("")  // Enter
        #expect(next.contains("minilm L0 H0> sentence the cat sat on the mat"))
        #expect(next.contains("✎ exercise (step 2 of 2)"))
        #expect(s.run("where") == "lesson 1 (Scores), step 2 of 2\n")
        #expect(s.run("next").hasPrefix("this is an exercise"))
        #expect(s.run("hint") == "hint 1 of 2: softmax by rows of the scaled scores\n")
        // Other commands in between, then a wrong and a right answer.
        #expect(s.run("check softmax(Q @ K.T) weights").hasPrefix("✗"))
        #expect(s.run("where") == "lesson 1 (Scores), step 2 of 2\n")
        // The model's own answer under its name is a match, but not the exercise.
        let shortcut = s.run("check weights + 0 weights")
        #expect(shortcut.hasPrefix("✓ matches weights"))
        #expect(shortcut.contains("That reads weights, the model's own answer"))
        #expect(!shortcut.contains("exercise done."))
        #expect(s.run("where") == "lesson 1 (Scores), step 2 of 2\n")
        let done = s.run("check softmax(Q @ K.T / sqrt(dk)) weights")
        #expect(done.contains("exercise done."))
        #expect(done.contains("✓ lesson 1 done."))
        #expect(s.run("lessons").contains("✓ done"))
        #expect(try String(contentsOfFile: progress, encoding: .utf8).contains("\"01-scores\" : 2"))
    }

    static let repositoryLessons = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path + "/Lessons"

    @Test("a lesson sets up its model, layer, head, precision, temperature and ablation when it starts")
    func setUpOnStart() throws {
        let s = ScriptedSession()
        s.session.lessonsDirectory = Self.repositoryLessons
        s.run("model smollm2\nsentence The capital of France is\nlayer 3\nhead 5\nprecision 2\ntemperature 0.5\nablate head 1 2")
        let start = s.run("lesson 4").replacingOccurrences(of: "\n  ", with: " ")  // unwrapped
        #expect(start.hasPrefix("set up for lesson 4: model minilm; layer 0, head 0; precision 4; temperature 1; no ablated heads\n"), "\(start)")
        #expect(s.session.modelSource?.name == "minilm" && s.session.layer == 0 && s.session.head == 0)
        #expect(s.session.temperature == 1 && s.session.ablated.isEmpty && s.session.renderer.precision == 4)
        // The first block then shows MiniLM's 8 × 8 scores, as the prose says.
        #expect(try s.session.execute("").contains("scores = q · kᵀ   [8 × 8]"))
        // A lesson that opens on SmolLM2 keeps it, and a fresh session prints no set-up at all.
        let decoder = ScriptedSession()
        decoder.session.lessonsDirectory = Self.repositoryLessons
        #expect(!decoder.run("lesson 11").contains("set up"))
        decoder.run("model smollm2")
        #expect(!decoder.run("lesson 11").contains("set up for lesson 11: model"))
    }

    @Test("a lesson resumed in the middle first replays what its earlier blocks selected and bound")
    func setUpOnResume() throws {
        let directory = NSTemporaryDirectory() + "attn-progress-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lesson = try Lesson(path: Self.repositoryLessons + "/06-softmax.md")
        let exercise = try #require(lesson.blocks.firstIndex { $0.exercise == "weights" })
        try Data("{\"06-softmax\": \(exercise)}".utf8).write(to: URL(fileURLWithPath: directory + "/progress.json"))
        let s = ScriptedSession()
        s.session.lessonsDirectory = Self.repositoryLessons
        s.session.progressPath = directory + "/progress.json"
        s.run("model smollm2\nsentence hello there")
        let resume = s.run("lesson 6").replacingOccurrences(of: "\n  ", with: " ")  // unwrapped
        #expect(resume.contains("(resuming at step \(exercise + 1) of \(lesson.blocks.count)"))
        #expect(resume.contains("set up for lesson 6: model minilm; sentence the cat sat on the mat; layer 1, head 8"), "\(resume)")
        #expect(s.session.modelSource?.name == "minilm" && s.session.layer == 1 && s.session.head == 8)
        // The exercise's solution binds E, a name of its own on MiniLM (on SmolLM2 it is the embedding table).
        let skip = s.run("skip")
        #expect(skip.contains("✓ matches weights"), "\(skip)")
    }

    @Test("replaying a lesson prints prose and output, the same bytes every time")
    func replay() throws {
        let directory = try lessonDirectory()
        let lesson = try Lesson(path: directory + "/01-scores.md")
        var first = "", second = ""
        try Runner.replay(Session(), lesson: lesson) { first += $0 }
        try Runner.replay(Session(), lesson: lesson) { second += $0 }
        #expect(first == second)
        #expect(first.contains("✓ matches weights"))
        #expect(first.contains("✎ exercise: compute weights yourself. The solution:"))
    }

    @Test("a failing command in a lesson names the Markdown line")
    func failingLine() throws {
        let directory = try lessonDirectory()
        try Data("# 2. Broken\n\n```attn\n# default-sentence: hi\nlayer 99\n```\n".utf8)
            .write(to: URL(fileURLWithPath: directory + "/02-broken.md"))
        let lesson = try Lesson(path: directory + "/02-broken.md")
        do {
            try Runner.replay(Session(), lesson: lesson) { _ in }
            Issue.record("the replay should fail")
        } catch {
            #expect(error.description == "\(directory)/02-broken.md:5: error: layer 99 does not exist: minilm has layers 0…5")
        }
    }
}
