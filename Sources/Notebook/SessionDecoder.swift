import AttnCore
import Foundation

/// The decoder's own commands: the next token, greedy generation, RoPE and the grouped-query map.
extension Session {
    /// The selected model as a decoder, or an error saying how to select one.
    func requireDecoder(_ command: String) throws -> Llama {
        guard case let .smollm2(llama) = try requireModel() else {
            throw NotebookError.lesson("\(command) needs the decoder: type model smollm2 first (minilm is an encoder and predicts no next token)")
        }
        return llama
    }

    /// `predict [K]`: the top-K next tokens after the sentence, from the last row of the logits.
    func predict(_ count: Int) throws -> String {
        _ = try requireDecoder("predict")
        let trace = try requireTrace()
        guard let logits = trace.logits, logits.rows > 0 else { throw NotebookError.noSentence }
        let last = logits.row(logits.rows - 1)
        let top = topTokens(logits: last, count: count, temperature: temperature)
        var text = "p(next token) = softmax(logits[\(trace.count - 1)] / \(String(format: "%g", Double(temperature))))   after \(trace.tokens.last ?? "")\n"
        let labels = top.map { label(for: $0.id) }
        let width = labels.map(MatrixRenderer.displayWidth).max() ?? 1
        for (rank, (candidate, label)) in zip(top, labels).enumerated() {
            let bar = String(repeating: "█", count: roundedInt(candidate.probability * 30, in: 0...30) ?? 0)
            text += MatrixRenderer.pad(String(rank + 1), 3) + "  " + MatrixRenderer.pad(label, width, alignLeft: true)
                + "  " + MatrixRenderer.pad(String(candidate.id), 5) + "  " + String(format: "%.4f", Double(candidate.probability))
                + "  " + bar + "\n"
        }
        return text + "\n"
    }

    func label(for id: Int) -> String {
        guard case let .smollm2(llama)? = model else { return String(id) }
        return Llama.visible(llama.tokenizer.tokenText(id))
    }

    /// `generate N`: greedy decoding with the KV cache, streaming the text as it comes.
    func generate(_ count: Int) throws -> String {
        let llama = try requireDecoder("generate")
        let trace = try requireTrace()
        var decoder = BPETokenizer.StreamDecoder(tokenizer: llama.tokenizer)
        var collected = ""
        func emit(_ text: String) {
            if let stream { stream(text) } else { collected += text }
        }
        emit(wrap("generating up to \(count) tokens greedily (argmax of the logits, with a KV cache); Ctrl-C stops") + "\n")
        emit(sentence ?? "")
        let produced = llama.generateGreedy(prompt: trace.tokenIds, count: count, ablating: ablated) { id in
            emit(decoder.push(id))
            return !isInterrupted()
        }
        emit(decoder.finish())
        let stopped = produced.last == llama.tokenizer.eosId ? " (stopped at end of turn)" : ""
        emit("\n(\(produced.count) tokens\(stopped))\n")
        return collected
    }

    /// `rope [PAIR]`: the rotation angle of every position and pair, and one pair of this head's
    /// query before and after its rotation.
    func rope(_ pair: Int?) throws -> String {
        let llama = try requireDecoder("rope")
        let trace = try requireTrace()
        let c = llama.configuration
        let half = c.headDimension / 2
        let i = pair ?? 0
        guard (0..<half).contains(i) else {
            throw NotebookError.usage(command: "rope", usage: "rope PAIR with PAIR in 0…\(half - 1)")
        }
        let rotation = Rotation(headDimension: c.headDimension, base: c.ropeBase, positions: 0..<trace.count)
        var angles = Matrix(rows: trace.count, columns: half)
        for p in 0..<trace.count { for k in 0..<half { angles[p, k] = Float(p) * rotation.frequencies[k] } }
        var text = ""
        if pair == nil {  // the table once; `rope PAIR` goes straight to the pair
            text += wrap("rope: position p turns pair k (dimensions k and k + \(half)) by the angle p · θₖ,  θₖ = \(formatScalar(c.ropeBase))^(−2k/\(c.headDimension))") + "\n"
            text += "angles p · θₖ in radians   [\(trace.count) × \(half)]\n"
            text += renderer.render(angles, rowLabels: trace.tokens)
            text += "pair 0 turns fastest (θ₀ = 1 rad per position); pair \(half - 1) barely turns (θ = \(String(format: "%.2e", Double(rotation.frequencies[half - 1])))).\n\n"
        }

        let h = trace.layers[layer].heads[head]
        guard let before = h.queriesBeforeRotation else { return text }
        var table = Matrix(rows: trace.count, columns: 5)
        for p in 0..<trace.count {
            table[p, 0] = angles[p, i]
            table[p, 1] = before[p, i]
            table[p, 2] = before[p, i + half]
            table[p, 3] = h.q[p, i]
            table[p, 4] = h.q[p, i + half]
        }
        text += "layer \(layer), head \(head), pair \(i): q before and after RoPE\n"
        text += "  q'ₖ = qₖ cos(pθ) − qₖ₊\(half) sin(pθ),   q'ₖ₊\(half) = qₖ₊\(half) cos(pθ) + qₖ sin(pθ)\n"
        text += renderer.render(table, rowLabels: trace.tokens,
                                columnLabels: ["angle", "q[\(i)]", "q[\(i + half)]", "q'[\(i)]", "q'[\(i + half)]"])
        text += wrap("notice: each (q[\(i)], q[\(i + half)]) keeps its length and turns by its angle; q · k then depends on the difference of the two positions.") + "\n\n"
        return text
    }

    /// `kvmap`: which query heads share each key/value head.
    func keyValueMap() throws -> String {
        let llama = try requireDecoder("kvmap")
        let c = llama.configuration
        var text = "grouped-query attention: \(c.attentionHeads) query heads share \(c.keyValueHeads) key/value heads (groups of \(c.groupSize))\n"
        for j in 0..<c.keyValueHeads {
            let heads = (j * c.groupSize..<((j + 1) * c.groupSize)).map(String.init).joined(separator: ", ")
            text += "  key/value head \(j) ← query heads \(heads)\n"
        }
        let full = c.attentionHeads * c.headDimension, shared = c.keyValueHeads * c.headDimension
        text += wrap("W_K and W_V have \(shared) columns instead of \(full): the KV cache per token and layer holds "
            + "\(2 * shared) numbers instead of \(2 * full), \(c.groupSize)× less memory.") + "\n"
        text += wrap("query head \(head) (selected) reads key/value head \(head / c.groupSize); its k and v are that head's.") + "\n"
        return text
    }
}
