import Notebook
import Testing

/// The comparison the golden transcripts rely on: it must let float rounding through and stop
/// everything else.
@Suite("Transcripts compare words exactly and numbers within float32 rounding")
struct NumericTextTests {
    @Test("differences seen between OpenBLAS kernels count as equal", arguments: [
        ("the    134.9151   65.5919   10.7724   -1.7850  …   30.2144   -1.5705  -43.8121",
         "the    134.9151   65.5919   10.7724   -1.7850  …   30.2144   -1.5706  -43.8121"),
        ("mat     5.3586   0.0900   2.0722  -0.2693  -5.5589", "mat     5.3586   0.0900   2.0722  -0.2693  -5.5590"),
        ("Σ = 5917.2720", "Σ = 5917.2495"),
        ("✓ matches q [8 × 32]: max|Δ| = 2.4e-06", "✓ matches q [8 × 32]: max|Δ| = 0"),
        ("Σ = 127.0884 = scores[3, 2] = 127.0884 (|Δ| 4.7e-06: the same", "Σ = 127.0884 = scores[3, 2] = 127.0884 (|Δ| 4.4e-06: the same"),
        // A column that gains a digit widens: the spaces beside numbers may change.
        ("x    9.9999  1.0000", "x   10.0000  1.0000"),
    ])
    func equal(mine: String, golden: String) {
        #expect(NumericText.lineDifference(mine, golden) == nil)
    }

    @Test("words, tokens, ids, counts, indices and real numeric changes differ", arguments: [
        ("sentence: 8 tokens: [CLS] the cat", "sentence: 9 tokens: [CLS] the cat"),
        ("  1  ·Paris    7042  0.7726", "  1  ·London   4528  0.7726"),
        ("  1  ·Paris    7042  0.7726", "  1  ·Paris    7043  0.7726"),
        ("minilm L2 H7> weights", "minilm L3 H7> weights"),
        ("<0xE6> <0x88>", "<0xE6> <0x89>"),
        ("✓ matches z", "✗ matches z"),
        ("[CLS]  0.9691  0.0064", "[CLS]  0.9691  0.0066"),
        ("✗ max|Δ| = 0.14 at [4 on, 0 [CLS]]", "✗ max|Δ| = 0.16 at [4 on, 0 [CLS]]"),
        ("✗ max|Δ| = 0.14 at [4 on, 0 [CLS]]", "✗ max|Δ| = 0.14 at [5 on, 0 [CLS]]"),
        ("logit 20.51", "logit 20.57"),
        ("a  b", "a b"),
        ("0.5", "0.5 more"),
        ("max|Δ| = 2.4e-03", "max|Δ| = 0"),
    ])
    func different(mine: String, golden: String) {
        #expect(NumericText.lineDifference(mine, golden) != nil)
    }

    @Test("numbers glued to words are text: L2, W_1, Q4_1, 0xE6")
    func gluedNumbers() {
        #expect(NumericText.pieces("L2 W_1 Q4_1 <0xE6> 1e-4 -3.5") == [
            .text("L2"), .spaces(1), .text("W_1"), .spaces(1), .text("Q4_1"), .spaces(1), .text("<0xE6>"),
            .spaces(1), .number("1e-4"), .spaces(1), .number("-3.5"),
        ])
    }

    @Test("a failure names the line and both texts")
    func firstDifference() throws {
        let found = try #require(NumericText.firstDifference("a 1.0\nb 2.0\nc", "a 1.0\nb 2.5\nc"))
        #expect(found.line == 2 && found.mine == "b 2.0" && found.golden == "b 2.5")
        #expect(NumericText.firstDifference("a\nb", "a\nb\nc")?.line == 3)
        #expect(NumericText.firstDifference("a 1.00001\n", "a 1.00002\n") == nil)
    }

    @Test("make golden's merge keeps lines equal within rounding byte for byte and takes only real changes")
    func merge() {
        let old = "intro\nthe 134.9151 -1.5706\nold words\nsum 2.0000\nend"
        let new = "intro\nthe 134.9151 -1.5705\nnew words\nand more\nsum 2.0001\nend"
        #expect(NumericText.merge(new: new, old: old) == "intro\nthe 134.9151 -1.5706\nnew words\nand more\nsum 2.0000\nend")
        #expect(NumericText.merge(new: "a 1.0", old: "") == "a 1.0")
        #expect(NumericText.merge(new: "x 1.5\ny", old: "x 1.7\ny") == "x 1.5\ny")
    }
}
