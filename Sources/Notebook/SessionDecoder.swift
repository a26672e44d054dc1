import AttnCore
import Foundation

/// The decoder's own commands: the next token, generation (greedy or sampled, or as a chat), RoPE
/// and the grouped-query map.
extension Session {
    /// The selected model as a decoder, or an error saying how to select one.
    func requireDecoder(_ command: String) throws -> any DecoderModel {
        guard let decoder = try requireModel() as? any DecoderModel else {
            throw NotebookError.lesson("\(command) needs the decoder: type model smollm2 first (minilm is an encoder and predicts no next token)")
        }
        return decoder
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
        model?.tokenLabel(id) ?? String(id)
    }

    /// `generate N`, `sample N`, `greedy N`: decoding with the KV cache from the sentence,
    /// streaming the text as it comes.
    func generate(_ count: Int, choice: DecodingChoice = .settings) throws -> String {
        let llama = try requireDecoder(choice.command)
        let trace = try requireTrace()
        return try write(prompt: sentence ?? "", ids: trace.tokenIds, count: count, rule: try decodingRule(choice),
                         decoder: llama, echo: true)
    }

    /// Which rule a decoding command asks for: the session's (`generate`), or a draw or the argmax
    /// whatever the temperature (`sample`, `greedy`).
    enum DecodingChoice {
        case settings, sample, greedy
        var command: String {
            switch self {
            case .settings: "generate"
            case .sample: "sample"
            case .greedy: "greedy"
            }
        }
    }

    /// `generate` samples when the learner chose a temperature other than 0 (the argmax) and 1
    /// (the default, which keeps `generate` greedy as it always was); `sample N` draws at any
    /// temperature above 0.
    func decodingRule(_ choice: DecodingChoice) throws -> DecodingRule {
        let sampling = DecodingRule.sampling(Sampling(temperature: temperature, topK: topK, topP: topP, seed: seed))
        switch choice {
        case .greedy:
            return .greedy
        case .sample:
            guard temperature > 0 else {
                throw NotebookError.lesson("sample draws from softmax(logits / τ), and the temperature is 0, where every draw is the argmax: set temperature 0.7 (say) first, or use greedy N")
            }
            return sampling
        case .settings:
            return temperature == 0 || temperature == 1 ? .greedy : sampling
        }
    }

    /// The rule `generate` follows now, as one line's tail.
    func decodingSummary() -> String {
        switch (try? decodingRule(.settings)) ?? .greedy {
        case let .sampling(s):
            return "generate samples from " + s.summary
        case .greedy:
            let filters = topK != nil || topP != nil
            return "generate is greedy" + (temperature == 0 ? "" : " at temperature \(String(format: "%g", Double(temperature)))")
                + "; sample N draws" + (filters || seed != 0 ? " with these" : " from softmax(logits / τ)")
        }
    }

    /// What `temperature X` says: what predict shows, and what generate now does.
    func temperatureSet() -> String {
        let x = String(format: "%g", Double(temperature))
        if temperature == 0 { return wrap("temperature 0: predict and generate take the argmax of the logits (greedy)") + "\n" }
        let generate = temperature == 1 ? "generate is greedy (sample N draws from it)" : "generate samples from it"
        return wrap("temperature \(x): predict now shows softmax(logits / \(x)); \(generate)") + "\n"
    }

    /// Writes up to `count` tokens after `ids`, streaming them (after the prompt's text when
    /// `echo`), and remembers prompt and continuation for `sentence +`.
    ///
    /// Ctrl-C is polled before every choice, so it stops before another token is shown.
    func write(prompt: String, ids: [Int], count: Int, rule: DecodingRule, decoder llama: any DecoderModel, echo: Bool) throws -> String {
        var decoder = BPETokenizer.StreamDecoder(tokenizer: llama.tokenizer)
        var collected = ""
        func emit(_ text: String) {
            if let stream { stream(text) } else { collected += text }
        }
        switch rule {
        case .greedy:
            emit(wrap("generating up to \(count) tokens greedily (argmax of the logits, with a KV cache); Ctrl-C stops") + "\n")
            if topK != nil || topP != nil || temperature != 0 && temperature != 1 {
                emit(wrap("greedy: temperature, top-k, top-p and seed apply only when sampling (sample N)") + "\n")
            }
        case let .sampling(s):
            emit(wrap("generating up to \(count) tokens by sampling (with a KV cache); Ctrl-C stops") + "\n")
            emit(wrap("sampling: " + s.summary) + "\n")
        }
        if echo { emit(prompt) }
        let endOfText = llama.tokenizer.eosId
        let produced = llama.generate(prompt: ids, count: count, rule: rule, ablating: ablated,
                                      isInterrupted: isInterrupted) { id in
            if id != endOfText { emit(decoder.push(id)) }
        }
        emit(decoder.finish())
        lastGeneration = Generation(prompt: prompt, promptIds: ids, produced: produced)
        var ending = "\(produced.count) token\(produced.count == 1 ? "" : "s")"
        if let last = produced.last, last == endOfText {
            ending += ", stopped at \(llama.tokenizer.tokenText(last))"
        } else if produced.count < count, isInterrupted() {
            ending += ", stopped by Ctrl-C"
        }
        emit("\n(\(ending))\n")
        return collected
    }

