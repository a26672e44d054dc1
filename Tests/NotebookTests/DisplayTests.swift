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
            for head in layer.heads { for i in 1..<t { sink += Double(head.weights[i, 0]); count += 1 } }
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
}
