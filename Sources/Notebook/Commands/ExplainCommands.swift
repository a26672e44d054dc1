import AttnCore
import Foundation

/// Explaining one number the model computes: naming it (`target`), making the model a classifier
/// whose output it can be (`classify`), and LIME (`lime`). `importance` (occlusion, in the explore
/// group) explains the same target.
enum ExplainCommands: CommandGroup {
    static let title = "explain"
    static let commands: [any NotebookCommand.Type] = [TargetCommand.self, ClassifyCommand.self, LimeCommand.self, LensCommand.self,
                                                         AttributeCommand.self, InductionCommand.self, CorruptCommand.self, PatchCommand.self]
    static func notes(_ session: Session) -> [String] { ["(importance and lime explain the target)"] }
}

/// `target [WHAT]`: shows or names what `importance` and `lime` explain.
struct TargetCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["target"], synopsis: ["target [top | ·TOKEN | ·A - ·B | like \"…\" | class LABEL]"],
        help: [("target", "target: shows the number importance and lime explain, its formula and its value for the sentence. target top (the default): on a decoder the probability of the top next token, on an encoder the cosine of the sentence embedding with the sentence's own (1 for the sentence itself). target ·Paris: the probability of that next token, typed as predict shows it (· for a leading space; it must be one token). target ·Paris - ·London: the difference of the two probabilities (not of the logits: it stays within −1…1). target like \"a sad story\" (an encoder): the cosine of the sentence embedding, the mean of the last layer's out over the tokens as sentence-transformers pools it, with that sentence's. target class LABEL: the probability of a label of classify.")])
    var setsLessonState: Bool { change != nil }

    /// nil: show the target.
    var change: ExplanationTarget?

    static let usage = "target (shows it), target top, target ·TOKEN, target ·A - ·B, target like \"…\" (an encoder), target class LABEL (after classify)"

    init(word: String, arguments: String) throws {
        guard !arguments.isEmpty else { change = nil; return }
        let (first, rest) = arguments.splitFirstWord()
        switch first {
        case "top" where rest.isEmpty:
            change = .top
        case "like":
            guard !rest.isEmpty else { throw NotebookError.usage(command: word, usage: "target like \"a sad story\" (the cosine of the sentence embedding with that sentence's)") }
            change = .like(try Arguments.sentenceText(rest))
        case "class":
            guard !rest.isEmpty else { throw NotebookError.usage(command: word, usage: "target class LABEL, one of the labels classify was given") }
            change = .label(ClassifyCommand.unquoted(rest))
        default:
            let parts = arguments.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if parts.count == 1 {
                change = .token(parts[0])
            } else if parts.count == 3, parts[1] == "-" || parts[1] == "−" {
                change = .difference(parts[0], parts[2])
            } else {
                throw NotebookError.usage(command: word, usage: Self.usage)
            }
        }
    }

    func run(in session: Session) throws -> String {
        guard let change else { return try session.showTarget() }
        return try session.setTarget(change)
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        switch request.previous {
        case []: request.matching(["top", "like", "class"])
        case ["class"]: request.matching(request.session.classifier?.labels ?? [])
        default: nil
        }
    }
}

/// `classify LABELS`, `classify`, `classify off`: the model as a zero-shot classifier.
struct ClassifyCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["classify"], synopsis: ["classify A|B…", "classify", "classify off"],
        help: [("classify", "classify positive|negative (2 to 10 labels, separated by | or by spaces): makes the model a zero-shot classifier of the sentence, and the probability of the first label the target (target class LABEL names another). A decoder reads the prompt \"Review: {sentence}\\nSentiment:\" and each label's probability is that of its first token (with a leading space) after it, renormalized over the labels: p(positive) = p(·positive) / (p(·positive) + p(·negative)). An encoder compares the sentence embedding with that of \"this is LABEL\": p = softmax over the labels of 20 · cos. classify alone shows how the sentence is classified; classify off goes back to target top."), ("classify off", "classify off: no classifier; the target goes back to the default (target top).")])
    var setsLessonState: Bool { action != .show }

    enum Action: Equatable { case show, off, labels([String]) }
    var action: Action

    init(word: String, arguments: String) throws {
        let usage = "classify positive|negative (2 to 10 labels, separated by | or spaces), classify (shows it) or classify off"
        if arguments.isEmpty { action = .show; return }
        if arguments == "off" { action = .off; return }
        let pieces = arguments.contains("|") ? arguments.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            : arguments.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        let labels = pieces.map { Self.unquoted($0.trimmingWhitespace()) }
        guard Classifier.labelCount.contains(labels.count) else {
            throw NotebookError.usage(command: word, usage: "classify takes 2 to 10 labels, not \(labels.count): \(usage)")
        }
        for label in labels {
            guard !label.isEmpty else { throw NotebookError.usage(command: word, usage: "a label is empty: \(usage)") }
            guard label.count <= Classifier.labelLength else {
                throw NotebookError.usage(command: word, usage: "a label has at most \(Classifier.labelLength) characters ('\(shown(label))' has \(label.count))")
            }
            guard !label.unicodeScalars.contains(where: { [.control, .format, .lineSeparator, .paragraphSeparator].contains($0.properties.generalCategory) }) else {
                throw NotebookError.usage(command: word, usage: "a label is one line of visible text ('\(shown(label))' holds a control character)")
            }
        }
        guard Set(labels).count == labels.count else { throw NotebookError.usage(command: word, usage: "each label once: \(usage)") }
        action = .labels(labels)
    }

    /// The text inside one pair of double quotes around it, else the text.
    static func unquoted(_ text: String) -> String {
        text.count >= 2 && text.hasPrefix("\"") && text.hasSuffix("\"") ? String(text.dropFirst().dropLast()) : text
    }

    func run(in session: Session) throws -> String {
        switch action {
        case .show: return try session.showClassification()
        case .off: return try session.classifyOff()
        case let .labels(labels): return try session.classify(labels)
        }
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(["off", "positive|negative"]) : nil
    }
}

