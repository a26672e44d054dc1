import AttnCore
import Foundation
import Notebook
import Testing

// Issue 12: the learner's math keeps NumPy's nan, uses the model's own ε, and exercises check how
// the answer was reached; another head's step is one call away, and shapes read as in NumPy.

/// Whether a line prints one number within 1e-3 of `expected`.
private func close(_ output: String, _ expected: Float) -> Bool {
    guard let x = Float(output.trimmingCharacters(in: .whitespacesAndNewlines)) else { return false }
    return abs(x - expected) < 1e-3
}

/// Output with its wrapped lines joined, to look for a sentence.
private func flat(_ output: String) -> String {
    output.replacingOccurrences(of: "\n", with: " ")
}

@Suite("Issue 12: NaN, the model's ε, exercise directives, other heads, shapes")
struct LearnerMathIssue12Tests {
    // MARK: NaN as NumPy

    @Test("NaN propagates as in NumPy: max, min, sum, mean and softmax of a row with a nan are nan")
    func nanPropagates() {
        let s = ScriptedSession()
        // np.max([1, nan, 3]) is nan; so are min, sum and mean; argmax points at the nan.
        for call in ["max", "min", "sum", "mean"] {
            #expect(s.run("\(call)([1, nan, 3])") == "nan\n", "\(call)")
        }
        #expect(s.run("argmax([1, nan, 5])") == "1\n")
        #expect(s.run("0 * inf") == "nan\n")
        // Along an axis only the rows (or columns) with a nan are nan.
        let rows = s.run("sum([[1, nan], [2, 3]], axis=1)")
        #expect(rows.contains("0  nan") && rows.contains("1    5"), "\(rows)")
        // softmax: the row with a nan is nan everywhere, the others as before, and a fully
        // masked row (all −∞) stays 0 as in the model.
        s.run("S = softmax([[1, nan, 2], [1, 2, 3], [-inf, -inf, -inf], [nan, -inf, -inf]])")
        #expect(s.run("sum(S[0] == S[0])") == "0\n")       // nan ≠ nan: every cell of row 0 is nan
        #expect(s.run("S[1, 2]") == "0.6652\n")
        #expect(s.run("sum(abs(S[2]))") == "0\n")
        #expect(s.run("sum(S[3] == S[3])") == "0\n")       // nan with −∞ only: nan, not zeros
    }

    @Test("the model's softmaxRows: −∞ rows stay 0, nan rows are nan, other rows unchanged")
    func modelSoftmax() {
        let m = Matrix([[-.infinity, -.infinity], [.nan, -.infinity], [1, .nan], [0, 1]])
        let s = m.softmaxRows()
        #expect(s.row(0) == [0, 0])
        #expect(s.row(1).allSatisfy { $0.isNaN })
        #expect(s.row(2).allSatisfy { $0.isNaN })
        #expect(abs(s[3, 1] - Float(1 / (1 + exp(-1.0)))) < 1e-7)
    }

    @Test("a mask of -inf times triu: nan below the diagonal, shown as nan, and check says yours nan")
    func nanMask() {
        let s = ScriptedSession()
        s.run("model smollm2\nsentence The capital of France is\nlayer 1\nhead 2")
        s.run("MYMASK = triu(ones(T, T), 1) * -inf")
        let shown = s.run("softmax(scaled + MYMASK)")
        let rows = shown.split(separator: "\n").dropFirst(2).prefix(5)
        #expect(rows.count == 5 && rows.allSatisfy { $0.split(separator: " ").suffix(5).allSatisfy { $0 == "nan" } }, "\(shown)")
        let check = s.run("check softmax(scaled + MYMASK) weights")
        #expect(check.hasPrefix("✗ max|Δ| = nan at [0 The, 0 The] (yours nan, the model's 1.0000)"), "\(check)")
        #expect(check.contains("Yours has nan in 25 of 25 cells"), "\(check)")
        // The finite stand-in passes, as lesson 11 teaches.
        #expect(s.run("check softmax(scaled + triu(ones(T, T), 1) * -1e9) weights").hasPrefix("✓"))
    }

    // MARK: The model's ε

    @Test("layernorm and rmsnorm take ε from the selected model, and eps= overrides it")
    func epsilonFromModel() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat")
        // Row variance 2.5e-7: with MiniLM's ε = 1e-12 the normalized cell is ≈ 1; with 1e-5, 0.156.
        #expect(close(s.run("layernorm([[0, 0.001]])[0, 1]"), 1))
        #expect(close(s.run("rmsnorm([[0.001]])"), 1))
        #expect(close(s.run("layernorm([[0, 0.001]], eps=1e-5)[0, 1]"), 0.1562))
        // Exactly the model's attn_norm: the same function with the same ε.
        #expect(s.run("check layernorm(x + attn_out, gamma_attn, beta_attn) attn_norm").hasPrefix("✓ matches attn_norm [8 × 384]: max|Δ| = 0\n"))

