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

    @Test("an encoder, no sentence, or arguments: one line saying what to do")
    func refusals() {
        let s = ScriptedSession()
        #expect(s.failure("lens")?.contains("decoder") == true || s.failure("lens")?.contains("sentence") == true)
        _ = s.run("sentence a b")
        #expect(s.failure("lens")?.hasPrefix("lens needs a decoder") == true)
        #expect(s.failure("lens 3") != nil)
    }
}