/// `lime [N]`: LIME on N samples of the sentence with words removed.
struct LimeCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["lime"], synopsis: ["lime [N]"],
        help: [("lime", "lime [N] (1 ≤ N ≤ 5000, default 500): LIME as the lime package's LimeTextExplainer computes it. N samples of the sentence, the first whole, each other with k of its d distinct words removed (k uniform in 1…d; a word is a piece between spaces, removed everywhere it comes), drawn from the seed (seed N). The target of each sample (target), one forward pass per distinct sample; each sample weighed by its closeness, √exp(−D² / 25²) with D = 100 · (1 − cos(mask, all ones)); a ridge regression (α = 1, with intercept, weighted) of the target on the masks. Shows each word's coefficient as a bar chart, largest |β| first, the intercept and the weighted R²; lime_masks, lime_targets, lime_distances, lime_weights, lime_coef and lime_intercept hold the numbers for your math. export lime PATH.csv and plot lime PATH.svg write the coefficients. Ctrl-C stops, fitting the samples done.")])
    /// A lesson that resumes after it has its numbers (lime_weights, …) again: the same seed gives the same samples.
    var setsLessonState: Bool { true }

    static let defaultSamples = 500
    static let samples = 1...5000

    var count: Int

    init(word: String, arguments: String) throws {
        let usage = "lime [N] with 1 ≤ N ≤ 5000 samples (default \(Self.defaultSamples))"
        count = try Arguments.count(arguments, command: word, default: Self.defaultSamples, range: Self.samples, usage: usage)
    }

    func run(in session: Session) throws -> String { try session.lime(samples: count) }
}

/// One LIME run: its samples, their targets and weights, and the fit.
struct LimeExplanation: Sendable {
    let words: Lime.Words
    let masks: [[Bool]]
    let targets: [Double]
    let distances: [Double]
    let weights: [Double]
    let fit: Lime.Fit
    /// The target's formula: `p(positive)`.
    let formula: String
    /// Inputs run through the model: one per distinct sample (but m₀ where its y is known).
    let forwardPasses: Int
    /// The passes they took, when an encoder ran them side by side in batches; nil one by one.
    var batches: Int? = nil
    let seed: UInt64
    /// How many samples were asked for (more than `masks.count` when Ctrl-C stopped it).
    let requested: Int
}

// MARK: - What the commands do

extension Session {
    // MARK: the target

    /// The target resolved for the selected model and sentence (see ``TargetMeasure``).
    /// - Throws: when the target does not fit the model (a token on an encoder, `like` on a
    ///   decoder), names no single token, or needs a sentence or classifier there is none of.
    func targetMeasure(_ target: ExplanationTarget) throws -> TargetMeasure {
        let model = try requireModel()
        if let decoder = model as? any DecoderModel { return try decoderMeasure(decoder, target) }
        return try encoderMeasure(model, target)
    }

    /// `softmax(logits / 1)`
    var probabilityFormula: String { "p = softmax(logits / \(String(format: "%g", Double(temperature))))" }

