import AttnCore
import Foundation

/// What only a decoder does: predict the next token, write text, and show RoPE and the shared
/// key/value heads.
enum DecoderCommands: CommandGroup {
    static let title = "decoder"
    static let commands: [any NotebookCommand.Type] = [
        PredictCommand.self, TemperatureCommand.self, GenerateCommand.self, RopeCommand.self, KeyValueMapCommand.self,
        SampleCommand.self, GreedyCommand.self, TopKCommand.self, TopPCommand.self, SeedCommand.self, ChatCommand.self,
    ]
    static func notes(_ session: Session) -> [String] {
        ["sentence + (prompt and what was generated)", "(these need model smollm2)"]
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
    static let definition = CommandDefinition(words: ["predict"], synopsis: ["predict [K]"], help: [("predict", "predict [K] (smollm2): the K most likely next tokens after the sentence: softmax of the last row of logits, divided by the temperature.")])

    var count: Int

    init(word: String, arguments: String) throws {
        let usage = "predict [K] with 1 ≤ K ≤ 100"
        count = arguments.isEmpty ? 5 : try Arguments.number(arguments, command: "predict", usage: usage)
        guard (1...100).contains(count) else { throw NotebookError.numberTooLarge(command: "predict", text: arguments, usage: usage) }
    }

    func run(in session: Session) throws -> String { try session.predict(count) }
}

/// `temperature X`: what `predict` divides the logits by, and whether `generate` samples.
struct TemperatureCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["temperature"], synopsis: ["temperature X"], help: [("temperature", "temperature X (smollm2), 0 ≤ X ≤ 100: predict shows softmax(logits / X); below 1 sharpens, above 1 flattens. generate samples from it when X is neither 0 (the argmax) nor 1 (the default, where generate stays greedy); sample N draws at any X above 0.")])
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
    static let definition = CommandDefinition(words: ["generate"], synopsis: ["generate N"], help: [("generate", "generate N (smollm2): up to N tokens after the sentence with a KV cache, streamed as they come; Ctrl-C stops before the next one. Greedy (the argmax) at temperature 0 and 1, else sampled as sample N; the first lines say which. sentence + then makes sentence and continuation the sentence.")])

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
    static let definition = CommandDefinition(words: ["rope"], synopsis: ["rope [PAIR]"], help: [("rope", "rope [PAIR] (smollm2): the rotation angle p · θₖ of every position and pair; with PAIR, this head's q before and after RoPE for that pair.")])

    var pair: Int?

    init(word: String, arguments: String) throws {
        pair = arguments.isEmpty ? nil : try Arguments.number(arguments, command: "rope", usage: "rope [PAIR]")
    }

    func run(in session: Session) throws -> String { try session.rope(pair) }
}

/// `kvmap`: which query heads share each key/value head.
struct KeyValueMapCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["kvmap"], synopsis: ["kvmap"], help: [("kvmap", "kvmap (smollm2): which query heads share each key/value head (grouped-query attention), and what it saves.")])

    init(word: String, arguments: String) {}

    func run(in session: Session) throws -> String { try session.keyValueMap() }
}

/// `sample N`: up to N tokens drawn from softmax(logits / temperature).
struct SampleCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["sample"], synopsis: ["sample N"], help: [("sample", "sample N (smollm2): up to N tokens, each drawn from softmax(logits / temperature), kept to the top-k tokens and then to the top-p nucleus (as Hugging Face's generate), with a generator seeded by seed: the same seed gives the same text on every machine.")])

    var count: Int

    init(word: String, arguments: String) throws {
        count = try DecoderCommands.count(word, arguments, usage: "sample N (new tokens, drawn from softmax(logits / temperature))")
    }

    func run(in session: Session) throws -> String { try session.generate(count, choice: .sample) }
}

/// `greedy N`: up to N tokens, each the argmax.
struct GreedyCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["greedy"], synopsis: ["greedy N"], help: [("greedy", "greedy N (smollm2): up to N tokens, each the argmax of the logits, whatever the temperature.")])

    var count: Int

    init(word: String, arguments: String) throws {
        count = try DecoderCommands.count(word, arguments, usage: "greedy N (new tokens, each the argmax of the logits)")
    }

    func run(in session: Session) throws -> String { try session.generate(count, choice: .greedy) }
}

/// `top-k K`: sampling keeps the K largest logits.
struct TopKCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["top-k"], synopsis: ["top-k K"], help: [("top-k", "top-k K (smollm2): sampling keeps only the K tokens with the largest logits (ties with the K-th stay), after the temperature; top-k off (or 0) keeps all.")])
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
    static let definition = CommandDefinition(words: ["top-p"], synopsis: ["top-p P"], help: [("top-p", "top-p P (smollm2), 0 < P ≤ 1: after top-k, sampling keeps the smallest set of most likely tokens whose probabilities add up to at least P (at least one); top-p off (or 1) keeps all.")])
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
    static let definition = CommandDefinition(words: ["seed"], synopsis: ["seed N"], help: [("seed", "seed N (smollm2): where sampling's random numbers start (SplitMix64; 0 until set). Every sample, generate or chat starts from it, so the same seed and settings give the same text; another seed, another draw.")])
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
    static let definition = CommandDefinition(words: ["chat"], synopsis: ["chat TEXT"], help: [("chat", "chat TEXT (smollm2): your text as the user's turn in the model's own chat template (tokenizer.chat_template from the GGUF file), its tokens shown, then the assistant's answer, up to 200 tokens, until it ends its turn with <|im_end|>. Greedy or sampled as generate. sentence + then shows the attention over prompt and answer.")])

    var text: String

    init(word: String, arguments: String) throws {
        guard !arguments.isEmpty else {
            throw NotebookError.usage(command: word, usage: "chat TEXT (or chat \"…\" with escapes), e.g. chat What is the capital of France?")
        }
        text = try Arguments.sentenceText(arguments)
    }

    func run(in session: Session) throws -> String { try session.chat(text) }
}
