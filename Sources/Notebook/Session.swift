import AttnCore
import Foundation

/// A model the notebook can step through.
public enum LoadedModel: Sendable {
    case minilm(Bert)

    /// The name the learner types (`minilm`).
    public var name: String {
        switch self { case .minilm: "minilm" }
    }
    public var layers: Int {
        switch self { case let .minilm(bert): bert.configuration.hiddenLayers }
    }
    public var heads: Int {
        switch self { case let .minilm(bert): bert.configuration.attentionHeads }
    }
    public var headDimension: Int {
        switch self { case let .minilm(bert): bert.configuration.headDimension }
    }
    public var modelDimension: Int {
        switch self { case let .minilm(bert): bert.configuration.hiddenSize }
    }
    public func trace(_ text: String) throws -> Trace {
        switch self { case let .minilm(bert): try bert.trace(text) }
    }
}

/// A notebook session: the selected model, sentence, layer and head, and the commands that show
/// and export each step of the forward pass.
///
/// The session does not know about terminals: it takes lines and returns text. The executable
/// feeds it from readline, a pipe or a script; the tests feed it scripted lines.
public final class Session {
    /// How output looks.
    public var renderer: MatrixRenderer
    /// Where models are found when `model` names no path.
    public let environment: [String: String]
    /// The directory relative paths are resolved against (for `export`).
    public let workingDirectory: String

    public private(set) var model: LoadedModel?
    public private(set) var sentence: String?
    public private(set) var layer = 0
    public private(set) var head = 0
    private var cachedTrace: Trace?

