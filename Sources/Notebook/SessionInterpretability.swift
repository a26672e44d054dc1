import AttnCore
import Foundation

/// Interpretability tools on the session's trace: a summary of every head's pattern, the neuron
/// view of one score, attention rollout, head ablation, occlusion importance, SVG heatmaps and
/// the transcript.
///
/// Each tool reads the one forward pass the steps come from (`cachedTrace`, with the ablated heads
/// zeroed), or runs that same forward pass again on changed input; none has its own copy of the math.
extension Session {
    // MARK: importance

    /// `importance`: occlusion. Each token is removed in turn and the model runs again on the
    /// rest; the bar is how much the output moved.
    /// ```
    /// encoder:  importance(i) = 1 − cos(embedding(all tokens), embedding(all but i))
    /// decoder:  importance(i) = p(next | all tokens) − p(next | all but i),   next = today's top token
    /// ```
    func importance() throws -> String {
        let trace = try requireTrace()
        let model = try requireModel()
        let occlusion = if let decoder = model as? any DecoderModel {
            try decoderOcclusion(decoder, trace)
        } else {
            try encoderOcclusion(model, trace)
        }
        let values = occlusion.values
        var text = occlusion.heading
        text += bars(values.map { (trace.tokens[$0.index], $0.index, $0.value) })
        if values.count < occlusion.total {
            text += "importance stopped (Ctrl-C) after \(values.count) of \(occlusion.total) tokens: the bars above are theirs\n"
        }
        if let top = values.max(by: { $0.value < $1.value }), top.value > 0 {
            text += wrap("notice: removing \(trace.tokens[top.index]) (\(top.index)) changes the most.") + "\n"
        }
        return text + "\n"
    }

    /// What `importance` measured: the lines before the bars, each token's value (fewer than
    /// `total` when Ctrl-C stopped it).
    typealias Occlusion = (heading: String, values: [(index: Int, value: Double)], total: Int)

    /// Occlusion for an encoder: how far the sentence embedding turns without each word piece.
    func encoderOcclusion(_ model: any TransformerModel, _ trace: Trace) throws -> Occlusion {
        // [CLS] and [SEP] frame every input: removing them asks a question the model never saw.
        let candidates = trace.count > 2 ? Array(1..<(trace.count - 1)) : []
        guard !candidates.isEmpty else {
            throw NotebookError.usage(command: "importance", usage: "a sentence with at least one word piece between [CLS] and [SEP]")
        }
        let full = SentenceEmbedding.meanPooled(trace)
        let values = occluding(candidates, of: trace) { ids in
            1 - SentenceEmbedding.cosine(full, SentenceEmbedding.meanPooled(model.trace(ids: ids, ablating: ablated)))
        }
        let heading = fit("importance = 1 − cos(sentence embedding, the same without token i)   (occlusion)") + "\n"
            + wrap("each word piece removed in turn ([CLS] and [SEP] stay), the model run again; a long bar: the sentence's meaning leans on that token.") + "\n"
        return (heading, values, candidates.count)
    }

    /// Occlusion for a decoder: how much the probability of today's top next token falls
    /// without each token.
    func decoderOcclusion(_ decoder: any DecoderModel, _ trace: Trace) throws -> Occlusion {
        guard trace.count > 1 else {
            throw NotebookError.usage(command: "importance", usage: "a sentence of at least two tokens (one is removed at a time)")
        }
        guard let logits = trace.logits else { throw NotebookError.noSentence }
        let next = topTokens(logits: logits.row(logits.rows - 1), count: 1, temperature: temperature)[0].id
        func probability(_ ids: [Int]) -> Double {
            var cache = KeyValueCache(layers: decoder.sizes.layers)
            let logits = decoder.forward(ids, cache: &cache, ablating: ablated)
            return Double(probabilities(logits: logits, temperature: temperature)[next])
        }
        var baseline = 0.0
        let values = occluding(Array(0..<trace.count), of: trace, first: { baseline = probability(trace.tokenIds) }) { ids in
            baseline - probability(ids)
        }
        let nextLabel = label(for: next)
        let heading = fit("importance = p(\(nextLabel)) − p(\(nextLabel) without token i)   (occlusion)") + "\n"
            + wrap("p(\(nextLabel)) = \(String(format: "%.4f", baseline)) after the whole sentence; each token removed in turn, the model run again. █: removing the token lowers p (it supports \(nextLabel)); ░: removing it raises p.") + "\n"
        return (heading, values, trace.count)
    }

