import AttnCore
import Foundation

/// What only a decoder does: predict the next token, write text, and show RoPE and the shared
/// key/value heads.
enum DecoderCommands: CommandGroup {
    static let title = "decoder"
    static let commands: [any NotebookCommand.Type] = [
        PredictCommand.self, TemperatureCommand.self, GenerateCommand.self, RopeCommand.self, KeyValueMapCommand.self,
        WindowCommand.self,
        SampleCommand.self, GreedyCommand.self, TopKCommand.self, TopPCommand.self, SeedCommand.self, ChatCommand.self,
    ]
    static func notes(_ session: Session) -> [String] {
        ["sentence + (prompt and what was generated)", "(these need a decoder: model smollm2, model gemma3, or a GPT-2)"]
    }

    /// How many new tokens `sample N` and `greedy N` write: 1…1000.
    static func count(_ word: String, _ arguments: String, usage: String) throws -> Int {
        let n = try Arguments.number(arguments, command: word, usage: usage)
        guard (1...1000).contains(n) else { throw NotebookError.usage(command: word, usage: "\(word) N with 1 ≤ N ≤ 1000") }
        return n
    }
}

/// `predict [K]`: the K most likely next tokens.
struct PredictCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["predict"], synopsis: ["predict [K]"], help: [("predict", "predict [K] (a decoder: smollm2, gemma3, GPT-2): the K most likely next tokens after the sentence: softmax of the last row of logits, divided by the temperature.")])

    static let defaultCount = 5
    static let counts = 1...100

    var count: Int

    init(word: String, arguments: String) throws {
        let usage = "predict [K] with \(Self.counts.lowerBound) ≤ K ≤ \(Self.counts.upperBound)"
        count = try Arguments.count(arguments, command: "predict", default: Self.defaultCount, range: Self.counts, usage: usage)
    }

    func run(in session: Session) throws -> String { try session.predict(count) }
}

/// `temperature X`: what `predict` divides the logits by, and whether `generate` samples.
struct TemperatureCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["temperature"], synopsis: ["temperature X"], help: [("temperature", "temperature X (a decoder), 0 ≤ X ≤ 100: predict shows softmax(logits / X); below 1 sharpens, above 1 flattens. generate samples from it when X is neither 0 (the argmax) nor 1 (the default, where generate stays greedy); sample N draws at any X above 0.")])
    var setsLessonState: Bool { true }

    var value: Float

    init(word: String, arguments: String) throws {
        guard let value = Float(arguments), value >= 0, value.isFinite, value <= 100 else {
            throw NotebookError.usage(command: "temperature", usage: "temperature X with 0 ≤ X ≤ 100, e.g. temperature 0.7 (0: the argmax)")
        }
        self.value = value
    }

    func run(in session: Session) throws -> String {
        session.temperature = value
        return session.temperatureSet()
    }
}

/// `generate N`: up to N new tokens, greedy or sampled as the settings say.
struct GenerateCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["generate"], synopsis: ["generate N"], help: [("generate", "generate N (a decoder: smollm2, gemma3, GPT-2): up to N tokens after the sentence with a KV cache, streamed as they come; Ctrl-C stops before the next one. Greedy (the argmax) at temperature 0 and 1, else sampled as sample N; the first lines say which. sentence + then makes sentence and continuation the sentence.")])

    var count: Int

    init(word: String, arguments: String) throws {
        count = try Arguments.number(arguments, command: "generate", usage: "generate N with 1 ≤ N ≤ 1000 (new tokens, greedy)")
        guard (1...1000).contains(count) else {
            throw NotebookError.numberTooLarge(command: "generate", text: arguments, usage: "generate N with 1 ≤ N ≤ 1000")
        }
    }

    func run(in session: Session) throws -> String { try session.generate(count) }
}

/// `rope [PAIR]`: the rotation angles, or one pair of this head's q before and after RoPE.
struct RopeCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["rope"], synopsis: ["rope [PAIR]"], help: [("rope", "rope [PAIR] (a decoder: smollm2, gemma3, GPT-2): the rotation angle p · θₖ of every position and pair; with PAIR, this head's q before and after RoPE for that pair.")])

    var pair: Int?

    init(word: String, arguments: String) throws {
        pair = arguments.isEmpty ? nil : try Arguments.number(arguments, command: "rope", usage: "rope [PAIR]")
    }

    func run(in session: Session) throws -> String { try session.rope(pair) }
}

