import AttnCore
import Foundation

/// `lens`: the logit lens: the model's own last step, its final norm and unembedding, applied to
/// the residual stream after every layer, as if the model ended there.
struct LensCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["lens"], synopsis: ["lens"],
        help: [("lens", "lens (a decoder): the logit lens: the final norm and the unembedding, the model's own last step, applied to the residual stream after each layer (out), as if the model ended there. A layers × positions table of the top next token at the last positions, and by layer the target after the sentence: p of the model's top next token (target top), of target ·TOKEN, or for target ·A - ·B the logit difference. No forward pass: it reads the trace. export lens PATH.csv writes every layer and position (layer,position,token,top_token,top_p,target_p); plot lens PATH.svg draws them as a heatmap.")])

    init(word: String, arguments: String) throws {
        guard arguments.isEmpty else { throw NotebookError.usage(command: word, usage: "lens (it reads the sentence's trace)") }
    }

    func run(in session: Session) throws -> String { try session.logitLens() }
}

/// What the logit lens follows by layer at the last position: a token's probability, or the
/// difference of two tokens' logits (``ExplanationTarget``).
struct LensTarget {
    var plus: Int
    var minus: Int?
    /// The column's header: `p(·Paris)`, `Δlogit`.
    var column: String
    /// What the column is, in words.
    var definition: String

    /// The followed number from one position's logits, softmax(logits / τ)[t] or a logit difference.
    func value(_ logits: [Float], temperature: Float) -> Double {
        if let minus { return Double(logits[plus]) - Double(logits[minus]) }
        return Double(probabilities(logits: logits, temperature: temperature)[plus])
    }
}

extension Session {
    /// The lens's target: the session's, where it is a next token or two (else the top next token).
    func lensTarget(_ decoder: any DecoderModel, last: [Float]) throws -> LensTarget {
        let tau = String(format: "%g", Double(temperature))
        switch explanationTarget {
        case let .token(a):
            let id = try tokenId(a, decoder)
            return LensTarget(plus: id, minus: nil, column: "p(" + MatrixRenderer.truncate(a, to: 8) + ")",
                              definition: "p(\(a)): the probability after the whole sentence of the target token \(a), softmax(logits / \(tau))")
        case let .difference(a, b):
            let (first, second) = (try tokenId(a, decoder), try tokenId(b, decoder))
            return LensTarget(plus: first, minus: second, column: "Δlogit",
                              definition: "Δlogit: the target's logit difference after the whole sentence, logit(\(a)) − logit(\(b)), by layer")
        case .top, .label, .like:
            let next = topTokens(logits: last, count: 1, temperature: temperature)[0].id
            let nextLabel = label(for: next)
            return LensTarget(plus: next, minus: nil, column: "p(" + MatrixRenderer.truncate(nextLabel, to: 8) + ")",
                              definition: "p(\(nextLabel)): the probability after the whole sentence of the model's own top next token, softmax(logits / \(tau))")
        }
    }

    /// The logit lens of the current sentence.
    /// ```
    /// logits_l = final_norm(out_l) · Eᵀ        layer l's residual stream through the model's last step
    /// ```
    func logitLens() throws -> String {
        let decoder = try requireDecoder("lens")
        let trace = try requireTrace()
        let t = trace.count
        guard let last = trace.logits(row: t - 1) else { throw NotebookError.noSentence }
        let target = try lensTarget(decoder, last: last)
        // As many of the last positions as fit beside the layer column and p.
        let cellWidth = 11
        let shown = max(1, min(t, (renderer.width - 7 - 12) / cellWidth))
        let positions = (t - shown)..<t

        var text = fit("lens: logits_l = final_norm(out_l) · Eᵀ   the model's last step after layer l, as if it ended there") + "\n"
        text += wrap("each cell: the top next token after that position, by layer; \(target.definition). It reads the trace: no forward pass.") + "\n"
        var header = MatrixRenderer.pad("layer", 5) + "  "
        for i in positions { header += MatrixRenderer.pad(MatrixRenderer.truncate(trace.tokens[i], to: cellWidth - 1), cellWidth - 1, alignLeft: true) + " " }
        text += MatrixRenderer.trimTrailing(header + " " + target.column) + "\n"

        var firstTop: Int?
        for (l, layer) in trace.layers.enumerated() {
            let logits = decoder.logits(decoder.finalNorm(layer.out.rows(positions)))
            let tops = (0..<shown).map { topTokens(logits: logits.row($0), count: 1, temperature: 1)[0].id }
            var line = MatrixRenderer.pad(String(l), 5) + "  "
            for top in tops {
                line += MatrixRenderer.pad(MatrixRenderer.truncate(label(for: top), to: cellWidth - 1), cellWidth - 1, alignLeft: true) + " "
            }
            let value = target.value(logits.row(shown - 1), temperature: temperature)
            let reached = target.minus == nil ? tops.last == target.plus : value > 0
            if reached { firstTop = firstTop ?? l } else { firstTop = nil }
            text += MatrixRenderer.trimTrailing(line + " " + String(format: target.minus == nil ? "%.4f" : "%+.4f", value)) + "\n"
        }
        if let firstTop {
            if let minus = target.minus {
                text += wrap("notice: \(label(for: target.plus)) is ahead of \(label(for: minus)) at the last position from layer \(firstTop) on; the last layer's row is the model's own logits.") + "\n"
            } else {
                text += wrap("notice: \(label(for: target.plus)) is the top token at the last position from layer \(firstTop) on; the last layer's row is the model's own prediction.") + "\n"
            }
        }
        return text
    }