    func decoderMeasure(_ decoder: any DecoderModel, _ target: ExplanationTarget) throws -> TargetMeasure {
        let (ablated, temperature) = (self.ablated, self.temperature)
        let plain: (String) throws -> ModelInput = { text in
            let ids = decoder.inputIds(text)
            return ModelInput(ids: ids, removable: Array(ids.indices))
        }
        let runsEmpty = !decoder.inputIds("").isEmpty
        func fromLogits(_ plus: Int, minus: Int? = nil) -> ([Float]) -> Double {
            { logits in
                let p = probabilities(logits: logits, temperature: temperature)
                return Double(p[plus]) - (minus.map { Double(p[$0]) } ?? 0)
            }
        }
        func tokens(_ plus: Int, minus: Int? = nil) -> ([Int]) -> Double {
            let passes = SharedPrefixPasses(decoder, ablated: ablated)
            let measure = fromLogits(plus, minus: minus)
            return { ids in measure(passes.nextLogits(ids)) }
        }
        switch target {
        case .top:
            let trace = try requireTrace()
            // One row's product: the whole T × vocabulary would be 1.6 GB at 8192 tokens.
            guard let last = trace.logits(row: trace.count - 1) else { throw NotebookError.noSentence }
            let next = topTokens(logits: last, count: 1, temperature: temperature)[0].id
            let t = label(for: next)
            return TargetMeasure(formula: "p(\(t))", definition: "the probability of the next token the model ranks first after the sentence (id \(next)), \(probabilityFormula) at the last position: the default (target top)",
                                 input: plain, value: tokens(next), knownSentenceValue: nil, runsWithoutWords: runsEmpty,
                                 fromLogits: fromLogits(next))
        case let .token(a):
            let id = try tokenId(a, decoder)
            return TargetMeasure(formula: "p(\(a))", definition: "the probability of the next token \(a) (id \(id)), \(probabilityFormula) at the last position",
                                 input: plain, value: tokens(id), knownSentenceValue: nil, runsWithoutWords: runsEmpty,
                                 fromLogits: fromLogits(id))
        case let .difference(a, b):
            let (first, second) = (try tokenId(a, decoder), try tokenId(b, decoder))
            guard first != second else { throw NotebookError.lesson("\(shown(a)) and \(shown(b)) are the same token: target ·A - ·B takes two different ones") }
            return TargetMeasure(formula: "p(\(a)) − p(\(b))", definition: "the difference of two next-token probabilities, \(probabilityFormula) (of probabilities, not logits: like a classifier's output it stays within −1…1)",
                                 input: plain, value: tokens(first, minus: second), knownSentenceValue: nil, runsWithoutWords: runsEmpty,
                                 fromLogits: fromLogits(first, minus: second))
        case .like:
            throw NotebookError.lesson("target like compares sentence embeddings, an encoder's: model minilm first; on \(modelName), target ·TOKEN or classify LABELS")
        case let .label(name):
            let (classifier, k) = try classifierLabel(name)
            let labelTokens = try self.labelTokens(classifier, decoder)
            let others = zip(classifier.labels, labelTokens).map { "p(\(decoder.tokenLabel($1)))" }.joined(separator: " + ")
            return TargetMeasure(
                formula: "p(\(name))",
                definition: "the probability of \(name) when \(modelName) classifies the sentence: p(\(name)) = p(\(decoder.tokenLabel(labelTokens[k]))) / (\(others)) for the next token after \(quoted(Classifier.template)), \(probabilityFormula)",
                input: classifierInput(decoder),
                value: { [passes = SharedPrefixPasses(decoder, ablated: ablated)] ids in
                    TargetMath.decoderClasses(logits: passes.nextLogits(ids), tokens: labelTokens,
                                              temperature: temperature).probabilities[k]
                },
                knownSentenceValue: nil, runsWithoutWords: true,
                fromLogits: { TargetMath.decoderClasses(logits: $0, tokens: labelTokens, temperature: temperature).probabilities[k] })
        }
    }

    func encoderMeasure(_ model: any TransformerModel, _ target: ExplanationTarget) throws -> TargetMeasure {
        let ablated = self.ablated
        let input: (String) throws -> ModelInput = { text in
            let ids = try model.inputIds(for: text)
            return ModelInput(ids: ids, removable: ids.count > 2 ? Array(1..<(ids.count - 1)) : [])
        }
        let e = "e, the sentence embedding (the mean of the last layer's out over the tokens)"
        switch target {
        case .top:
            let reference = SentenceEmbedding.meanPooled(try requireTrace())
            return TargetMeasure(formula: "cos(e(x), e(sentence))",
                                 definition: "the cosine of \(e) of the text x with that of the sentence as it is: 1 for the sentence itself: the default (target top)",
                                 input: input, value: { SentenceEmbedding.cosine(reference, TargetMath.embedding(model, $0, ablated: ablated)) },
                                 knownSentenceValue: 1, runsWithoutWords: true,
                                 batchValues: { TargetMath.embeddings(model, $0, ablated: ablated).map { SentenceEmbedding.cosine(reference, $0) } })
        case let .like(other):
            let reference = TargetMath.embedding(model, try model.inputIds(for: other), ablated: ablated)
            return TargetMeasure(formula: "cos(e(x), e(\(quoted(other))))", definition: "the cosine of \(e) of the text x with that of \(quoted(other))",
                                 input: input, value: { SentenceEmbedding.cosine(reference, TargetMath.embedding(model, $0, ablated: ablated)) },
                                 knownSentenceValue: nil, runsWithoutWords: true,
                                 batchValues: { TargetMath.embeddings(model, $0, ablated: ablated).map { SentenceEmbedding.cosine(reference, $0) } })
        case .token, .difference:
            throw NotebookError.lesson("\(modelName) is an encoder and predicts no next token: on an encoder, target like \"…\" (the cosine with another sentence's embedding), target top or classify LABELS")
        case let .label(name):
            let (classifier, k) = try classifierLabel(name)
            let labels = try labelEmbeddings(classifier, model)
            return TargetMeasure(
                formula: "p(\(name))",
                definition: "the probability of \(name) when \(modelName) classifies the sentence: softmax over the labels of \(Int(Classifier.scale)) · cos(e(x), e(\"this is LABEL\")), \(e)",
                input: input, value: { TargetMath.encoderClasses(TargetMath.embedding(model, $0, ablated: ablated), labels: labels).probabilities[k] },
                knownSentenceValue: nil, runsWithoutWords: true,
                batchValues: { TargetMath.embeddings(model, $0, ablated: ablated).map { TargetMath.encoderClasses($0, labels: labels).probabilities[k] } })
        }
    }