/// `kvmap`: which query heads share each key/value head.
struct KeyValueMapCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["kvmap"], synopsis: ["kvmap"], help: [("kvmap", "kvmap (a decoder: smollm2, gemma3, GPT-2): which query heads share each key/value head (grouped-query attention), and what it saves.")])

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String { try session.keyValueMap() }
}

/// `window`: which keys each query may see in the selected layer (a local layer's sliding
/// window, or the whole past), and the kind of every layer.
struct WindowCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["window"], synopsis: ["window"], help: [("window", "window (a decoder: gemma3, smollm2, GPT-2): which keys each query may see in the selected layer: in gemma3's local layers only the last 512 tokens (a sliding window), in its global layers and in every other decoder's the whole past; the kind of every layer, and what a window saves.")])

    init(word: String, arguments: String) throws {
        guard arguments.isEmpty else { throw NotebookError.usage(command: "window", usage: "window (no arguments: it shows the selected layer; layer N selects another)") }
    }

    func run(in session: Session) throws -> String { try session.window() }
}

/// `sample N`: up to N tokens drawn from softmax(logits / temperature).
struct SampleCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["sample"], synopsis: ["sample N"], help: [("sample", "sample N (a decoder: smollm2, gemma3, GPT-2): up to N tokens, each drawn from softmax(logits / temperature), kept to the top-k tokens and then to the top-p nucleus (as Hugging Face's generate), with a generator seeded by seed: the same seed gives the same text on every machine.")])

    var count: Int

    init(word: String, arguments: String) throws {
        count = try DecoderCommands.count(word, arguments, usage: "sample N (new tokens, drawn from softmax(logits / temperature))")
    }

    func run(in session: Session) throws -> String { try session.generate(count, choice: .sample) }
}

/// `greedy N`: up to N tokens, each the argmax.
struct GreedyCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["greedy"], synopsis: ["greedy N"], help: [("greedy", "greedy N (a decoder: smollm2, gemma3, GPT-2): up to N tokens, each the argmax of the logits, whatever the temperature.")])

    var count: Int

    init(word: String, arguments: String) throws {
        count = try DecoderCommands.count(word, arguments, usage: "greedy N (new tokens, each the argmax of the logits)")
    }

    func run(in session: Session) throws -> String { try session.generate(count, choice: .greedy) }
}

/// `top-k K`: sampling keeps the K largest logits.
struct TopKCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["top-k"], synopsis: ["top-k K"], help: [("top-k", "top-k K (a decoder: smollm2, gemma3, GPT-2): sampling keeps only the K tokens with the largest logits (ties with the K-th stay), after the temperature; top-k off (or 0) keeps all.")])
    var setsLessonState: Bool { true }

    /// nil: every token.
    var k: Int?

    init(k: Int?) { self.k = k }

    init(word: String, arguments: String) throws {
        let usage = "top-k K with 1 ≤ K ≤ 100000, or top-k off"
        guard arguments != "off" else { k = nil; return }
        let k = try Arguments.number(arguments, command: word, usage: usage)
        guard (0...100_000).contains(k) else { throw NotebookError.usage(command: word, usage: usage) }
        self.k = k == 0 ? nil : k
    }

    func run(in session: Session) throws -> String {
        session.topK = k
        return "top-k \(k.map(String.init) ?? "off"): " + session.decodingSummary() + "\n"
    }
}

/// `top-p P`: sampling keeps the nucleus of probability P.
struct TopPCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["top-p"], synopsis: ["top-p P"], help: [("top-p", "top-p P (a decoder), 0 < P ≤ 1: after top-k, sampling keeps the smallest set of most likely tokens whose probabilities add up to at least P (at least one); top-p off (or 1) keeps all.")])
    var setsLessonState: Bool { true }

    /// nil: every token.
    var p: Double?

    init(p: Double?) { self.p = p }

    init(word: String, arguments: String) throws {
        let usage = "top-p P with 0 < P ≤ 1, e.g. top-p 0.9, or top-p off"
        guard arguments != "off" else { p = nil; return }
        guard !arguments.isEmpty else { throw NotebookError.usage(command: word, usage: usage) }
        guard let p = Double(arguments), p > 0, p <= 1 else { throw NotebookError.usage(command: word, usage: usage) }
        self.p = p == 1 ? nil : p
    }

    func run(in session: Session) throws -> String {
        session.topP = p
        return "top-p \(p.map { String(format: "%g", $0) } ?? "off"): " + session.decodingSummary() + "\n"
    }
}