        s.run("model smollm2\nsentence The capital of France is")
        // SmolLM2's RMSNorm ε = 1e-5: 0.001 / √(1e-6 + 1e-5) = 0.3015.
        #expect(close(s.run("rmsnorm([[0.001]])"), 0.3015))
        #expect(close(s.run("layernorm([[0, 0.001]])[0, 1]"), 0.1562))
        #expect(s.run("check rmsnorm(x, g_attn) rmsnorm").hasPrefix("✓ matches rmsnorm [5 × 576]: max|Δ| = 0\n"))
        #expect(s.run("check rmsnorm(x, g_attn, eps=0.1) rmsnorm").hasPrefix("✗"))
        #expect(s.run("check silu(ffn_gate) * ffn_up ffn_act").hasPrefix("✓ matches ffn_act [5 × 1536]: max|Δ| = 0\n"))
        #expect(s.failure("rmsnorm(x, [[1, 2]])")?.contains("g must be a [1 × 576] row") == true)
    }

    // MARK: Exercise directives

    /// A session in the repository's lessons, `blocks` blocks into lesson `number`.
    func lessonSession(_ number: Int, runningBlocks blocks: Int) -> ScriptedSession {
        let s = ScriptedSession()
        s.session.lessonsDirectory = LessonGoldenTests.repository + "/Lessons"
        s.run("lesson \(number)")
        for _ in 0..<blocks { s.run("next") }
        return s
    }

    @Test("lesson 6 forbids softmax: in the expression or in a name's definition; hint works, the solution passes")
    func lessonSixForbidsSoftmax() {
        let s = lessonSession(6, runningBlocks: 4)
        #expect(s.run("where").contains("step 5 of 7"))
        let direct = s.run("check softmax(scaled) weights")
        #expect(direct == "✓ matches weights [8 × 8]: max|Δ| = 0\n✗ this exercise asks for weights without softmax: your expression calls softmax\n",
                "\(direct)")
        s.run("E = softmax(scaled)")
        let through = s.run("check E * 1 weights")
        #expect(through.contains("✗ this exercise asks for weights without softmax: your E calls softmax (E =\nsoftmax(scaled))"), "\(through)")
        #expect(s.run("where").contains("step 5 of 7"))  // still waiting
        #expect(s.run("hint").hasPrefix("hint 1 of 3: Row maxima"))
        // Rebinding E forgets how it was made before.
        s.run("E = exp(scaled - max(scaled, axis=1))")
        let done = s.run("check E / sum(E, axis=1) weights")
        #expect(done.hasPrefix("✓ matches weights") && done.contains("exercise done."), "\(done)")
        // Outside the exercise softmax is fine again.
        #expect(s.run("check softmax(scaled) weights") == "✓ matches weights [8 × 8]: max|Δ| = 0\n")
    }

    @Test("lesson 11 requires the learner's MYMASK and forbids M and masked; skip still runs the solution")
    func lessonElevenRequiresMask() {
        let s = lessonSession(11, runningBlocks: 3)
        #expect(s.run("where").contains("step 4 of"))
        #expect(flat(s.run("check softmax(masked) weights")).contains("✗ this exercise asks for weights without masked: your expression uses masked"))
        #expect(flat(s.run("check softmax(scaled + triu(ones(T, T), 1) * -1e9) weights"))
            .contains("✗ this exercise asks for weights built with your MYMASK: you have no MYMASK yet: bind it with MYMASK = …"))
        s.run("MYMASK = M")
        #expect(flat(s.run("check softmax(scaled + MYMASK) weights"))
            .contains("✗ this exercise asks for weights without M: your MYMASK uses M (MYMASK = M)"))
        s.run("MASK2 = triu(ones(T, T), 1) * -1e9")
        #expect(flat(s.run("check softmax(scaled + MASK2) weights"))
            .contains("✗ this exercise asks for weights built with your MYMASK: your expression does not use MYMASK"))
        let skipped = s.run("skip")
        #expect(skipped.hasPrefix("the solution:") && skipped.contains("✓ matches weights [5 × 5]"), "\(skipped)")
        #expect(s.run("where").contains("step 5 of"))
    }

    @Test("a lesson's directives: only in an exercise, and replay holds the solution to them")
    func directivesInLessonFiles() throws {
        let directory = NSTemporaryDirectory() + "attn-issue12-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let stray = directory + "/01-stray.md"
        try "# 1. Stray\n```attn\n# forbid: softmax\nscores\n```\n".write(toFile: stray, atomically: true, encoding: .utf8)
        #expect(throws: Runner.Failure.self) { try Lesson(path: stray) }

        let cheat = directory + "/02-cheat.md"
        try """
            # 2. Cheat
            ```attn
            sentence the cat sat on the mat
            ```
            ```attn
            # exercise: weights
            # forbid: softmax
            check softmax(scaled) weights
            ```
            """.write(toFile: cheat, atomically: true, encoding: .utf8)
        let lesson = try Lesson(path: cheat)
        #expect(lesson.blocks[1].forbidden == ["softmax"])
        do {
            try Runner.replay(Session(), lesson: lesson) { _ in }
            Issue.record("a solution that calls softmax replayed")
        } catch {
            #expect("\(error)".contains("breaks its own # forbid: or # require: this exercise asks for weights without softmax"), "\(error)")
        }
    }

    // Every directive of the repository's lessons names something real: LessonLintTests.

    // MARK: Another head's step

    @Test("concat(heads(z)) is the model's concat on both models; head(A, h) is A at head h without selecting it")
    func otherHeads() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat\nlayer 5\nhead 3")
        #expect(s.run("check concat(heads(z)) concat") == "✓ matches concat [8 × 384]: max|Δ| = 0\n")
        #expect(s.run("check head(z, 11) concat[:, 352:384]") == "✓ matches concat[:, 352:384] [8 × 32]: max|Δ| = 0\n")
        // Any expression: every name of the model inside is head 11's, and the selection stays.
        #expect(s.run("check concat(heads(softmax(Q @ K.T / sqrt(dk)) @ V)) concat").hasPrefix("✓ matches concat [8 × 384]"))
        s.run("A = head(weights, 11)")
        #expect(s.run("check A weights").hasPrefix("✗"))  // head 3 is still selected
        s.run("head 11")
        #expect(s.run("check A weights") == "✓ matches weights [8 × 8]: max|Δ| = 0\n")
        // The learner's names are the same at every head: head(A, 0) is A.
        #expect(s.run("check head(A, 0) weights") == "✓ matches weights [8 × 8]: max|Δ| = 0\n")
        #expect(s.failure("head(z, 12)") == "head(z, 12): head 12 does not exist: this layer has heads 0…11")
        #expect(s.failure("heads(z)")?.contains("concat(heads(A))") == true)
        #expect(s.failure("head(z)")?.contains("the form is head(A, h)") == true)

        // SmolLM2: 9 query heads; heads 3, 4 and 5 share key/value head 1.
        s.run("model smollm2\nsentence The capital of France is\nlayer 14")
        #expect(s.run("check concat(heads(z)) concat") == "✓ matches concat [5 × 576]: max|Δ| = 0\n")
        #expect(s.run("check concat(heads(softmax(Q @ K.T / sqrt(dk) + M) @ V)) concat").hasPrefix("✓ matches concat [5 × 576]"))
        #expect(s.run("max(abs(head(K, 4) - head(K, 5)))") == "0\n")
        #expect(s.run("max(abs(head(K, 2) - head(K, 3)))") != "0\n")
    }

    @Test("lesson 8's exercise: concat(heads(Z)) is built, not read from the model's concat")
    func lessonEight() {
        let s = lessonSession(8, runningBlocks: 3)
        #expect(s.run("where").contains("step 4 of"))
        #expect(s.run("check concat concat").contains("That reads concat, the model's own answer"))
        #expect(s.run("check concat(heads(Z)) concat").contains("exercise done."))
    }

    // MARK: Shapes

    @Test("W_Q.shape and shape(A) print as NumPy's tuple and compose as a 1 × 2 row; .shape[0] is the rows")
    func shapes() {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat")
        #expect(s.run("W_Q.shape") == "(384, 32)\n")
        #expect(s.run("shape(Q @ K.T)") == "(8, 8)\n")
        #expect(s.run("Q.T.shape") == "(32, 8)\n")
        #expect(s.run("W_Q.shape[0]") == "384\n")
        #expect(s.run("W_Q.shape[-1] == dk") == "1\n")
        #expect(s.run("zeros(Q.shape[0], 2).shape") == "(8, 2)\n")
        #expect(s.run("S = K.shape") == "S = [1 × 2]\n")
        #expect(s.run("S[0, 0] * S[0, 1]") == "256\n")
        #expect(s.run("shape(3)") == "(1, 1)\n")
        #expect(s.failure("A = Q.foo")?.contains("the attributes are .T (the transpose) and .shape") == true)
    }
}