    /// The classifier and the place of `name` among its labels.
    func classifierLabel(_ name: String) throws -> (Classifier, Int) {
        guard let classifier else {
            throw NotebookError.lesson("target class \(shown(name)) names a label of classify, and there is no classifier: classify positive|negative first")
        }
        guard let k = classifier.labels.firstIndex(of: name) else {
            throw NotebookError.lesson("\(shown(name)) is not a label of the classifier: its labels are \(classifier.labels.joined(separator: ", "))")
        }
        return (classifier, k)
    }

    /// The id of a token typed as its label (`·Paris`, `↵`): the tokenizer's reading of the text
    /// when that is the one token, else the first token whose label it is.
    func tokenId(_ typed: String, _ decoder: any DecoderModel) throws -> Int {
        let text = typed.replacingOccurrences(of: "·", with: " ").replacingOccurrences(of: "↵", with: "\n")
            .replacingOccurrences(of: "⇥", with: "\t")
        let ids = decoder.tokenizer.encode(text)
        if ids.count == 1, decoder.tokenLabel(ids[0]) == typed { return ids[0] }
        if let id = (0..<decoder.sizes.vocabulary).first(where: { decoder.tokenLabel($0) == typed }) { return id }
        let pieces = ids.prefix(8).map(decoder.tokenLabel).joined(separator: " ") + (ids.count > 8 ? " …" : "")
        let split = ids.isEmpty ? "no token" : "\(ids.count) tokens, \(pieces)"
        throw NotebookError.lesson("\(shown(typed)) is not one token of \(modelName) (it is \(split)): target takes one token as predict shows it, with · for a leading space")
    }

    /// Each label's first token with a leading space, all different.
    func labelTokens(_ classifier: Classifier, _ decoder: any DecoderModel) throws -> [Int] {
        var tokens: [Int] = []
        for label in classifier.labels {
            guard let first = decoder.tokenizer.encode(" " + label).first else {
                throw NotebookError.lesson("the label \(shown(label)) has no token")
            }
            if let other = tokens.firstIndex(of: first) {
                throw NotebookError.lesson("\(classifier.labels[other]) and \(shown(label)) begin with the same token, \(decoder.tokenLabel(first)), so the classifier cannot tell them apart: choose labels whose first tokens differ")
            }
            tokens.append(first)
        }
        return tokens
    }

    /// The decoder's classification prompt for a text: [BOS], the template's start, the text with
    /// its leading space, the template's end, each tokenized apart so that the text keeps its own
    /// tokens (occlusion removes those).
    func classifierInput(_ decoder: any DecoderModel) -> (String) throws -> ModelInput {
        let tokenizer = decoder.tokenizer
        let bos = tokenizer.addsBeginningToken ? tokenizer.bosId.map { [$0] } ?? [] : []
        let prefix = bos + tokenizer.encode(Classifier.prefix), suffix = tokenizer.encode(Classifier.suffix)
        return { text in
            let middle = tokenizer.encode(" " + text)
            return ModelInput(ids: prefix + middle + suffix, removable: Array(prefix.count..<(prefix.count + middle.count)))
        }
    }

    /// The embeddings of "this is LABEL", one forward pass each.
    func labelEmbeddings(_ classifier: Classifier, _ model: any TransformerModel) throws -> [[Float]] {
        try classifier.labels.map { TargetMath.embedding(model, try model.inputIds(for: Classifier.labelSentence($0)), ablated: ablated) }
    }

    /// `target`: the formula, what it is and its value for the sentence.
    func showTarget() throws -> String {
        let measure = try targetMeasure(explanationTarget)
        var text = ""
        if let sentence {
            let value = try measure.knownSentenceValue ?? measure.value(measure.input(sentence).ids)
            text += fit("target: \(measure.formula) = \(String(format: "%.4f", value))") + "\n"
        } else {
            text += fit("target: \(measure.formula)   (no sentence yet)") + "\n"
        }
        text += wrap(measure.definition + ".", indent: "  ", first: "  ") + "\n"
        text += wrap("importance and lime explain it; target ·TOKEN, target ·A - ·B, target like \"…\" or classify LABELS choose another, target top the default.", indent: "  ", first: "  ") + "\n"
        return text
    }

    /// `target WHAT`: checked against the model (a token must be one), then shown.
    func setTarget(_ target: ExplanationTarget) throws -> String {
        if target != .top || cachedTrace != nil { _ = try targetMeasure(target) }
        explanationTarget = target
        return try showTarget()
    }

