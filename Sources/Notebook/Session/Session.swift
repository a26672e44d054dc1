import AttnCore
import Foundation

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
    /// Where a long command (`importance`) reports how far it has come when the session is not
    /// interactive, at most every `progressInterval`: the executable's standard error. Nil, the
    /// default, reports nothing. Interactive sessions show progress on `stream`, as one line that
    /// is rewritten in place and blanked at the end. Progress is never part of the output or of a
    /// transcript.
    public var progress: ((String) -> Void)?
    /// How often `progress` hears from a long command.
    public var progressInterval: Duration = .seconds(3)
    /// `stream` as the executable set it, outside the recording of the transcript: for progress,
    /// which the transcript must not hold.
    var terminalStream: ((String) -> Void)?
    /// Sampling's filters and seed (`top-k`, `top-p`, `seed`); nil filters keep every token.
    public internal(set) var topK: Int?
    public internal(set) var topP: Double?
    public internal(set) var seed: UInt64 = 0
    /// The last `generate`, `sample`, `greedy` or `chat`, for `sentence +`.
    public internal(set) var lastGeneration: Generation?

    /// Whether a person is at the keyboard: `walk` then waits for Enter between steps.
    public var interactive = false

    /// The selected model, and where it comes from: one of attn's models (`model minilm`, or
    /// `model minilm PATH`: a BERT read from PATH is still the learner's minilm) or a checkpoint
    /// of the Hugging Face cache.
    public private(set) var model: (any TransformerModel)?
    public private(set) var modelSource: ModelSource?
    /// The name the learner types for the selected model: `minilm` before any is loaded.
    public var modelName: String { modelSource?.name ?? "minilm" }
    /// Where the model was loaded from when the learner named a path (`model minilm PATH`); nil
    /// for attn's own cache.
    public private(set) var modelLocation: String?
    public private(set) var sentence: String?
    public internal(set) var layer = 0
    public internal(set) var head = 0
    var cachedTrace: Trace?
    /// The forward pass of the current sentence (with the ablated heads zeroed), if there is one.
    public var currentTrace: Trace? { cachedTrace }
    /// Every command run so far with its output, for `save transcript`.
    var transcript = Transcript()
    /// Heads whose output is zeroed (`ablate head L H`); every step downstream reflects it.
    public internal(set) var ablated: Set<Attention.HeadIndex> = []
    /// The steps `walk` has still to show, when walking interactively.
    public internal(set) var pendingWalk: [Step] = []
    /// What `importance` and `lime` explain (`target`), and the classifier `classify` made of the
    /// model (nil: none).
    var explanationTarget: ExplanationTarget = .top
    /// What `focus` names (tokens or positions): the rows and columns a long step shows.
    var focus: [String] = []
    var classifier: Classifier?
    /// The last `lime`, for `export lime`, `plot lime` and the math's `lime_` names.
    var lastLime: LimeExplanation?
    /// The last `induction`'s scores, for `export induction` and `plot induction`.
    var lastInduction: Induction.Scores?
    /// `corrupt TEXT`: the corrupted sentence `patch` runs beside the sentence.
    var corruptSentence: String?
    /// The last `patch`'s grids, for `export patch` and `plot patch`.
    var lastPatch: PatchResult?

    /// Where lessons are found (`Lessons/` of the repository, or `--lessons`); nil: the lessons
    /// built into the binary.
    public var lessonsDirectory: String?
    /// Where lesson progress is remembered across sessions (nil: not remembered).
    public var progressPath: String?
    /// The language of the lessons: the locale's (`LANG=zh_CN.UTF-8`), or what `lessons --lang`
    /// chose and remembered at `languagePath` (see ``restoreLessonLanguage()``).
    public var lessonLanguage: LessonLanguage
    /// Where `lessons --lang` remembers its choice across sessions (nil: not remembered).
    public var languagePath: String?
    /// Where a problem with a state file goes (the executable writes it to standard error):
    /// the notebook goes on without the state, and says so once per file.
    public var warn: (String) -> Void = { _ in }
    /// The state files already warned about.
    var warnedFiles: Set<String> = []
    /// The lesson being followed.
    var activeLesson: ActiveLesson?
    /// `lesson N --model NAME`: the model the lesson's own model lines select instead.
    var lessonModel: String?
    /// How many lesson blocks are running their lines now (0 when the learner types).
    var lessonBlockDepth = 0
    /// The files this session wrote (as `fileKey`s): it may replace them without asking.
    var writtenFiles: Set<String> = []

    /// Names the learner bound with `NAME = EXPR`.
    public internal(set) var learnerNames: [String: MathValue] = [:]
    /// The labels of the learner's matrices, from when they were made: `A = Q[2:4]` keeps `cat sat`,
    /// even after another sentence.
    var learnerLabels: [String: MathLabels] = [:]
    /// How each of the learner's names was made, to see what it depends on.
    var learnerDefinitions: [String: MathDefinition] = [:]
    /// Every name any of attn's models binds for the learner's math.
    public static let boundNames: [String] = {
        var names: [String] = []
        for architecture in ModelSource.architectures {
            for name in architecture.boundNames where !names.contains(name) { names.append(name) }
        }
        return names
    }()
    /// The steps of the selected layer and head, from its input x to its output, in the order of
    /// the computation, as `walk` shows them: every step of the model's layer (the norms, RoPE's
    /// q and k before the rotation, the feed-forward), not only the attention's.
    public var walkSteps: [Step] {
        let steps = availableSteps
        guard let first = steps.firstIndex(of: .x), let last = steps.firstIndex(of: .out) else { return steps }
        return Array(steps[first...last])
    }

    public init(renderer: MatrixRenderer = MatrixRenderer(),
                environment: [String: String] = ProcessInfo.processInfo.environment,
                workingDirectory: String = FileManager.default.currentDirectoryPath) {
        self.renderer = renderer
        self.environment = environment
        self.workingDirectory = workingDirectory
        lessonLanguage = LessonLanguage(environment: environment)
    }

    /// The prompt: the model, layer and head, e.g. `minilm L2 H7> `; for a model whose layers
    /// differ in what they see, the layer's kind: `gemma3 L5 (global) H2> `.
    public var prompt: String {
        let ablation = ablated.isEmpty ? "" : " −" + ablated.sorted().map { "L\($0.layer)H\($0.head)" }.joined(separator: ",")
        let kind = hasLocalLayers ? " (\(model?.attentionWindow(layer: layer) == nil ? "global" : "local"))" : ""
        return "\(modelName) L\(layer)\(kind) H\(head)\(ablation)> "
    }

    /// Whether some layers of the model see only a window of the past (Gemma 3's local layers).
    var hasLocalLayers: Bool {
        guard let model else { return false }
        return (0..<model.sizes.layers).contains { model.attentionWindow(layer: $0) != nil }
    }

    /// `local (window 512)` or `global` for a model with local layers, else `full`.
    func layerKind(_ layer: Int) -> String {
        guard let model, hasLocalLayers else { return "full" }
        return model.attentionWindow(layer: layer).map { "local (window \($0))" } ?? "global"
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
            switch try Commands.parse(line) {
            case let .nothing(blank):
                // While walking, Enter shows the next step; in a lesson, it runs the next block.
                // A comment ends a walk, as any command does.
                if !pendingWalk.isEmpty {
                    if blank { return try walkNext() }
                    pendingWalk = []
                }
                if blank, activeLesson != nil { return try lessonNext() }
                return ""
            case let .command(command):
                pendingWalk = []
                return try run(command)
            case let .other(word):
                guard isMath(line, word: word) else {
                    throw NotebookError.unknownCommand(word, suggestion: closest(to: word, in: Commands.words))
                }
                pendingWalk = []
                return try math(line)
            }
        } catch let error as AttnError {
            throw NotebookError.core(error)
        }
    }

    /// Whether a line that is no command is the learner's math: it looks like math, or it is a
    /// lone word that looks like a mistyped name (capitalised, or close to a name and to no command).
    func isMath(_ line: String, word: String) -> Bool {
        if MathSyntax.looksLikeMath(line, knownNames: mathNames + Self.explanationNames) { return true }
        guard MathSyntax.isName(word), line.trimmingWhitespace() == word else { return false }
        return word.first?.isUppercase == true
            || (closest(to: word, in: Commands.words) == nil && closest(to: word, in: mathNames) != nil)
    }

    /// Whether the last command asked to leave.
    public internal(set) var wantsToQuit = false
    /// Set by `clear`: the terminal's front end clears the screen before its next prompt (a
    /// script, a replay or a test has no screen, and nothing happens).
    public var wantsClearScreen = false

    /// Runs a command, unless a lesson block asks to move through lessons.
    func run(_ command: any NotebookCommand) throws -> String {
        if lessonBlockDepth > 0, type(of: command).definition.movesThroughLessons {
            throw NotebookError.lesson("a lesson's block cannot move through lessons (lesson, next, back, skip, hint, where, quit): only the learner does")
        }
        return try command.run(in: self)
    }

    /// Makes `text` the sentence: tokenized and run now, so a bad sentence changes nothing.
    func setSentence(_ text: String) throws -> Trace {
        let trace = try requireModel().trace(text, ablating: ablated)
        sentence = text
        cachedTrace = trace
        return trace
    }

    // MARK: Model and trace

    /// Loads a model; on failure the previous model stays selected.
    /// - Returns: why the sentence was dropped, when the new model cannot trace it (too long).
    @discardableResult
    func loadModel(name: String, path: String?) throws -> String? {
        let (source, location) = try locateModel(name: name, path: path)
        return try loadModel(source, at: location, named: path != nil)
    }

    /// Opens `source` at `location` and selects it; `named` when the learner gave the location.
    @discardableResult
    func loadModel(_ source: ModelSource, at location: String, named: Bool) throws -> String? {
        let loaded = try source.open(location)
        // The sentence is kept; it is traced again with the new weights (if it fits).
        var trace: Trace?
        var dropped: String?
        ablated = []  // head numbers belong to one model
        if let sentence {
            do { trace = try loaded.trace(sentence, ablating: []) } catch { dropped = "\(error)" }
        }
        model = loaded
        modelSource = source
        modelLocation = named ? location : nil
        cachedTrace = trace
        if trace == nil { sentence = nil }
        layer = min(layer, loaded.sizes.layers - 1)
        head = min(head, loaded.sizes.heads - 1)
        return dropped
    }

    /// Where a model's files are: attn's cache (or the PATH the learner gave) for attn's own
    /// models; a directory or `.gguf` file the learner named (`model ./my-bert`, `model gpt2
    /// PATH`); else the Hugging Face cache's snapshot of the repository `name`. As with
    /// `from_pretrained`, a local directory of that name wins over the cache.
    func locateModel(name: String, path: String?) throws -> (ModelSource, String) {
        guard let source = ModelSource.named(name) else {
            if let local = path.map(resolve) ?? localPath(name) {
                let title = (local as NSString).lastPathComponent
                // Named in the prompt by what the learner typed before the path, else its last part.
                return (try ModelSource.checkpoint(name: path == nil ? title : name, title: title, location: local, origin: .path), local)
            }
            guard let found = try HubCache.snapshot(of: name, environment: environment) else {
                throw NotebookError.unknownModel(name, hubCache: HubCache.directory(environment: environment))
            }
            return (try ModelSource.hubCheckpoint(name: name, id: found.id, directory: found.directory), found.directory)
        }
        if let path { return (source, resolve(path)) }
        let location = ModelStore.directory(for: source, environment: environment)
        // The files the loader reads (not the fetch's extras, such as tokenizer.json): none is
        // "not fetched yet", some is a damaged directory, and the missing one is named.
        let needed = source.requiredFiles
        let missing = needed.filter { !FileManager.default.fileExists(atPath: location + "/" + $0) }
        if missing.count == needed.count {
            throw AttnError.weightsMissing(model: source.title, directory: location, fetchCommand: source.fetchCommand)
        }
        if let file = missing.first {
            throw AttnError.modelFileMissing(model: source.title, directory: location, file: file,
                                             fetchCommand: source.fetchCommand)
        }
        return (source, location)
    }

    /// The selected model, loading the default one on first use.
    func requireModel() throws -> any TransformerModel {
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

    /// `all-MiniLM-L6-v2 (BERT encoder): 6 layers, 12 heads, d_model 384, dₕ 32, from the attn
    /// cache`. From the cache it is the model attn fetched (and checked); from a PATH, whatever
    /// the files hold, described by their own numbers.
    func describeModel() -> String {
        guard let model, let modelSource else { return "" }
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        let s = model.sizes
        let heads = s.keyValueHeads == s.heads ? count(s.heads, "head")
            : "\(count(s.heads, "query head")) sharing \(count(s.keyValueHeads, "key/value head"))"
        let shape = "\(count(s.layers, "layer")), \(heads), d_model \(s.modelDimension), dₕ \(s.headDimension)"
        let origin = whereFrom(model.location, modelSource)
        return origin == "the attn cache"
            ? "\(modelSource.title) (\(model.architecture)): \(shape), from \(origin)"
            : "\(model.architecture) from \(origin): \(shape)"
    }

    /// "the attn cache" for the default location (so transcripts are the same on every machine),
    /// the repository for the Hugging Face cache, else the path itself.
    func whereFrom(_ path: String, _ source: ModelSource) -> String {
        switch source.origin {
        case .huggingFaceCache: return "the Hugging Face cache (\(source.title))"
        case .path: return path
        case .lessons: return "the lessons' \(source.title)"
        case .attnCache: break
        }
        let directory = ModelStore.directory(for: source, environment: environment)
        return path == directory || path.hasPrefix(directory + "/") ? "the attn cache" : path
    }

    /// `name` as a path, when it is written as one (`/…`, `./…`, `../…`, `~/…`, `….gguf`) or names
    /// a directory or file that exists; nil for a name to look up in the Hugging Face cache.
    func localPath(_ name: String) -> String? {
        let written = ["/", "./", "../", "~"].contains { name.hasPrefix($0) } || name.hasSuffix(".gguf") || name == "." || name == ".."
        let path = resolve(name)
        return written || FileManager.default.fileExists(atPath: path) ? path : nil
    }

    func resolve(_ path: String) -> String {
        var path = path
        if path == "~" || path.hasPrefix("~/") { path = (environment["HOME"] ?? NSHomeDirectory()) + path.dropFirst() }
        return path.hasPrefix("/") ? path : workingDirectory + "/" + path
    }

}