    /// `chat TEXT`: the text as the user's turn in the model's own chat template, the prompt's
    /// tokens, then the assistant's answer until it ends its turn.
    func chat(_ text: String) throws -> String {
        let llama = try requireDecoder("chat")
        guard let source = llama.chatTemplate else {
            throw NotebookError.lesson("chat needs the model's chat template, and \(llama.location) has no tokenizer.chat_template: write the prompt out with sentence \"…\" and generate N")
        }
        let prompt = try ChatTemplate(source).render([.init(role: "user", content: text)], addGenerationPrompt: true)
        let ids = llama.tokenizer.encode(prompt)
        let labels = ids.map(llama.tokenLabel)
        let header = wrap("chat: the model's chat template (tokenizer.chat_template) wraps your text: \(ids.count) tokens", indent: "  ") + "\n"
            + wrap(labels.joined(separator: " "), indent: "  ", first: "  ") + "\n"
        if let stream { stream(header) }
        let answer = try write(prompt: prompt, ids: ids, count: Self.chatLimit, rule: try decodingRule(.settings), decoder: llama, echo: false)
        let note = wrap("sentence + makes the prompt and the answer the sentence, to look at its attention.") + "\n"
        if let stream { stream(note); return "" }
        return header + answer + note
    }

    /// The most tokens `chat` writes: the prompt and the answer then still fit one trace.
    static let chatLimit = 200

    /// `sentence +`: the prompt and what was last generated become the sentence.
    func sentenceFromGeneration() throws -> String {
        let llama = try requireDecoder("sentence +")
        guard let generation = lastGeneration else {
            throw NotebookError.lesson("sentence + appends what was last generated, and nothing was: generate N, sample N or chat TEXT first")
        }
        let text = generation.prompt + llama.tokenizer.decode(generation.produced)
        var output = try run(SentenceCommand(text: text))
        let written = generation.promptIds + generation.produced
        if let ids = cachedTrace?.tokenIds, ids != written {
            output += wrap("note: read back as text, these are \(ids.count) tokens; the model wrote them as \(written.count) (the tokenizer splits some of its words differently).") + "\n"
        }
        return output
    }
    /// `rope [PAIR]`: the rotation angle of every position and pair, and one pair of this head's
    /// query before and after its rotation.
    func rope(_ pair: Int?) throws -> String {
        let llama = try requireDecoder("rope")
        let trace = try requireTrace()
        let dh = llama.sizes.headDimension, base = llama.ropeBase
        let half = dh / 2
        let i = pair ?? 0
        guard (0..<half).contains(i) else {
            throw NotebookError.usage(command: "rope", usage: "rope PAIR with PAIR in 0…\(half - 1)")
        }
        let rotation = Rotation(headDimension: dh, base: base, positions: 0..<trace.count)
        var angles = Matrix(rows: trace.count, columns: half)
        for p in 0..<trace.count { for k in 0..<half { angles[p, k] = Float(p) * rotation.frequencies[k] } }
        var text = ""
        if pair == nil {  // the table once; `rope PAIR` goes straight to the pair
            text += wrap("rope: position p turns pair k (dimensions k and k + \(half)) by the angle p · θₖ,  θₖ = \(formatScalar(base))^(−2k/\(dh))") + "\n"
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
        let c = llama.sizes
        var text = "grouped-query attention: \(c.heads) query heads share \(c.keyValueHeads) key/value heads (groups of \(c.groupSize))\n"
        for j in 0..<c.keyValueHeads {
            let heads = (j * c.groupSize..<((j + 1) * c.groupSize)).map(String.init).joined(separator: ", ")
            text += "  key/value head \(j) ← query heads \(heads)\n"
        }
        let full = c.heads * c.headDimension, shared = c.keyValueHeads * c.headDimension
        text += wrap("W_K and W_V have \(shared) columns instead of \(full): the KV cache per token and layer holds "
            + "\(2 * shared) numbers instead of \(2 * full), \(c.groupSize)× less memory.") + "\n"
        text += wrap("query head \(head) (selected) reads key/value head \(head / c.groupSize); its k and v are that head's.") + "\n"
        return text
    }
}

/// A prompt and what the decoder wrote after it.
public struct Generation: Sendable, Equatable {
    /// The prompt's text: the sentence, or a chat's templated text.
    public var prompt: String
    public var promptIds: [Int]
    /// The new ids, the end-of-text token included when the model chose it.
    public var produced: [Int]
}