    // MARK: classify

    /// The classification of `text` by the session's classifier, and the model input it read.
    func classification(of text: String, _ classifier: Classifier) throws -> (Classification, ModelInput) {
        let model = try requireModel()
        if let decoder = model as? any DecoderModel {
            let tokens = try labelTokens(classifier, decoder)
            let input = try classifierInput(decoder)(text)
            let logits = TargetMath.nextLogits(decoder, input.ids, ablated: ablated)
            return (TargetMath.decoderClasses(logits: logits, tokens: tokens, temperature: temperature), input)
        }
        let labels = try labelEmbeddings(classifier, model)
        let ids = try model.inputIds(for: text)
        return (TargetMath.encoderClasses(TargetMath.embedding(model, ids, ablated: ablated), labels: labels), ModelInput(ids: ids, removable: []))
    }

    /// `classify LABELS`: the classifier, checked against the model, and the sentence's classification.
    func classify(_ labels: [String]) throws -> String {
        let previous = (classifier, explanationTarget)
        classifier = Classifier(labels: labels)
        explanationTarget = .label(labels[0])
        do {
            _ = try targetMeasure(explanationTarget)
            return try showClassification()
        } catch {
            (classifier, explanationTarget) = previous
            throw error
        }
    }

    /// `classify off`
    func classifyOff() throws -> String {
        guard classifier != nil else { return "no classifier: classify positive|negative makes one\n" }
        classifier = nil
        if case .label = explanationTarget { explanationTarget = .top }
        return "classify off: no classifier; " + (try showTarget())
    }

    /// `classify`: how the sentence is classified, label by label.
    func showClassification() throws -> String {
        guard let classifier else { return "no classifier: classify positive|negative makes one (help classify)\n" }
        let model = try requireModel()
        let decoder = model as? any DecoderModel
        var text: String
        if decoder != nil {
            text = "classify: \(modelName) as a zero-shot classifier of the sentence, \(classifier.labels.count) labels\n"
                + fit("  prompt: the template \(quoted(Classifier.template))") + "\n"
                + wrap("p(label) = p(its first token) / Σ p(the labels' first tokens): the next token after the prompt, \(probabilityFormula), renormalized over the labels", indent: "    ", first: "  ") + "\n"
        } else {
            text = "classify: \(modelName) as a similarity classifier of the sentence, \(classifier.labels.count) labels\n"
                + wrap("p(label) = softmax over the labels of \(Int(Classifier.scale)) · cos(e(sentence), e(\"this is LABEL\")), e the sentence embedding (the mean of the last layer's out over the tokens)", indent: "    ", first: "  ") + "\n"
        }
        guard let sentence else { return text + "no sentence yet: sentence TEXT, then classify shows how it is classified\n" }
        let (result, input) = try classification(of: sentence, classifier)
        if let decoder {
            text += wrap("\(input.ids.count) tokens: " + input.ids.map(decoder.tokenLabel).joined(separator: " "), indent: "    ", first: "  ") + "\n"
        }
        let labels = classifier.labels.map { MatrixRenderer.truncate($0, to: 20) }
        let width = max(5, labels.map(MatrixRenderer.displayWidth).max() ?? 5)
        let tokenLabels = result.tokens.map { MatrixRenderer.truncate(decoder?.tokenLabel($0) ?? "", to: 16) }
        let tokenWidth = max(5, tokenLabels.map(MatrixRenderer.displayWidth).max() ?? 5)
        var header = "  " + MatrixRenderer.pad("label", width, alignLeft: true)
        header += decoder != nil ? "  " + MatrixRenderer.pad("token", tokenWidth, alignLeft: true) + "  p(token)" : "  cos(e, e(label))"
        text += header + "  p(label)\n"
        for k in classifier.labels.indices {
            var line = "  " + MatrixRenderer.pad(labels[k], width, alignLeft: true)
            if decoder != nil {
                line += "  " + MatrixRenderer.pad(tokenLabels[k], tokenWidth, alignLeft: true) + "  " + MatrixRenderer.pad(String(format: "%.4f", result.tokenProbabilities[k]), 8)
            } else {
                line += "  " + MatrixRenderer.pad(String(format: "%.4f", result.cosines[k]), 16)
            }
            let bar = String(repeating: "█", count: roundedInt(result.probabilities[k] * 30, in: 0...30) ?? 0)
            text += MatrixRenderer.trimTrailing(line + "  " + MatrixRenderer.pad(String(format: "%.4f", result.probabilities[k]), 8) + "  " + bar) + "\n"
        }
        if decoder != nil {
            let sum = result.tokenProbabilities.reduce(0, +)
            text += wrap("the labels' first tokens hold \(String(format: "%.4f", sum)) of the next token's probability; the rest goes to other tokens, which the classifier leaves out.", indent: "  ", first: "  ") + "\n"
        }
        let best = result.probabilities.indices.max { result.probabilities[$0] < result.probabilities[$1] } ?? 0
        var closing = "the sentence is classified \(classifier.labels[best]) (\(String(format: "%.4f", result.probabilities[best])))."
        if case let .label(name) = explanationTarget {
            let other = classifier.labels.first { $0 != name } ?? name
            closing += " target: p(\(name)); target class \(other) explains another label, classify off goes back."
        }
        return text + wrap(closing) + "\n"
    }