    /// `measure` of the sentence without each of `candidates` in turn, with a progress line; stops
    /// early at Ctrl-C. `first` runs once the progress line is up (a baseline to compare with).
    func occluding(_ candidates: [Int], of trace: Trace, first: (() -> Void)? = nil,
                   measure: ([Int]) -> Double) -> [(index: Int, value: Double)] {
        var progress = ProgressLine(self, command: "importance", unit: "tokens", total: candidates.count)
        if let first {
            progress.update(0)
            first()
        }
        var values: [(index: Int, value: Double)] = []
        for i in candidates {
            if isInterrupted() { break }
            progress.update(values.count)
            var ids = trace.tokenIds
            ids.remove(at: i)
            values.append((i, measure(ids)))
        }
        progress.finish()
        return values
    }

    /// A horizontal bar chart: `i token  value  ████`, the longest bar filling the width;
    /// negative values get ░.
    func bars(_ rows: [(label: String, index: Int, value: Double)]) -> String {
        guard !rows.isEmpty else { return "" }
        let labels = rows.map { MatrixRenderer.truncate($0.label, to: 16) }
        let labelWidth = labels.map(MatrixRenderer.displayWidth).max() ?? 1
        let indexWidth = String(rows.map(\.index).max() ?? 0).count
        let signed = rows.contains { $0.value < 0 }
        let numbers = rows.map { String(format: signed ? "%+.4f" : "%.4f", $0.value) }
        let numberWidth = numbers.map(\.count).max() ?? 6
        let available = max(1, renderer.width - indexWidth - 2 - labelWidth - 2 - numberWidth - 2)
        let largest = rows.map { abs($0.value) }.max() ?? 0
        var text = ""
        for (n, row) in rows.enumerated() {
            let length = largest > 0 ? roundedInt(abs(row.value) / largest * Double(available), in: 0...available) ?? 0 : 0
            let bar = String(repeating: row.value < 0 ? "░" : "█", count: length)
            let line = MatrixRenderer.pad(String(row.index), indexWidth) + "  " + MatrixRenderer.pad(labels[n], labelWidth, alignLeft: true)
                + "  " + MatrixRenderer.pad(numbers[n], numberWidth) + "  " + bar
            text += MatrixRenderer.trimTrailing(line) + "\n"
        }
        return text
    }

    // MARK: plot

    /// `plot STEP PATH.svg`: a token × token step (or the rollout) as an SVG heatmap.
    func plot(_ what: String, to path: String) throws -> String {
        let trace = try requireTrace()
        let model = try requireModel()
        let target = try writeTarget(path, command: "plot \(what)", suffixes: [".svg"]) {
            NotebookError.fileType(path: $0, command: "plot", expected: "svg")
        }
        let matrix: Matrix, title: String, location: String
        if what == "rollout" {
            matrix = rolloutMatrix(trace)
            title = "rollout = Â\(model.sizes.layers - 1) · … · Â0,  Âₗ = rownorm(mean over heads of weightsₗ + I)"
            location = "layers 0…\(model.sizes.layers - 1)"
        } else {
            guard let step = Step(rawValue: what) else { throw NotebookError.unknownStep(what, suggestion: nil) }
            let m = try stepMatrix(trace, step)
            guard step.isTokenByToken else { throw NotebookError.notTokenByToken(what, shape: m.shapeDescription) }
            matrix = m
            title = header(step, m).components(separatedBy: "   [").first ?? step.rawValue
            location = "layer \(layer), head \(head)"
        }
        var subtitle = "\(describeModelShort) · \(location) · \(trace.count) tokens"
        if !ablated.isEmpty { subtitle += " · ablated \(ablationList)" }
        let heatmap = SVGHeatmap(matrix: matrix, rowLabels: trace.tokens, columnLabels: trace.tokens,
                                 title: "\(title)   \(matrix.shapeDescription)", subtitle: subtitle,
                                 format: { [renderer] in renderer.format($0) })
        try write(Data(heatmap.render().utf8), to: target)
        return "wrote \(what) (\(location)) \(matrix.shapeDescription) as an SVG heatmap to \(target.described)\n"
    }

    var describeModelShort: String { (modelSource ?? .minilm).title }

    /// `save transcript PATH.md`: every command so far with its output, as Markdown.
    func saveTranscript(to path: String) throws -> String {
        let target = try writeTarget(path, command: "save transcript", suffixes: [".md", ".markdown"]) {
            NotebookError.fileType(path: $0, command: "save transcript", expected: "md")
        }
        let markdown = transcript.markdown(model: model.map { _ in describeModelShort })
        try write(Data(markdown.utf8), to: target)
        return "wrote \(transcript.commandCount) command\(transcript.commandCount == 1 ? "" : "s") with their output to \(target.described)\n"
    }
}
