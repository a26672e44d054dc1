import AttnCore
import Foundation

/// `attribute [N | all]`: direct logit attribution of the target's logit (a decoder).
struct AttributeCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["attribute"], synopsis: ["attribute [N | all]"],
        help: [("attribute", "attribute [N | all] (a decoder): direct logit attribution. The residual stream of the last position is a sum of what each part of the model wrote into it: the embedding, every head's z · W_O (its dₕ rows of W_O), every layer's MLP (on Gemma 3 each through its output norm, and GPT-2's attention bias). The final norm, with its scale 1/rms (1/σ and centring for a LayerNorm) frozen at the value of the real pass, is then a linear map, so the target's logit is exactly the sum of each part's final_norm(part) · E[t]. Shows the formula, the N parts with the largest |contribution| (default 15; attribute all lists every one), the totals of the embedding, the attention and the MLPs, and the sum of all parts beside the model's own logit. The target is target's: its token's logit, or for target ·A - ·B the logit difference (a probability is not a sum, so its logit is attributed). No forward pass: it reads the trace. dla_heads (layers × heads), dla_mlp (layers × 1), dla_embedding, dla_bias and dla_logit hold the numbers for your math; export attribute PATH.csv writes every part, plot attribute PATH.svg draws the heads and MLPs as a heatmap. An encoder normalizes its stream after every layer, so it does not decompose: there, importance or lime.")])

    static let defaultCount = 15
    /// nil: every part.
    var count: Int?

    init(word: String, arguments: String) throws {
        let usage = "attribute [N | all]: the N largest parts (default \(Self.defaultCount)) or all of them"
        if arguments == "all" { count = nil; return }
        count = arguments.isEmpty ? Self.defaultCount : try Arguments.number(arguments, command: word, usage: usage)
        guard (count ?? 1) >= 1 else { throw NotebookError.usage(command: word, usage: usage) }
    }

    func run(in session: Session) throws -> String { try session.attribute(count: count) }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(["all"]) : nil
    }
}

extension Session {
    /// The direct logit attribution of the current target on the current trace.
    /// - Throws: on an encoder (its stream is normalized after every layer), under `classify`
    ///   (the prompt is another text than the trace's), without a sentence.
    func logitAttribution(_ command: String = "attribute") throws -> (LogitAttribution, note: String?) {
        let model = try requireModel()
        guard let decoder = model as? any DecoderModel else {
            throw NotebookError.lesson("\(command) needs a decoder: \(modelName) is an encoder (BERT), which normalizes the residual stream after every sublayer, so it is no longer a sum of what each part wrote; on an encoder, importance or lime explain the target")
        }
        guard let residual = decoder as? any ResidualStreamDecoder else {
            throw NotebookError.lesson("\(command) does not know how \(modelName)'s residual stream decomposes: importance or lime explain the target")
        }
        let trace = try requireTrace()
        guard let last = trace.logits(row: trace.count - 1) else { throw NotebookError.noSentence }
        switch explanationTarget {
        case .top:
            let next = topTokens(logits: last, count: 1, temperature: temperature)[0].id
            let t = label(for: next)
            return (LogitAttribution(residual, trace: trace, plus: next, minus: nil, formula: "logit(\(t))"),
                    "the target is p(\(t)), the top next token's probability; softmax is not a sum, so attribute splits its logit")
        case let .token(a):
            let id = try tokenId(a, decoder)
            return (LogitAttribution(residual, trace: trace, plus: id, minus: nil, formula: "logit(\(a))"),
                    "the target is p(\(a)); softmax is not a sum, so attribute splits its logit")
        case let .difference(a, b):
            let (first, second) = (try tokenId(a, decoder), try tokenId(b, decoder))
            return (LogitAttribution(residual, trace: trace, plus: first, minus: second, formula: "logit(\(a)) − logit(\(b))"),
                    "the target is p(\(a)) − p(\(b)); attribute splits the difference of the logits, E[a] − E[b] read like one row")
        case .label:
            throw NotebookError.lesson("\(command) reads the sentence's trace, and a classifier reads another text (its prompt): classify off, then target ·TOKEN or target ·A - ·B")
        case .like:
            throw NotebookError.lesson("target like is an encoder's; \(command) needs target top, ·TOKEN or ·A - ·B")
        }
    }