    // MARK: lime

    /// `lime N`: the samples, one forward pass per distinct one, the weighted ridge fit, and the
    /// coefficients as bars (see ``Lime``).
    func lime(samples n: Int) throws -> String {
        _ = try requireTrace()
        guard let sentence else { throw NotebookError.noSentence }
        let measure = try targetMeasure(explanationTarget)
        let words = Lime.Words(sentence)
        let d = words.count
        guard d > 0 else { throw NotebookError.usage(command: "lime", usage: "a sentence with at least one word: lime removes words") }
        let removable: ClosedRange<Int>
        if measure.runsWithoutWords {
            removable = 1...d
        } else {
            guard d > 1 else {
                throw NotebookError.lesson("lime removes words, and \(modelName) predicts nothing after an empty text: a sentence of two words or more, or classify LABELS (its template stays)")
            }
            removable = 1...(d - 1)
        }
        var generator = SplitMix64(seed: seed)
        let masks = Lime.masks(features: d, samples: n, removable: removable, generator: &generator)
        let sentenceIds = try measure.input(sentence).ids
        // Each distinct text once, in the order of first use; an encoder runs them in batches.
        var known: [String: Double] = [:]
        var texts: [String] = []
        var pending: [(text: String, ids: [Int])] = []
        var queued = Set<String>()
        for mask in masks {
            let text = words.text(keeping: mask)
            texts.append(text)
            if queued.insert(text).inserted { pending.append((text, try measure.input(text).ids)) }
        }
        var passes = 0, batches = 0
        var line = ProgressLine(self, command: "lime", unit: "samples", total: n)
        var start = 0, covered = 0
        while start < pending.count, !isInterrupted() {
            line.update(covered)
            // One batch: up to batchRows rows of an encoder's inputs, else one input.
            var end = start + 1
            if measure.batchValues != nil {
                var rows = pending[start].ids.count
                while end < pending.count, rows + pending[end].ids.count <= TargetMath.batchRows {
                    rows += pending[end].ids.count
                    end += 1
                }
            }
            var toRun: [(text: String, ids: [Int])] = []
            for (text, ids) in pending[start..<end] {
                if let sentenceValue = measure.knownSentenceValue, ids == sentenceIds { known[text] = sentenceValue } else { toRun.append((text, ids)) }
            }
            for ((text, _), value) in zip(toRun, measure.values(toRun.map(\.ids))) { known[text] = value }
            passes += toRun.count
            batches += toRun.isEmpty ? 0 : 1
            start = end
            while covered < texts.count, known[texts[covered]] != nil { covered += 1 }
        }
        let targets = texts.prefix { known[$0] != nil }.map { known[$0] ?? 0 }
        line.finish()
        let done = Array(masks.prefix(targets.count))
        guard !done.isEmpty else { return "lime stopped (Ctrl-C) before its first sample\n" }
        let distances = done.map(Lime.distance)
        let weights = distances.map { Lime.kernel($0) }
        let fit = Lime.ridge(done.map { $0.map { $0 ? 1.0 : 0.0 } }, targets, weights: weights)
        let result = LimeExplanation(words: words, masks: done, targets: targets, distances: distances, weights: weights,
                                     fit: fit, formula: measure.formula, forwardPasses: passes,
                                     batches: measure.batchValues != nil ? batches : nil, seed: seed, requested: n)
        lastLime = result
        return limeReport(result, removable: removable, sentenceValue: measure.knownSentenceValue)
    }

