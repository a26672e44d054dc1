import AttnCore
import Foundation

/// `lens`: the logit lens: the model's own last step, its final norm and unembedding, applied to
/// the residual stream after every layer, as if the model ended there.
struct LensCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["lens"], synopsis: ["lens"],
        help: [("lens", "lens (a decoder): the logit lens: the final norm and the unembedding, the model's own last step, applied to the residual stream after each layer (out), as if the model ended there. A layers × positions table of the top next token at the last positions, and by layer the probability of the whole model's top next token after the sentence. No forward pass: it reads the trace.")])

    init(word: String, arguments: String) throws {
        guard arguments.isEmpty else { throw NotebookError.usage(command: word, usage: "lens (it reads the sentence's trace)") }
    }

    func run(in session: Session) throws -> String { try session.logitLens() }
}

extension Session {
    /// The logit lens of the current sentence.
    /// ```
    /// logits_l = final_norm(out_l) · Eᵀ        layer l's residual stream through the model's last step
    /// ```
    func logitLens() throws -> String {
        let decoder = try requireDecoder("lens")
        let trace = try requireTrace()
        let t = trace.count
        guard let last = trace.logits(row: t - 1) else { throw NotebookError.noSentence }
        let next = topTokens(logits: last, count: 1, temperature: temperature)[0].id
        let nextLabel = label(for: next)
        // As many of the last positions as fit beside the layer column and p.
        let cellWidth = 11
        let shown = max(1, min(t, (renderer.width - 7 - 12) / cellWidth))
        let positions = (t - shown)..<t

        var text = fit("lens: logits_l = final_norm(out_l) · Eᵀ   the model's last step after layer l, as if it ended there") + "\n"
        text += wrap("each cell: the top next token after that position, by layer; p(\(nextLabel)): the probability after the whole sentence of the model's own top next token, softmax(logits / \(String(format: "%g", Double(temperature)))). It reads the trace: no forward pass.") + "\n"
        var header = MatrixRenderer.pad("layer", 5) + "  "
        for i in positions { header += MatrixRenderer.pad(MatrixRenderer.truncate(trace.tokens[i], to: cellWidth - 1), cellWidth - 1, alignLeft: true) + " " }
        text += MatrixRenderer.trimTrailing(header + " p(" + MatrixRenderer.truncate(nextLabel, to: 8) + ")") + "\n"

        var firstTop: Int?
        for (l, layer) in trace.layers.enumerated() {
            let logits = decoder.logits(decoder.finalNorm(layer.out.rows(positions)))
            let tops = (0..<shown).map { topTokens(logits: logits.row($0), count: 1, temperature: 1)[0].id }
            var line = MatrixRenderer.pad(String(l), 5) + "  "
            for top in tops {
                line += MatrixRenderer.pad(MatrixRenderer.truncate(label(for: top), to: cellWidth - 1), cellWidth - 1, alignLeft: true) + " "
            }
            let p = probabilities(logits: logits.row(shown - 1), temperature: temperature)[next]
            if tops.last == next { firstTop = firstTop ?? l } else { firstTop = nil }
            text += MatrixRenderer.trimTrailing(line + " " + String(format: "%.4f", Double(p))) + "\n"
        }
        if let firstTop {
            text += wrap("notice: \(nextLabel) is the top token at the last position from layer \(firstTop) on; the last layer's row is the model's own prediction.") + "\n"
        }
        return text
    }
}