    /// `attribute N`: the formula, the N largest parts, the groups' totals, and the sum beside the
    /// model's own logit.
    func attribute(count: Int?) throws -> String {
        let (a, note) = try logitAttribution()
        let trace = try requireTrace()
        let model = try requireModel()
        let first = trace.layers.first
        let gemma = first?.attentionPostNorm != nil
        let gpt2 = trace.positionEmbeddings != nil
        var text = fit("attribute: direct logit attribution of \(a.formula) after \(trace.tokens[a.position]) (position \(a.position))") + "\n"
        let embedding = gpt2 ? "wte[t] + wpe[p]" : gemma ? "E[t]·√\(model.sizes.modelDimension)" : "E[t]"
        let heads = gemma ? "Σ_l Σ_h norm_l(z_lh · W_O,hᵀ)" : gpt2 ? "Σ_l (Σ_h z_lh · W_O,h + b_O,l)" : "Σ_l Σ_h z_lh · W_O,hᵀ"
        let mlp = gemma ? "Σ_l norm_l(ffn_out_l)" : "Σ_l ffn_out_l"
        text += fit("  out = \(embedding) + \(heads) + \(mlp)") + "\n"
        let s = String(format: "%.4g", Double(a.frozenInverse))
        if a.centres {
            text += fit("  logit = Σ_parts ((part − mean(part)) ⊙ γ · s) · E[t] + β · E[t]") + "\n"
            text += fit("    s = 1/√(var(out) + ε) = \(s) at position \(a.position), frozen") + "\n"
        } else {
            text += fit("  logit = Σ_parts (part ⊙ g_final · s) · E[t]") + "\n"
            text += fit("    s = 1/√(mean(out²) + ε) = \(s) at position \(a.position), frozen") + "\n"
        }
        if gemma {
            text += wrap("norm_l: Gemma's output norms, RMSNorm ⊙ g_post with their scales frozen too; its logits have no soft-cap.", indent: "    ", first: "  ") + "\n"
        }
        text += "  0 forward passes (reads the trace)\n"
        if let note { text += wrap(note + ".", indent: "    ", first: "  ") + "\n" }

        let ranked = a.ranked
        let shown = Array(ranked.prefix(count ?? ranked.count))
        let names = shown.map(\.name)
        let nameWidth = max(4, names.map(MatrixRenderer.displayWidth).max() ?? 4)
        let numbers = shown.map { String(format: "%+.4f", $0.contribution) }
        let numberWidth = max(12, numbers.map(\.count).max() ?? 12)
        let fixed = 2 + nameWidth + 2 + 5 + 2 + 4 + 2 + numberWidth + 2
        let available = max(1, renderer.width - fixed)
        let largest = shown.map { abs($0.contribution) }.max() ?? 0
        text += MatrixRenderer.trimTrailing("  " + MatrixRenderer.pad("part", nameWidth, alignLeft: true) + "  layer  head  " + MatrixRenderer.pad("contribution", numberWidth)) + "\n"
        for (part, number) in zip(shown, numbers) {
            let length = largest > 0 ? roundedInt(abs(part.contribution) / largest * Double(available), in: 0...available) ?? 0 : 0
            let bar = String(repeating: part.contribution < 0 ? "░" : "█", count: length)
            let line = "  " + MatrixRenderer.pad(part.name, nameWidth, alignLeft: true) + "  " + MatrixRenderer.pad(part.layer.map(String.init) ?? "-", 5)
                + "  " + MatrixRenderer.pad(part.head.map(String.init) ?? "-", 4) + "  " + MatrixRenderer.pad(number, numberWidth) + "  " + bar
            text += MatrixRenderer.trimTrailing(line) + "\n"
        }
        if shown.count < ranked.count {
            text += wrap("(\(shown.count) of \(ranked.count) parts, largest |contribution| first; attribute all lists every one, export attribute PATH.csv writes them)", indent: "  ", first: "  ") + "\n"
        }
        for group in a.groupTotals {
            let label = "\(group.group) (\(group.count) part\(group.count == 1 ? "" : "s"))"
            text += "  " + MatrixRenderer.pad(label, 24, alignLeft: true) + MatrixRenderer.pad(String(format: "%+.4f", group.total), 12) + "\n"
        }
        let row = a.tokens.map { "logits[\(a.position)][\($0)]" }.joined(separator: " − ")
        text += "  " + MatrixRenderer.pad("sum of all parts", 24, alignLeft: true) + MatrixRenderer.pad(String(format: "%+.4f", a.sum), 12) + "\n"
        text += "  " + MatrixRenderer.pad("the model's own", 24, alignLeft: true) + MatrixRenderer.pad(String(format: "%+.4f", a.modelLogit), 12) + "\n"
        text += wrap("(\(row), the row of logits predict's softmax reads)", indent: "    ", first: "  ") + "\n"
        if let top = ranked.first {
            text += wrap("notice: \(top.name) gives the most, \(String(format: "%+.4f", top.contribution)) of \(String(format: "%.4f", a.modelLogit)); dla_heads, dla_mlp, dla_embedding, dla_bias and dla_logit hold these numbers for your math.") + "\n"
        }
        return text + "\n"
    }