    /// What `lime` prints: how the samples were made and weighed, the fit, and each word's bar.
    func limeReport(_ r: LimeExplanation, removable: ClosedRange<Int>, sentenceValue: Double?) -> String {
        let d = r.words.count, n = r.masks.count
        let y = r.formula
        var text = fit("lime: LIME (Ribeiro et al. 2016) on y = \(y), \(n) samples") + "\n"
        let repeated = r.words.sequence.count > d
        text += wrap("words: the sentence's \(d) distinct words, split at spaces" + (repeated ? "; a word that comes again is removed everywhere at once" : ""), indent: "    ", first: "  ") + "\n"
        let kept = removable.upperBound < d ? "; one word at least stays, since \(modelName) predicts nothing after an empty text" : ""
        text += wrap("mᵢ: the words sample i keeps (1) or removes (0); m₀ keeps all, each other sample removes k, k uniform in \(removable.lowerBound)…\(removable.upperBound), the k drawn at random (seed \(r.seed))\(kept)", indent: "    ", first: "  ") + "\n"
        let distance = "  Dᵢ = 100 · (1 − √(kept / \(d)))"
        let weight = "  πᵢ = √exp(−Dᵢ² / 25²)"
        let column = max(MatrixRenderer.displayWidth(distance), MatrixRenderer.displayWidth(weight)) + 4
        text += fit(MatrixRenderer.pad(distance, column, alignLeft: true) + "the cosine distance of mᵢ from m₀, × 100") + "\n"
        text += fit(MatrixRenderer.pad(weight, column, alignLeft: true) + "the weight of sample i (kernel width 25)") + "\n"
        text += fit("  b, β = argmin Σᵢ πᵢ (yᵢ − b − mᵢ · β)² + ‖β‖²   weighted ridge, α = 1") + "\n"
        let skipped = Set(r.masks).count - r.forwardPasses
        let but = skipped > 0 ? ", but m₀, whose y is 1 by definition" : ""
        if let batches = r.batches {
            text += wrap("\(r.forwardPasses) of the \(n) samples through the model: one per distinct sample\(but); side by side, at most \(TargetMath.batchRows) tokens at a time, in \(batches) forward pass\(batches == 1 ? "" : "es")", indent: "    ", first: "  ") + "\n"
        } else {
            text += wrap("\(r.forwardPasses) forward pass\(r.forwardPasses == 1 ? "" : "es") for \(n) samples: one per distinct sample" + but, indent: "    ", first: "  ") + "\n"
        }
        if r.masks.count < r.requested {
            text += wrap("lime stopped (Ctrl-C) after \(r.masks.count) of \(r.requested) samples: the fit below uses those.") + "\n"
        }
        text += fit("β per word, largest |β| first (export lime writes them in the sentence's order):") + "\n"
        let order = r.fit.coefficients.indices.sorted { abs(r.fit.coefficients[$0]) > abs(r.fit.coefficients[$1]) || (abs(r.fit.coefficients[$0]) == abs(r.fit.coefficients[$1]) && $0 < $1) }
        text += bars(order.map { (r.words.features[$0], $0, r.fit.coefficients[$0]) })
        text += fit("intercept b = \(String(format: "%.4f", r.fit.intercept))   weighted R² = \(String(format: "%.4f", r.fit.score))") + "\n"
        text += wrap("b + Σβ = \(String(format: "%.4f", r.fit.localPrediction)) is what the fit says for the whole sentence; the model says y₀ = \(String(format: "%.4f", r.targets[0])).") + "\n"
        if n <= d {
            text += wrap("notice: \(n) samples for \(d) words: fewer samples than words, so the penalty, not the model, decides much of β; lime 500 samples more.") + "\n"
        } else if let up = order.first(where: { r.fit.coefficients[$0] > 0 }), let down = order.first(where: { r.fit.coefficients[$0] < 0 }) {
            text += wrap("notice: \(r.words.features[up]) raises \(y) most (\(String(format: "%+.4f", r.fit.coefficients[up])) when it is there), \(r.words.features[down]) lowers it most (\(String(format: "%+.4f", r.fit.coefficients[down]))).") + "\n"
        }
        text += wrap("lime_masks, lime_targets, lime_distances, lime_weights, lime_coef and lime_intercept hold these numbers for your math.") + "\n"
        return text + "\n"
    }

    // MARK: the math's names

    /// The names `lime` and `classify` give the math: read-only, like the model's.
    static let explanationNames = ["lime_masks", "lime_targets", "lime_distances", "lime_weights", "lime_coef", "lime_intercept",
                                   "class_p", "label_p", "dla_heads", "dla_mlp", "dla_embedding", "dla_bias", "dla_logit",
                                   "induction_scores", "previous_scores", "duplicate_scores", "induction_loss"]

    /// The names `induction` gives the math: each head's three scores (layers × heads) and the
    /// loss of the first and the second half (1 × 2).
    static let inductionNames = ["induction_scores", "previous_scores", "duplicate_scores", "induction_loss"]

    /// Why an explanation name has no value: nothing computed it yet.
    func explanationMissing(_ name: String) -> NotebookError {
        if name == "label_p", classifier != nil, !(model is any DecoderModel) {
            return NotebookError.math("label_p is a decoder's: the probabilities of its labels' first tokens; \(modelName) classifies by cosines, and class_p holds its probabilities")
        }
        if name.hasPrefix("dla_") {
            return NotebookError.math("\(name) holds what attribute computes, a decoder's direct logit attribution of the sentence's target: model smollm2 and a sentence first (not under classify)")
        }
        let source = name.hasPrefix("lime_") ? "lime" : Self.inductionNames.contains(name) ? "induction" : "classify LABELS"
        return NotebookError.math("\(name) holds what \(source) computes, and there is nothing yet: \(source) first")
    }