    public init(renderer: MatrixRenderer = MatrixRenderer(),
                environment: [String: String] = ProcessInfo.processInfo.environment,
                workingDirectory: String = FileManager.default.currentDirectoryPath) {
        self.renderer = renderer
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// The prompt: the model, layer and head, e.g. `minilm L2 H7> `.
    public var prompt: String {
        "\(model?.name ?? "minilm") L\(layer) H\(head)> "
    }

    /// Runs one line and returns what it prints (possibly empty).
    /// - Throws: `NotebookError` for anything the learner can fix; the session is unchanged then.
    public func execute(_ line: String) throws -> String {
        do {
            return try run(try Command.parse(line))
        } catch let error as AttnError {
            throw NotebookError.core(error)
        }
    }

    /// Whether the last command asked to leave.
    public private(set) var wantsToQuit = false

    func run(_ command: Command) throws -> String {
        switch command {
        case .nothing:
            return ""
        case let .model(name, path):
            try loadModel(name: name, path: path)
            return "model \(name): \(describeModel())\n"
        case let .sentence(text):
            guard !text.trimmingWhitespace().isEmpty else { throw NotebookError.emptySentence }
            let model = try requireModel()
            let trace = try model.trace(text)  // tokenize and run now: a bad sentence changes nothing
            sentence = text
            cachedTrace = trace
            return "sentence: \(trace.count) tokens: \(trace.tokens.joined(separator: " "))\n"
        case let .layer(n):
            let model = try requireModel()
            guard (0..<model.layers).contains(n) else {
                throw NotebookError.layerOutOfRange(n, model: model.name, layers: model.layers)
            }
            layer = n
            return ""
        case let .head(n):
            let model = try requireModel()
            guard (0..<model.heads).contains(n) else {
                throw NotebookError.headOutOfRange(n, model: model.name, heads: model.heads)
            }
            head = n
            return ""
        case .tokens:
            return try showTokens()
        case let .show(step):
            return try show(step)
        case let .export(what, path):
            return try export(what, to: path)
        case let .precision(n):
            renderer.precision = n
            return ""
        case let .help(topic):
            return try help(topic)
        case .quit:
            wantsToQuit = true
            return ""
        }
    }

    // MARK: Model and trace

    /// Loads a model; on failure the previous model stays selected.
    func loadModel(name: String, path: String?) throws {
        guard let source = ModelSource.named(name) else { throw NotebookError.unknownModel(name) }
        let directory: String
        if let path {
            directory = resolve(path)
        } else {
            directory = ModelStore.directory(for: source, environment: environment)
            guard ModelStore.isPresent(source, in: directory) else {
                throw AttnError.weightsMissing(model: source.title, directory: directory, fetchCommand: source.fetchCommand)
            }
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw AttnError.fileUnreadable(path: directory, reason: "not a directory holding \(Bert.requiredFiles.joined(separator: ", "))")
        }
        let bert = try Bert(directory: directory)
        let loaded = LoadedModel.minilm(bert)
        // The sentence is kept; it is traced again with the new weights.
        var trace: Trace?
        if let sentence { trace = try loaded.trace(sentence) }
        model = loaded
        cachedTrace = trace
        layer = min(layer, loaded.layers - 1)
        head = min(head, loaded.heads - 1)
    }

    /// The selected model, loading the default one on first use.
    func requireModel() throws -> LoadedModel {
        if let model { return model }
        try loadModel(name: "minilm", path: nil)
        return model!
    }

    /// The forward pass of the current sentence.
    func requireTrace() throws -> Trace {
        _ = try requireModel()
        guard let trace = cachedTrace else { throw NotebookError.noSentence }
        return trace
    }

    func describeModel() -> String {
        guard let model else { return "" }
        switch model {
        case let .minilm(bert):
            let c = bert.configuration
            return "all-MiniLM-L6-v2 (BERT encoder): \(c.hiddenLayers) layers, \(c.attentionHeads) heads, d_model \(c.hiddenSize), dₕ \(c.headDimension), from \(bert.directory)"
        }
    }

    func resolve(_ path: String) -> String {
        var path = path
        if path == "~" || path.hasPrefix("~/") { path = (environment["HOME"] ?? NSHomeDirectory()) + path.dropFirst() }
        return path.hasPrefix("/") ? path : workingDirectory + "/" + path
    }

    // MARK: Showing steps

    func showTokens() throws -> String {
        let trace = try requireTrace()
        var lines = ["tokens   \(trace.count) tokens: [CLS], \(trace.count - 2) word pieces, [SEP]"]
        let idWidth = max(2, trace.tokenIds.map { String($0).count }.max() ?? 2)
        let indexWidth = max(1, String(trace.count - 1).count)
        lines.append(MatrixRenderer.pad("i", indexWidth) + "  " + MatrixRenderer.pad("id", idWidth) + "  token")
        for (i, (id, token)) in zip(trace.tokenIds, trace.tokens).enumerated() {
            lines.append(MatrixRenderer.pad(String(i), indexWidth) + "  " + MatrixRenderer.pad(String(id), idWidth) + "  " + token)
        }
        return lines.joined(separator: "\n") + "\n\n"
    }

    /// A step's header, where it was computed, its checkpoint tensors, and the matrix labelled
    /// with the tokens.
    func show(_ step: Step) throws -> String {
        let trace = try requireTrace()
        let matrix = trace.matrix(step, layer: layer, head: head)
        var text = header(step, matrix) + "\n"
        for line in provenance(step) { text += line + "\n" }
        text += renderer.render(matrix, rowLabels: trace.tokens, columnLabels: step.isTokenByToken ? trace.tokens : nil)
        return text + "\n"  // a blank line between one matrix and the next command's output
    }

    /// `scaled = scores / √32   [8 × 8]`
    func header(_ step: Step, _ matrix: Matrix) -> String {
        guard let model else { return step.rawValue }
        let dh = model.headDimension
        var formula = StepInfo.info(step).formula
            .replacingOccurrences(of: "{D}", with: String(dh))
            .replacingOccurrences(of: "{L}", with: String(layer))
            .replacingOccurrences(of: "{LASTHEAD}", with: String(model.heads - 1))
        if step == .x { formula += layer > 0 ? " = out of layer \(layer - 1)" : " = embeddings" }
        return "\(formula)   \(matrix.shapeDescription)"
    }

    /// Where a step was computed: the layer and head, and the checkpoint tensors it used.
    func provenance(_ step: Step) -> [String] {
        guard case let .minilm(bert)? = model else { return [] }
        let c = bert.configuration
        let d = c.hiddenSize, dh = c.headDimension
        let headRows = "\(head * dh)…\((head + 1) * dh - 1)"
        func name(_ f: BertWeights.Field) -> String { BertWeights.checkpointName(f, layer: layer) }
        let location: String
        switch step.scope {
        case .sentence: location = ""
        case .layer: location = "layer \(layer)"
        case .head: location = "layer \(layer), head \(head)"
        }
        func projection(_ symbol: String, _ weight: BertWeights.Field, _ bias: BertWeights.Field) -> [String] {
            ["\(location): the head's \(dh) rows of the \(d) × \(d) weight, transposed",
             "  \(symbol) = \(name(weight))[\(headRows)]ᵀ",
             "  b\(symbol.dropFirst()) = \(name(bias))[\(headRows)]"]
        }
        func linear(_ symbol: String, _ weight: BertWeights.Field, _ bias: BertWeights.Field, _ shape: String) -> [String] {
            ["\(location): \(symbol) = \(name(weight))ᵀ  \(shape)",
             "  b\(symbol.dropFirst()) = \(name(bias))"]
        }
        func norm(_ weight: BertWeights.Field, _ bias: BertWeights.Field) -> [String] {
            ["\(location.isEmpty ? "" : location + ": ")γ = \(name(weight))",
             "  β = \(name(bias))"]
        }
        switch step {
        case .tokenEmbeddings: return ["E_token = \(name(.wordEmbeddings))  [\(c.vocabularySize) × \(d)]"]
        case .positionEmbeddings: return ["E_position = \(name(.positionEmbeddings))  [\(c.maximumPositions) × \(d)]"]
        case .typeEmbeddings: return ["E_type = \(name(.typeEmbeddings))  [\(c.typeVocabularySize) × \(d)]"]
        case .embeddings: return norm(.embeddingNormWeight, .embeddingNormBias)
        case .q: return projection("W_Q", .queryWeight, .queryBias)
        case .k: return projection("W_K", .keyWeight, .keyBias)
        case .v: return projection("W_V", .valueWeight, .valueBias)
        case .attentionOutput: return linear("W_O", .attentionOutputWeight, .attentionOutputBias, "[\(d) × \(d)]")
        case .attentionNorm: return norm(.attentionNormWeight, .attentionNormBias)
        case .feedForwardHidden: return linear("W₁", .intermediateWeight, .intermediateBias, "[\(d) × \(c.intermediateSize)]")
        case .feedForwardOutput: return linear("W₂", .outputWeight, .outputBias, "[\(c.intermediateSize) × \(d)]")
        case .out: return norm(.outputNormWeight, .outputNormBias)
        case .masked: return ["\(location): no cell is masked (one sentence, no padding)"]
        default: return location.isEmpty ? [] : [location]
        }
    }

    // MARK: Export

    /// Writes a whole step (or the tokens) to a file, atomically.
    func export(_ what: String, to path: String) throws -> String {
        let trace = try requireTrace()
        let target = resolve(path)
        let lower = path.lowercased()
        if what == "tokens" {
            let text = zip(trace.tokenIds, trace.tokens).map { "\($0)\t\($1)\n" }.joined()
            try AtomicFile.write(Data(text.utf8), to: target)
            return "wrote \(trace.count) tokens to \(path)\n"
        }
        guard let step = Step(rawValue: what) else { throw NotebookError.unknownStep(what, suggestion: nil) }
        let matrix = trace.matrix(step, layer: layer, head: head)
        var info = stat()
        let kind = stat(target, &info) == 0 ? info.st_mode & S_IFMT : 0
        guard kind != S_IFDIR else { throw AttnError.fileUnwritable(path: path, reason: "it is a directory") }
        let isDevice = kind != 0 && kind != S_IFREG
        let data: Data
        if lower.hasSuffix(".npy") {
            data = NumPyFile.encode(values: matrix.values, shape: [matrix.rows, matrix.columns])
        } else if lower.hasSuffix(".csv") || isDevice {  // a device (/dev/stdout) gets text
            var text = ""
            for i in 0..<matrix.rows {
                text += matrix.row(i).map { String(format: "%.9g", Double($0)) }.joined(separator: ",") + "\n"
            }
            data = Data(text.utf8)
        } else {
            throw NotebookError.exportFormat(path: path)
        }
        try AtomicFile.write(data, to: target)
        let location = step.scope == .head ? " (layer \(layer), head \(head))" : step.scope == .layer ? " (layer \(layer))" : ""
        return "wrote \(step.rawValue)\(location) \(matrix.shapeDescription) to \(path)\n"
    }

    // MARK: Help

    func help(_ topic: String?) throws -> String {
        guard let topic else {
            return """
                select    model minilm [PATH]   sentence TEXT | sentence "…"   layer N   head N
                steps     tokens  \(StepInfo.names.prefix(4).joined(separator: " "))
                          \(StepInfo.names.dropFirst(4).prefix(9).joined(separator: " "))
                          \(StepInfo.names.dropFirst(13).joined(separator: " "))
                export    export STEP PATH.npy | PATH.csv    export tokens PATH
                view      precision N
                other     help [STEP]   quit

                """
        }
        if let step = Step(rawValue: topic) {
            let info = StepInfo.info(step)
            return "\(info.formula)\n\(info.explanation)\n"
        }
        switch topic {
        case "tokens": return "tokens: the word pieces of the sentence with their ids; [CLS] starts it and [SEP] ends it.\n"
        case "export": return "export STEP PATH: writes the whole step as .npy (float32, C order) or .csv; export tokens PATH writes id<TAB>token lines.\n"
        default:
            throw NotebookError.unknownStep(topic, suggestion: closest(to: topic, in: Command.words))
        }
    }
}