/// `seed N`: where sampling's random numbers start.
struct SeedCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["seed"], synopsis: ["seed N"], help: [("seed", "seed N (a decoder: smollm2, gemma3, GPT-2): where sampling's random numbers start (SplitMix64; 0 until set). Every sample, generate or chat starts from it, so the same seed and settings give the same text; another seed, another draw. lime draws its samples from it too, on any model.")])
    var setsLessonState: Bool { true }

    var seed: UInt64

    init(word: String, arguments: String) throws {
        guard !arguments.isEmpty else { throw NotebookError.usage(command: word, usage: "seed N, a whole number 0…\(UInt64.max)") }
        guard let seed = UInt64(arguments) else { throw NotebookError.notANumber(command: word, text: arguments) }
        self.seed = seed
    }

    func run(in session: Session) throws -> String {
        session.seed = seed
        return "seed \(seed): " + session.decodingSummary() + "\n"
    }
}

/// `chat TEXT`: the text as the user's turn of the model's chat template, and the answer.
struct ChatCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["chat"], synopsis: ["chat TEXT"], help: [("chat", "chat TEXT (a decoder: smollm2, gemma3, GPT-2): your text as the user's turn in the model's own chat template (tokenizer.chat_template from the GGUF file), its tokens shown, then the assistant's answer, up to 200 tokens, until it ends its turn with <|im_end|>. Greedy or sampled as generate. sentence + then shows the attention over prompt and answer.")])

    var text: String

    init(word: String, arguments: String) throws {
        guard !arguments.isEmpty else {
            throw NotebookError.usage(command: word, usage: "chat TEXT (or chat \"…\" with escapes), e.g. chat What is the capital of France?")
        }
        text = try Arguments.sentenceText(arguments)
    }

    func run(in session: Session) throws -> String { try session.chat(text) }
}

// MARK: - What the commands do

/// The decoder's own commands: the next token, generation (greedy or sampled, or as a chat), RoPE
/// and the grouped-query map.
extension Session {
    /// The selected model as a decoder, or an error saying how to select one.
    func requireDecoder(_ command: String) throws -> any DecoderModel {
        guard let decoder = try requireModel() as? any DecoderModel else {
            throw NotebookError.lesson("\(command) needs a decoder: type model smollm2 (or model gpt2) first (\(modelName) is an encoder and predicts no next token)")
        }
        return decoder
    }

    /// `predict [K]`: the top-K next tokens after the sentence, from the last row of the logits.
    func predict(_ count: Int) throws -> String {
        _ = try requireDecoder("predict")
        let trace = try requireTrace()
        guard let last = trace.logits(row: trace.count - 1) else { throw NotebookError.noSentence }
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
        var decoder = llama.tokenizer.streamDecoder()
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
            throw NotebookError.lesson("chat needs the model's chat template, and \(modelName) has none (no tokenizer.chat_template in its files): write the prompt out with sentence \"…\" and generate N")
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
        guard let base = llama.ropeBase(layer: layer) else {
            throw NotebookError.lesson("rope: \(modelName) has no rotary position embedding; its positions are learned vectors added to the input (show position_embeddings)")
        }
        let dh = llama.sizes.headDimension
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
            if hasLocalLayers {
                // The base of each kind, from a layer of that kind.
                let layers = 0..<llama.sizes.layers
                let local = layers.first { llama.attentionWindow(layer: $0) != nil }.flatMap(llama.ropeBase(layer:)) ?? base
                let global = layers.first { llama.attentionWindow(layer: $0) == nil }.flatMap(llama.ropeBase(layer:)) ?? base
                text += wrap("layer \(layer) is \(layerKind(layer)): its base is \(formatScalar(base)); the local layers turn with base \(formatScalar(local)), the global ones with \(formatScalar(global)).") + "\n"
            }
            text += "angles p · θₖ in radians   [\(trace.count) × \(half)]\n"
            text += renderer.render(angles, rowLabels: trace.tokens)
            text += "pair 0 turns fastest (θ₀ = 1 rad per position); pair \(half - 1) barely turns (θ = \(String(format: "%.2e", Double(rotation.frequencies[half - 1])))).\n\n"
        }