    /// The column labels of an explanation name, or of a slice of one: lime's words for lime_masks
    /// and lime_coef, the labels for class_p and label_p, none for the others (sample numbers
    /// label their rows). Nil when `expression` is not one.
    func explanationLabels(_ expression: MathExpression, columns: Int) -> [String]?? {
        var base = expression
        if case let .index(inner, _, _) = expression { base = inner }
        guard case let .name(name) = base, Self.explanationNames.contains(name), learnerNames[name] == nil else { return nil }
        switch name {
        case "lime_masks", "lime_coef":
            guard let words = lastLime?.words.features, words.count == columns else { return .some(nil) }
            return .some(words)
        case "class_p", "label_p":
            guard let labels = classifier?.labels, labels.count == columns else { return .some(nil) }
            return .some(labels)
        default:
            return .some(nil)
        }
    }

    /// The names of ``explanationNames`` there are values for now.
    var availableExplanationNames: [String] {
        var names: [String] = []
        if lastLime != nil { names += Self.explanationNames.filter { $0.hasPrefix("lime_") } }
        if lastInduction != nil { names += Self.inductionNames }
        if classifier != nil, sentence != nil {
            names.append("class_p")
            if model is any DecoderModel { names.append("label_p") }
        }
        if model is any ResidualStreamDecoder, sentence != nil, cachedTrace != nil {
            switch explanationTarget {
            case .top, .token, .difference: names += Self.explanationNames.filter { $0.hasPrefix("dla_") }
            case .label, .like: break
            }
        }
        return names
    }

    /// The values of the explanation names in `needed` (all when nil): the last lime's samples,
    /// targets, distances, kernel weights (N × 1 each, masks N × d), coefficients (1 × d) and
    /// intercept; the classifier's probabilities of the labels for the sentence (1 × K), and on a
    /// decoder those of their first tokens (1 × K).
    func explanationValues(needed: Set<String>?) throws -> [String: MathValue] {
        let wanted = availableExplanationNames.filter { needed?.contains($0) ?? true }
        guard !wanted.isEmpty else { return [:] }
        var values: [String: MathValue] = [:]
        func column(_ x: [Double]) -> MathValue { .matrix(Matrix(rows: x.count, columns: 1, values: x.map(Float.init))) }
        func row(_ x: [Double]) -> MathValue { .matrix(Matrix(rows: 1, columns: x.count, values: x.map(Float.init))) }
        if let r = lastLime {
            let d = r.words.count
            values["lime_masks"] = .matrix(Matrix(rows: r.masks.count, columns: d, values: r.masks.flatMap { $0.map { $0 ? 1 : 0 } }))
            values["lime_targets"] = column(r.targets)
            values["lime_distances"] = column(r.distances)
            values["lime_weights"] = column(r.weights)
            values["lime_coef"] = row(r.fit.coefficients)
            values["lime_intercept"] = .scalar(Float(r.fit.intercept))
        }
        if wanted.contains(where: { $0.hasPrefix("dla_") }) {
            values.merge(try attributionValues()) { $1 }
        }
        if let s = lastInduction {
            values["induction_scores"] = .matrix(s.induction)
            values["previous_scores"] = .matrix(s.previous)
            values["duplicate_scores"] = .matrix(s.duplicate)
            values["induction_loss"] = row([s.firstLoss, s.secondLoss])
        }
        if let classifier, let sentence, wanted.contains(where: { $0 == "class_p" || $0 == "label_p" }) {
            let (result, _) = try classification(of: sentence, classifier)
            values["class_p"] = row(result.probabilities)
            if !result.tokenProbabilities.isEmpty { values["label_p"] = row(result.tokenProbabilities) }
        }
        return values.filter { wanted.contains($0.key) }
    }

    // MARK: export lime, plot lime

    /// `export lime PATH.csv`: each word and its coefficient, in the sentence's order.
    func exportLime(to path: String) throws -> String {
        let r = try requireLime("export lime")
        let target = try csvTarget(path, command: "export lime")
        var text = "word,coefficient\n"
        for (word, beta) in zip(r.words.features, r.fit.coefficients) {
            text += csvField(word) + "," + String(format: "%.9g", beta) + "\n"
        }
        try write(Data(text.utf8), to: target)
        return "wrote \(r.words.count) words with their coefficients (the sentence's order) to \(target.described)\n"
    }

    /// A CSV field: quoted when it holds a comma, a quote or a line end (RFC 4180).
    func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `plot lime PATH.svg`: the coefficients as an SVG bar chart.
    func plotLime(to path: String) throws -> String {
        let r = try requireLime("plot lime")
        let target = try svgTarget(path, command: "plot lime")
        let chart = SVGBarChart(labels: r.words.features, values: r.fit.coefficients,
                                title: "LIME: β per word for y = \(r.formula)",
                                subtitle: "\(describeModelShort) · \(r.masks.count) samples, seed \(r.seed) · b = \(String(format: "%.4f", r.fit.intercept)) · weighted R² = \(String(format: "%.4f", r.fit.score))")
        try write(Data(chart.render().utf8), to: target)
        return "wrote lime's \(r.words.count) coefficients as an SVG bar chart to \(target.described)\n"
    }

    func requireLime(_ command: String) throws -> LimeExplanation {
        guard let lastLime else { throw NotebookError.lesson("\(command) writes the coefficients of the last lime, and there is none yet: lime first") }
        return lastLime
    }
}
