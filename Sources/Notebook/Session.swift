import AttnCore
import Foundation

/// A model the notebook can step through.
public enum LoadedModel: Sendable {
    case minilm(Bert)
    case smollm2(Llama)

    /// The name the learner types (`minilm`, `smollm2`).
    public var name: String {
        switch self {
        case .minilm: "minilm"
        case .smollm2: "smollm2"
        }
    }
    public var isDecoder: Bool {
        if case .smollm2 = self { return true }
        return false
    }
    public var layers: Int {
        switch self {
        case let .minilm(bert): bert.configuration.hiddenLayers
        case let .smollm2(llama): llama.configuration.hiddenLayers
        }
    }
    public var heads: Int {
        switch self {
        case let .minilm(bert): bert.configuration.attentionHeads
        case let .smollm2(llama): llama.configuration.attentionHeads
        }
    }
    public var headDimension: Int {
        switch self {
        case let .minilm(bert): bert.configuration.headDimension
        case let .smollm2(llama): llama.configuration.headDimension
        }
    }
    public var modelDimension: Int {
        switch self {
        case let .minilm(bert): bert.configuration.hiddenSize
        case let .smollm2(llama): llama.configuration.hiddenSize
        }
    }
    public func trace(_ text: String, ablating ablated: Set<Attention.HeadIndex> = []) throws -> Trace {
        switch self {
        case let .minilm(bert): try bert.trace(text, ablating: ablated)
        case let .smollm2(llama): try llama.trace(text, ablating: ablated)
        }
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

    /// The temperature `predict` divides the logits by.
    public internal(set) var temperature: Float = 1
    /// Where long-running commands (`generate`) write text as it comes; without it, they return it.
    public var stream: ((String) -> Void)?
    /// Whether the learner asked to stop (Ctrl-C); long-running commands check it.
    public var isInterrupted: () -> Bool = { false }

    /// Whether a person is at the keyboard: `walk` then waits for Enter between steps.
    public var interactive = false

    public private(set) var model: LoadedModel?
    public private(set) var sentence: String?
    public private(set) var layer = 0
    public private(set) var head = 0
    var cachedTrace: Trace?
    /// The forward pass of the current sentence (with the ablated heads zeroed), if there is one.
    public var currentTrace: Trace? { cachedTrace }
    /// Every command run so far with its output, for `save transcript`.
    var transcript = Transcript()
    /// Heads whose output is zeroed (`ablate head L H`); every step downstream reflects it.
    public internal(set) var ablated: Set<Attention.HeadIndex> = []
    /// The steps `walk` has still to show, when walking interactively.
    public private(set) var pendingWalk: [Step] = []

    /// Where lessons are found (`Lessons/` of the repository, or `--lessons`).
    public var lessonsDirectory: String?
    /// Where lesson progress is remembered across sessions (nil: not remembered).
    public var progressPath: String?
    /// The lesson being followed.
    var activeLesson: ActiveLesson?

    /// Names the learner bound with `NAME = EXPR`.
    public internal(set) var learnerNames: [String: MathValue] = [:]
    /// Names the session binds to the selected layer and head for the learner's math.
    public static let boundNames = ["X", "Q", "K", "V", "W_Q", "W_K", "W_V", "b_Q", "b_K", "b_V", "W_O", "b_O",
                                    "scores", "scaled", "masked", "M", "weights", "Z", "dk", "T", "ids",
                                    "W_1", "b_1", "W_2", "b_2", "gamma_attn", "beta_attn", "gamma_out", "beta_out",
                                    "gamma_emb", "beta_emb",
                                    "H", "Q_pre", "K_pre", "g_attn", "g_ffn", "W_gate", "W_up", "W_down", "COS", "SIN", "E", "g_final"]

    /// The steps of one head's attention and its layer, in the order `walk` shows them.
    public static let walkSteps: [Step] = [.x, .q, .k, .v, .scores, .scaled, .masked, .weights, .z, .attentionOutput, .out]

    public init(renderer: MatrixRenderer = MatrixRenderer(),
                environment: [String: String] = ProcessInfo.processInfo.environment,
                workingDirectory: String = FileManager.default.currentDirectoryPath) {
        self.renderer = renderer
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// The prompt: the model, layer and head, e.g. `minilm L2 H7> `.
    public var prompt: String {
        let ablation = ablated.isEmpty ? "" : " −" + ablated.sorted().map { "L\($0.layer)H\($0.head)" }.joined(separator: ",")
        return "\(model?.name ?? "minilm") L\(layer) H\(head)\(ablation)> "
    }

    /// Runs the forward pass again for the current sentence (after the ablated heads changed).
    func retrace() throws {
        guard let model, let sentence else { return }
        cachedTrace = try model.trace(sentence, ablating: ablated)
    }

    /// Runs one line and returns what it prints (possibly empty).
    /// - Throws: `NotebookError` for anything the learner can fix; the session is unchanged then.
    public func execute(_ line: String) throws -> String {
        try recording(line) { try executeLine(line) }
    }

    /// `execute` without recording the line for `save transcript`.
    func executeLine(_ line: String) throws -> String {
        do {
            let command: Command
            do {
                command = try Command.parse(line)
            } catch let error as NotebookError {
                // Not a command: the learner's own math, if it looks like math.
                guard case let .unknownCommand(word, suggestion) = error else { throw error }
                // A lone unknown word is a mistyped name rather than a mistyped command when it
                // looks like one of the math's names (capitalised, or no command is close).
                let lone = MathSyntax.isName(word) && line.trimmingWhitespace() == word
                let misspeltName = lone && (word.first?.isUppercase == true
                    || (suggestion == nil && closest(to: word, in: mathNames) != nil))
                guard misspeltName || MathSyntax.looksLikeMath(line, knownNames: mathNames) else { throw error }
                pendingWalk = []
                return try math(line)
            }
            let enter = command == .nothing && line.trimmingWhitespace().isEmpty
            // While walking, Enter shows the next step; any other command ends the walk.
            if !pendingWalk.isEmpty {
                if enter { return try walkNext() }
                pendingWalk = []
            }
            // In a lesson, Enter runs the lesson's next block.
            if enter, activeLesson != nil { return try lessonNext() }
            return try run(command)
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
            let dropped = try loadModel(name: name, path: path)
            return wrap("model \(name): \(describeModel())", indent: "  ") + "\n"
                + (sentence.map { "sentence: \(cachedTrace?.count ?? 0) tokens: \(cachedTokens.joined(separator: " ")) (\($0.count) characters)\n" } ?? "")
                + (dropped.map { wrap("sentence dropped: \($0)", indent: "  ") + "\n" } ?? "")
        case let .sentence(text):
            guard !text.trimmingWhitespace().isEmpty else { throw NotebookError.emptySentence }
            let model = try requireModel()
            let trace = try model.trace(text, ablating: ablated)  // tokenize and run now: a bad sentence changes nothing
            sentence = text
            cachedTrace = trace
            return wrap("sentence: \(trace.count) token\(trace.count == 1 ? "" : "s"): \(trace.tokens.joined(separator: " "))", indent: "  ") + "\n"
        case let .layer(selection):
            let model = try requireModel()
            let n = selection.resolve(from: layer)
            guard (0..<model.layers).contains(n) else {
                throw NotebookError.layerOutOfRange(n, model: model.name, layers: model.layers)
            }
            layer = n
            return ""
        case let .head(selection):
            let model = try requireModel()
            let n = selection.resolve(from: head)
            guard (0..<model.heads).contains(n) else {
                throw NotebookError.headOutOfRange(n, model: model.name, heads: model.heads)
            }
            head = n
            return ""
        case .tokens:
            return try showTokens()
        case let .show(step, rows, columns):
            return try show(step, rows: rows, columns: columns)
        case .walk:
            _ = try requireTrace()
            pendingWalk = Self.walkSteps
            if !interactive {
                var text = ""
                while !pendingWalk.isEmpty { text += try walkNext() }
                return text
            }
            return try walkNext()
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
        case .lessons:
            return listLessons()
        case let .lesson(which):
            return try startLesson(which)
        case .lessonStop:
            return try stopLesson()
        case .next:
            return try lessonNext()
        case .back:
            return try lessonBack()
        case .whereAmI:
            return try lessonWhere()
        case .hint:
            return try lessonHint()
        case .skip:
            return try lessonSkip()
        case let .check(expression, step):
            return try check(expression, against: step)
        case .names:
            return try listNames()
        case let .predict(count):
            return try predict(count)
        case let .temperature(value):
            guard value > 0, value.isFinite, value <= 100 else {
                throw NotebookError.usage(command: "temperature", usage: "temperature X with 0 < X ≤ 100, e.g. temperature 0.7")
            }
            temperature = value
            return "temperature \(String(format: "%g", Double(value))): predict now shows softmax(logits / \(String(format: "%g", Double(value))))\n"
        case let .generate(count):
            return try generate(count)
        case let .rope(pair):
            return try rope(pair)
        case .keyValueMap:
            return try keyValueMap()
        case let .heads(allLayers):
            return try headsSummary(allLayers: allLayers)
        case let .neuron(query, key):
            return try neuron(query: query, key: key)
        case .rollout:
            return try showRollout()
        case let .ablate(layer, head):
            return try ablate(layer: layer, head: head)
        case .ablateClear:
            return try clearAblation()
        case .importance:
            return try importance()
        case let .plot(what, path):
            return try plot(what, to: path)
        case let .saveTranscript(path):
            return try saveTranscript(to: path)
        }
    }

    // MARK: Model and trace

    /// Loads a model; on failure the previous model stays selected.
    /// - Returns: why the sentence was dropped, when the new model cannot trace it (too long).
    @discardableResult
    func loadModel(name: String, path: String?) throws -> String? {
        guard let source = ModelSource.named(name) else { throw NotebookError.unknownModel(name) }
        let location: String
        if let path {
            location = resolve(path)
        } else {
            location = ModelStore.directory(for: source, environment: environment)
            guard ModelStore.isPresent(source, in: location) else {
                throw AttnError.weightsMissing(model: source.title, directory: location, fetchCommand: source.fetchCommand)
            }
        }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: location, isDirectory: &isDirectory)
        let loaded: LoadedModel
        switch source.name {
        case "smollm2":
            guard exists else { throw AttnError.fileUnreadable(path: location, reason: "no such .gguf file or directory") }
            loaded = .smollm2(try Llama(path: location))
        default:
            guard exists, isDirectory.boolValue else {
                throw AttnError.fileUnreadable(path: location, reason: "not a directory holding \(Bert.requiredFiles.joined(separator: ", "))")
            }
            loaded = .minilm(try Bert(directory: location))
        }
        // The sentence is kept; it is traced again with the new weights (if it fits).
        var trace: Trace?
        var dropped: String?
        ablated = []  // head numbers belong to one model
        if let sentence {
            do { trace = try loaded.trace(sentence) } catch { dropped = "\(error)" }
        }
        model = loaded
        cachedTrace = trace
        if trace == nil { sentence = nil }
        layer = min(layer, loaded.layers - 1)
        head = min(head, loaded.heads - 1)
        return dropped
    }

    /// The selected model, loading the default one on first use.
    func requireModel() throws -> LoadedModel {
        if let model { return model }
        try loadModel(name: "minilm", path: nil)
        return model!
    }

    /// The tokens of the current sentence (none before one is set).
    var cachedTokens: [String] { cachedTrace?.tokens ?? [] }

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
            return "all-MiniLM-L6-v2 (BERT encoder): \(c.hiddenLayers) layers, \(c.attentionHeads) heads, d_model \(c.hiddenSize), dₕ \(c.headDimension), from \(whereFrom(bert.directory, .minilm))"
        case let .smollm2(llama):
            let c = llama.configuration
            return "SmolLM2-135M-Instruct (Llama decoder): \(c.hiddenLayers) layers, \(c.attentionHeads) query heads sharing \(c.keyValueHeads) key/value heads, d_model \(c.hiddenSize), dₕ \(c.headDimension), from \(whereFrom(llama.path, .smollm2))"
        }
    }

    /// "the attn cache" for the default location (so transcripts are the same on every machine),
    /// else the path itself.
    func whereFrom(_ path: String, _ source: ModelSource) -> String {
        let directory = ModelStore.directory(for: source, environment: environment)
        return path == directory || path.hasPrefix(directory + "/") ? "the attn cache" : path
    }

    func resolve(_ path: String) -> String {
        var path = path
        if path == "~" || path.hasPrefix("~/") { path = (environment["HOME"] ?? NSHomeDirectory()) + path.dropFirst() }
        return path.hasPrefix("/") ? path : workingDirectory + "/" + path
    }

    // MARK: Showing steps

    func showTokens() throws -> String {
        let trace = try requireTrace()
        var lines = [model?.isDecoder == true
            ? "tokens   \(trace.count) tokens (· is a space, ↵ a line end)"
            : "tokens   \(trace.count) tokens: [CLS], \(trace.count - 2) word pieces, [SEP]"]
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
    func show(_ step: Step, rows: Slice? = nil, columns: Slice? = nil) throws -> String {
        let trace = try requireTrace()
        let full = try stepMatrix(trace, step)
        let rowRange = try rows?.range(in: full.rows, axis: "rows") ?? 0..<full.rows
        let columnRange = try columns?.range(in: full.columns, axis: "columns") ?? 0..<full.columns
        let matrix = full.rows(rowRange).columns(columnRange)
        var text = header(step, full) + "\n"
        for line in provenance(step) { text += line + "\n" }
        if rows != nil || columns != nil {
            text += "showing rows \(rowRange.lowerBound)…\(rowRange.upperBound - 1), columns \(columnRange.lowerBound)…\(columnRange.upperBound - 1)\n"
        }
        let columnLabels = step.isTokenByToken ? Array(trace.tokens[columnRange]) : nil
        text += renderer.render(matrix, rowLabels: Array(trace.tokens[rowRange]), columnLabels: columnLabels,
                                rowOffset: rowRange.lowerBound, columnOffset: columnRange.lowerBound,
                                shade: step.isTokenByToken)
        if rows == nil, columns == nil, let notice = Notice.line(for: step, trace: trace, layer: layer, head: head,
                                                                 headDimension: model?.headDimension ?? 1,
                                                                 decoder: model?.isDecoder == true) {
            text += wrap(notice) + "\n"
        }
        return text + "\n"  // a blank line between one matrix and the next command's output
    }

    /// The next step of a walk, with a line saying what comes after it.
    func walkNext() throws -> String {
        guard !pendingWalk.isEmpty else { return "" }
        let step = pendingWalk.removeFirst()
        let index = Self.walkSteps.count - pendingWalk.count
        var text = "── step \(index) of \(Self.walkSteps.count): \(step.rawValue) ──\n" + (try show(step))
        if interactive {
            text += pendingWalk.first.map { "(Enter: next step, \($0.rawValue); any command ends the walk)\n" } ?? "(end of the walk)\n"
        }
        return text
    }

    /// Breaks a long line at spaces to fit the width; later lines start with `indent`, the first
    /// with `first`.
    func wrap(_ text: String, indent: String = "", first: String = "") -> String {
        var lines: [String] = [], line = first
        for word in unbreakableWords(text) {
            let fresh = line.allSatisfy { $0 == " " }
            if !fresh && MatrixRenderer.displayWidth(line + " " + word) > renderer.width {
                lines.append(line)
                line = indent + word
            } else {
                line += (fresh ? "" : " ") + word
            }
        }
        if !line.isEmpty { lines.append(line) }
        return lines.joined(separator: "\n")
    }

    /// A number in subscript digits: 11 → ₁₁.
    func subscripted(_ n: Int) -> String {
        let digits = Array("₀₁₂₃₄₅₆₇₈₉")
        return String(String(n).compactMap { $0.wholeNumberValue.map { digits[$0] } })
    }

    /// The steps the selected model has (the encoder's before a model is chosen).
    var availableSteps: [Step] {
        model?.isDecoder == true ? StepInfo.decoderSteps : StepInfo.encoderSteps
    }

    /// The matrix of a step at the selected layer and head, or an error saying which model has it.
    func stepMatrix(_ trace: Trace, _ step: Step) throws -> Matrix {
        guard let matrix = trace.matrix(step, layer: layer, head: head) else {
            throw NotebookError.stepNotInModel(step.rawValue, model: model?.name ?? "this model")
        }
        return matrix
    }

    /// `scaled = scores / √32   [8 × 8]`
    func header(_ step: Step, _ matrix: Matrix) -> String {
        guard let model else { return step.rawValue }
        let dh = model.headDimension
        let info = StepInfo.info(step)
        var formula = ((model.isDecoder ? info.decoderFormula : nil) ?? info.formula)
            .replacingOccurrences(of: "{D}", with: String(dh))
            .replacingOccurrences(of: "{KV}", with: String(cachedTrace?.layers[layer].heads[head].keyValueHead ?? 0))
            .replacingOccurrences(of: "{L}", with: String(layer))
            .replacingOccurrences(of: "{LASTHEAD}", with: subscripted(model.heads - 1))
        if step == .x { formula += layer > 0 ? " = out of layer \(layer - 1)" : " = embeddings" }
        return "\(formula)   \(matrix.shapeDescription)"
    }

    /// Where a step was computed: the layer and head, and the checkpoint tensors it used.
    func provenance(_ step: Step) -> [String] {
        if case let .smollm2(llama)? = model { return decoderProvenance(llama, step) }
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

    /// Where a decoder step was computed, with its GGUF tensors. q and k are shown in Hugging
    /// Face's layout: attn weights load with llama.cpp's row permutation undone.
    func decoderProvenance(_ llama: Llama, _ step: Step) -> [String] {
        let c = llama.configuration
        let dh = c.headDimension
        let kv = head / c.groupSize
        func name(_ f: LlamaWeights.Field) -> String { LlamaWeights.checkpointName(f, layer: layer) }
        let queryRows = "\(head * dh)…\((head + 1) * dh - 1)", keyRows = "\(kv * dh)…\((kv + 1) * dh - 1)"
        let group = (kv * c.groupSize..<((kv + 1) * c.groupSize)).map(String.init).joined(separator: ", ")
        switch step {
        case .embeddings, .tokenEmbeddings:
            return ["E = \(name(.tokenEmbeddings))  [\(c.vocabularySize) × \(c.hiddenSize)], Q8_0"]
        case .rmsnorm: return ["layer \(layer): g = \(name(.attentionNorm)), ε = \(c.rmsNormEpsilon)"]
        case .queriesBeforeRotation, .q:
            return ["layer \(layer), head \(head): W_Q = \(name(.query))[\(queryRows)]ᵀ",
                    "  (Q4_1; rows put back in Hugging Face's order: pairs are i and i + \(dh / 2))"]
        case .keysBeforeRotation, .k, .v:
            let tensor = step == .v ? name(.value) : name(.key)
            return ["layer \(layer), head \(head) reads key/value head \(kv) (shared by query heads \(group))",
                    "  W_\(step == .v ? "V" : "K") = \(tensor)[\(keyRows)]ᵀ"]
        case .scores, .scaled, .weights, .z:
            return ["layer \(layer), head \(head) (key/value head \(kv))"]
        case .masked: return ["layer \(layer), head \(head): −∞ above the diagonal, a token sees only itself and the past"]
        case .attentionOutput: return ["layer \(layer): W_O = \(name(.output))ᵀ  [\(c.hiddenSize) × \(c.hiddenSize)]"]
        case .feedForwardInput: return ["layer \(layer): g = \(name(.feedForwardNorm))"]
        case .feedForwardGate: return ["layer \(layer): W_gate = \(name(.gate))ᵀ  [\(c.hiddenSize) × \(c.intermediateSize)]"]
        case .feedForwardUp: return ["layer \(layer): W_up = \(name(.up))ᵀ  [\(c.hiddenSize) × \(c.intermediateSize)]"]
        case .feedForwardOutput: return ["layer \(layer): W_down = \(name(.down))ᵀ  [\(c.intermediateSize) × \(c.hiddenSize)]"]
        case .finalNorm: return ["g = \(LlamaWeights.checkpointName(.outputNorm))"]
        case .logits: return ["Eᵀ = \(LlamaWeights.checkpointName(.tokenEmbeddings))ᵀ (the output is tied to the input embeddings)"]
        default: return step.scope == .layer ? ["layer \(layer)"] : []
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
        let step = Step(rawValue: what)
        guard step != nil || what == "rollout" else { throw NotebookError.unknownStep(what, suggestion: nil) }
        let matrix = try step.map { try stepMatrix(trace, $0) } ?? rolloutMatrix(trace)
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
        let location = step?.scope == .head ? " (layer \(layer), head \(head))" : step?.scope == .layer ? " (layer \(layer))"
            : step == nil ? " (layers 0…\(trace.layers.count - 1))" : ""
        return "wrote \(what)\(location) \(matrix.shapeDescription) to \(path)\n"
    }

    // MARK: Help

    func help(_ topic: String?) throws -> String {
        guard let topic else {
            let steps = wrap(availableSteps.map(\.rawValue).joined(separator: " "), indent: "         ", first: "         ")
            return """
                select   model minilm|smollm2 [PATH]   sentence TEXT (or "…" with escapes)
                         layer N    head N
                steps    tokens    walk (every step of this layer and head, one per Enter)
                \(steps)
                         show STEP[rows, columns]   e.g. show q[0:4, 0:8], show weights[2, :]
                decoder  predict [K]    temperature X    generate N    rope [PAIR]    kvmap   (smollm2)
                math     NAME = EXPR    EXPR    check EXPR STEP    names    help math
                lessons  lessons    lesson N    next (or Enter)    back    where    hint    skip
                         lesson stop
                explore  heads [all]    neuron I J    rollout    importance
                         ablate head L H    ablate clear
                export   export STEP PATH.npy | PATH.csv    export tokens PATH
                         export rollout PATH    plot STEP PATH.svg    save transcript PATH.md
                view     precision N
                other    help STEP (its formula and meaning)    quit

                """
        }
        if let step = Step(rawValue: topic) {
            let info = StepInfo.info(step)
            let formula = info.formula.replacingOccurrences(of: "{D}", with: "dₕ").replacingOccurrences(of: "{L}", with: "L")
                .replacingOccurrences(of: "{LASTHEAD}", with: "ₕ")
            return "\(formula)\n" + wrap(info.explanation) + "\n"
        }
        if topic == "math" { return MathSyntax.help }
        if let function = MathSyntax.function(named: topic) {
            return "\(function.usage): \(function.summary)\n(help math lists every function and operator)\n"
        }
        if let text = Self.commandHelp[topic] { return wrap(text) + "\n" }
        throw NotebookError.unknownStep(topic, suggestion: closest(to: topic, in: Command.words))
    }

    static let commandHelp: [String: String] = [
        "model": "model minilm [PATH]: selects all-MiniLM-L6-v2, from the cache or from a directory holding config.json, model.safetensors and vocab.txt. A bad PATH keeps the previous model.",
        "sentence": "sentence TEXT: the rest of the line is the sentence; sentence \"…\" takes the escapes \\n \\t \\r \\\" \\\\. The model runs once and every step is kept.",
        "layer": "layer N: selects a layer, 0-based.",
        "head": "head N: selects a head of the layer, 0-based.",
        "tokens": "tokens: the word pieces of the sentence with their ids; [CLS] starts it and [SEP] ends it.",
        "show": "show STEP[rows, columns]: a slice of a step, NumPy style: show q[0:4, 0:8], show weights[2, :], show out[-1].",
        "walk": "walk: every step of the selected layer and head, from x to out, one per Enter (all at once in a script).",
        "export": "export STEP PATH: writes the whole step as .npy (float32, C order) or .csv (%.9g); export tokens PATH writes id<TAB>token lines.",
        "precision": "precision N: digits after the decimal point, 0…8.",
        "quit": "quit (or exit, or Ctrl-D): leaves attn.",
        "predict": "predict [K] (smollm2): the K most likely next tokens after the sentence: softmax of the last row of logits, divided by the temperature.",
        "temperature": "temperature X (smollm2): predict shows softmax(logits / X); below 1 sharpens, above 1 flattens. generate stays greedy.",
        "generate": "generate N (smollm2): greedy decoding of up to N tokens with a KV cache, the text streamed as it comes; Ctrl-C stops it.",
        "rope": "rope [PAIR] (smollm2): the rotation angle p · θₖ of every position and pair; with PAIR, this head's q before and after RoPE for that pair.",
        "kvmap": "kvmap (smollm2): which query heads share each key/value head (grouped-query attention), and what it saves.",
        "check": "check EXPR STEP: computes EXPR with the names of this layer and head (names lists them) and compares it with the model's STEP: ✓ when the shapes agree and max|Δ| ≤ 1e-4, else ✗ with where the difference is largest.",
        "names": "names: the names your math can use (X, Q, K, V, W_Q, …, dk, T) with their shapes, and the ones you bound.",
        "lessons": "lessons: the lessons with your progress; lesson N starts or resumes one.",
        "lesson": "lesson N (or its name): starts or resumes a lesson. Enter or next runs the shown commands, back goes back, where tells the position, lesson stop leaves; you may type any command in between.",
        "hint": "hint: at an exercise, the next hint, and finally the solution.",
        "skip": "skip: at an exercise, shows and runs the solution and goes on.",
        "heads": "heads (heads all: every layer): one row per head of the selected layer: the entropy of its weights in bits (mean over the query rows), the key most queries attend to most (a token, or i−1 for the previous token, i for itself), and a pattern tag computed from the weights: previous token, same token, next token (an encoder), [CLS] or first-token sink, [SEP] sink, broad (high entropy) or mixed, with its mean weight.",
        "neuron": "neuron I J: the neuron view of one score of the selected head: for query token I and key token J (numbered as tokens shows them), the products q_I[d]·k_J[d] of every dimension, their sum, which is scores[I, J], and the dimensions that push it up and down most.",
        "rollout": "rollout: attention rollout (Abnar & Zuidema 2020): per layer the mean of the heads' weights plus the identity for the residual, rows renormalised, multiplied from layer 0 up; row i says how much of each input token reaches token i. export rollout PATH and plot rollout PATH.svg write it.",
        "ablate": "ablate head L H: zeroes the output z of layer L's head H and runs the model again; everything after it changes, everything before stays. Shows the effect: minilm, the cosine of the sentence embedding before and after; smollm2, the next-token top 5 before → after. Steps, exports and plots show the ablated model until ablate clear restores every head.",
        "importance": "importance: occlusion, in the spirit of LIME: each token is removed in turn and the model runs again. minilm: 1 − cosine between the sentence embedding with and without the token ([CLS] and [SEP] stay); smollm2: how much the probability of the predicted next token drops without it. Drawn as a bar chart.",
        "plot": "plot STEP PATH.svg: an SVG heatmap of a token × token step (scores, scaled, masked, weights) or of rollout, with the tokens on both axes, a colour legend, the formula, layer and head in the title and every cell's value on hover; opens in any browser.",
        "save": "save transcript PATH.md: the session so far as Markdown: every command after its prompt, with its output, in fenced blocks; # comments become paragraphs.",
    ]
}