    // MARK: export attribute, plot attribute

    /// `export attribute PATH.csv`: every part, in the order of the computation.
    func exportAttribution(to path: String) throws -> String {
        let (a, _) = try logitAttribution("export attribute")
        let target = try csvTarget(path, command: "export attribute")
        var text = "component,layer,head,contribution\n"
        for part in a.parts {
            let component = switch part.kind {
            case .embedding: "embedding"
            case .tokenEmbedding: "token_embedding"
            case .positionEmbedding: "position_embedding"
            case .head: "head"
            case .attentionBias: "attention_bias"
            case .feedForward: "mlp"
            case .normShift: "final_norm_beta"
            }
            text += "\(component),\(part.layer.map(String.init) ?? ""),\(part.head.map(String.init) ?? ""),\(String(format: "%.9g", part.contribution))\n"
        }
        try write(Data(text.utf8), to: target)
        return "wrote the \(a.parts.count) parts of \(a.formula) (sum \(String(format: "%.4f", a.sum)), the model's \(String(format: "%.4f", a.modelLogit))) to \(target.described)\n"
    }

    /// `plot attribute PATH.svg`: layers × (heads, MLP) as a heatmap, every cell's contribution.
    func plotAttribution(to path: String) throws -> String {
        let (a, _) = try logitAttribution("plot attribute")
        let model = try requireModel()
        let target = try svgTarget(path, command: "plot attribute")
        let (layers, heads) = (model.sizes.layers, model.sizes.heads)
        let matrix = Matrix.concatenateColumns([a.headMatrix(layers: layers, heads: heads), a.feedForwardColumn(layers: layers)])
        let title = "direct logit attribution of \(a.formula)"
        let location = "sum \(String(format: "%.4f", a.sum)) = the model's \(String(format: "%.4f", a.modelLogit))"
        let rows = (0..<layers).map { "L\($0)" }, columns = (0..<heads).map { "H\($0)" } + ["MLP"]
        var chart = heatmap(matrix, rowLabels: rows, columnLabels: columns, title: title, location: location)
        chart.axes = ("", "")
        return try writePlot(chart, to: target,
                             report: "wrote the heads' and MLPs' parts of \(a.formula) (\(layers) layers × \(heads) heads + MLP) as an SVG heatmap to \(target.described)\n")
    }

    /// The values of the `dla_` names for the math: the heads (layers × heads), the MLPs
    /// (layers × 1), the embedding, the biases (GPT-2's attention biases and final β; 0
    /// elsewhere) and the model's own logit.
    func attributionValues() throws -> [String: MathValue] {
        let (a, _) = try logitAttribution()
        let model = try requireModel()
        let (layers, heads) = (model.sizes.layers, model.sizes.heads)
        func total(_ keep: (LogitAttribution.Part) -> Bool) -> Float { Float(a.parts.filter(keep).reduce(0) { $0 + $1.contribution }) }
        return [
            "dla_heads": .matrix(a.headMatrix(layers: layers, heads: heads)),
            "dla_mlp": .matrix(a.feedForwardColumn(layers: layers)),
            "dla_embedding": .scalar(total { $0.group == "embedding" }),
            "dla_bias": .scalar(total { if case .attentionBias = $0.kind { true } else { $0.kind == .normShift } }),
            "dla_logit": .scalar(Float(a.modelLogit)),
        ]
    }
}