        let h = trace.layers[layer].heads[head]
        // What RoPE turns: the query after QK-norm where the model has it (Gemma 3).
        guard let before = h.queriesNormalized ?? h.queriesBeforeRotation else { return text }
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

    /// `window`: the keys each query of the selected layer may see, and every layer's kind.
    ///
    /// ```
    /// local layer (window w):  query i sees keys max(0, i − w + 1) … i
    /// global layer:            query i sees keys 0 … i
    /// ```
    func window() throws -> String {
        let decoder = try requireDecoder("window")
        let trace = try requireTrace()
        let t = trace.count, layers = decoder.sizes.layers
        guard hasLocalLayers else {
            return wrap("window: every layer of \(modelName) is causal over the whole past: query i sees keys 0…i, so a text of \(t) tokens computes \(t * (t + 1) / 2) scores per head. gemma3 has local layers that see only the last 512 tokens.") + "\n"
        }
        var text = wrap("layers of \(modelName): L local (a sliding window), G global (the whole past); [ ] is layer \(layer)") + "\n  "
        text += (0..<layers).map { l in
            let kind = decoder.attentionWindow(layer: l) == nil ? "G" : "L"
            return l == layer ? "[\(kind)]" : kind
        }.joined(separator: " ") + "\n"
        guard let w = decoder.attentionWindow(layer: layer) else {
            text += wrap("layer \(layer) is global: query i sees keys 0…i, every earlier token however far back (RoPE base \(formatScalar(decoder.ropeBase(layer: layer) ?? 0))).") + "\n"
            return text + "\n"
        }
        text += wrap("layer \(layer) is local: query i sees keys max(0, i − \(w - 1))…i, itself and the \(w - 1) tokens before it; the mask is −∞ outside (RoPE base \(formatScalar(decoder.ropeBase(layer: layer) ?? 0))).") + "\n"
        // The rows where the window starts to cut, and the ends; every row for a short text.
        let rows = t <= 12 ? Array(0..<t) : Array(Set([0, 1, w - 2, w - 1, w, w + 1, t - 2, t - 1].filter { (0..<t).contains($0) })).sorted()
        var table = ["query  token" + String(repeating: " ", count: 10) + "sees keys"]
        for i in rows {
            let first = max(0, i - w + 1)
            let label = MatrixRenderer.truncate(trace.tokens[i], to: 14)
            table.append(MatrixRenderer.pad(String(i), 5) + "  " + MatrixRenderer.pad(label, 15, alignLeft: true)
                + "\(first)…\(i)  (\(i - first + 1) key\(i == first ? "" : "s"))" + (first > 0 ? ", not 0…\(first - 1)" : ""))
        }
        text += table.joined(separator: "\n") + "\n"
        let full = t * (t + 1) / 2
        let seen = (0..<t).reduce(0) { $0 + min($1 + 1, w) }
        if t <= w {
            text += wrap("notice: with \(t) tokens the window cuts nothing: a text needs more than \(w) tokens before a local layer sees less than a global one.") + "\n"
        } else {
            text += wrap("notice: this layer computes \(seen) of the \(full) scores a global layer would (\(String(format: "%.0f", 100 * Double(seen) / Double(full)))%), and its KV cache keeps at most \(w - 1) past positions however long the text.") + "\n"
        }
        return text + "\n"
    }

    /// `kvmap`: which query heads share each key/value head.
    func keyValueMap() throws -> String {
        let llama = try requireDecoder("kvmap")
        let c = llama.sizes
        guard c.groupSize > 1 else {
            return wrap("\(modelName) has no grouped-query attention: each of its \(c.heads) query heads has its own key and value head, so the KV cache holds \(2 * c.heads * c.headDimension) numbers per token and layer. smollm2 shares each key/value head among 3 query heads.") + "\n"
        }
        var text = c.keyValueHeads == 1
            ? "multi-query attention: all \(c.heads) query heads share one key/value head\n"
            : "grouped-query attention: \(c.heads) query heads share \(c.keyValueHeads) key/value heads (groups of \(c.groupSize))\n"
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