    /// Every layer and position of the lens: the top token, its p, and the target's number.
    /// ```
    /// logits_l = final_norm(out_l) · Eᵀ        (T × d) → (T × vocabulary), for each layer l
    /// ```
    func lensCells(_ command: String) throws -> (target: LensTarget, top: [[Int]], topP: [[Double]], value: [[Double]]) {
        let decoder = try requireDecoder(command)
        let trace = try requireTrace()
        try requireLogitsFit(trace)  // each layer's logits, T × vocabulary, one layer at a time
        guard let last = trace.logits(row: trace.count - 1) else { throw NotebookError.noSentence }
        let target = try lensTarget(decoder, last: last)
        var (top, topP, value) = ([[Int]](), [[Double]](), [[Double]]())
        for layer in trace.layers {
            let logits = decoder.logits(decoder.finalNorm(layer.out))
            var (tops, ps, values) = ([Int](), [Double](), [Double]())
            for i in 0..<trace.count {
                let row = logits.row(i)
                let best = topTokens(logits: row, count: 1, temperature: temperature)[0]
                tops.append(best.id)
                ps.append(Double(best.probability))
                values.append(target.value(row, temperature: temperature))
            }
            top.append(tops)
            topP.append(ps)
            value.append(values)
        }
        return (target, top, topP, value)
    }

    /// `export lens PATH.csv`: one line per layer and position.
    func exportLens(to path: String) throws -> String {
        let (target, top, topP, value) = try lensCells("export lens")
        let trace = try requireTrace()
        let file = try csvTarget(path, command: "export lens")
        var text = "layer,position,token,top_token,top_p," + (target.minus == nil ? "target_p" : "target_logit_difference") + "\n"
        for l in top.indices {
            for i in 0..<trace.count {
                text += "\(l),\(i),\(csvField(trace.tokens[i])),\(csvField(label(for: top[l][i]))),"
                    + String(format: "%.9g", topP[l][i]) + "," + String(format: "%.9g", value[l][i]) + "\n"
            }
        }
        try write(Data(text.utf8), to: file)
        return "wrote the lens of \(top.count) layers × \(trace.count) positions (top token, its p, \(target.column)) to \(file.described)\n"
    }

    /// `plot lens PATH.svg`: layers × positions, coloured by the target's number, each cell
    /// labelled with its top token.
    func plotLens(to path: String) throws -> String {
        let (target, top, _, value) = try lensCells("plot lens")
        let trace = try requireTrace()
        let file = try svgTarget(path, command: "plot lens")
        let matrix = Matrix(rows: top.count, columns: trace.count, values: value.flatMap { $0.map(Float.init) })
        let rows = top.indices.map { "layer \($0)" }
        let title = "logit lens: \(target.column) after each position, by layer"
        let location = "each cell: its top next token"
        var chart = heatmap(matrix, rowLabels: rows, columnLabels: trace.tokens, title: title, location: location)
        chart.axes = ("", "after")
        chart.cellLabels = top.flatMap { $0.map { label(for: $0) } }
        return try writePlot(chart, to: file,
                             report: "wrote the lens (\(top.count) layers × \(trace.count) positions, \(target.column), top tokens in the cells) as an SVG heatmap to \(file.described)\n")
    }
}
