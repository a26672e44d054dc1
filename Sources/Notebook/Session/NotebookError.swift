import AttnCore

/// Everything a learner can get wrong in the notebook, each with a sentence that says what to do.
public enum NotebookError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownCommand(String, suggestion: String?)
    case usage(command: String, usage: String)
    case notANumber(command: String, text: String)
    case layerOutOfRange(Int, model: String, layers: Int)
    case headOutOfRange(Int, model: String, heads: Int)
    case noSentence
    case emptySentence
    /// A name that is none of attn's models and no repository in the Hugging Face cache.
    case unknownModel(String, hubCache: String)
    /// A name that is no step; `steps` are the ones to list (the selected model's, where known).
    case unknownStep(String, suggestion: String?, steps: [String] = StepInfo.names)
    case exportFormat(path: String)
    case stepNotInModel(String, model: String)
    case logitsTooLarge(tokens: Int, vocabulary: Int)
    case unterminatedQuote
    case badEscape(String)
    case textAfterQuote(String)
    case precisionOutOfRange(Int)
    case core(AttnError)
    /// A problem in the learner's math, already phrased as a sentence (see `MathError`).
    case math(String)
    /// A problem with a lesson or with following one, already phrased as a sentence.
    case lesson(String)
    /// A token index outside the sentence (`neuron I J`).
    case tokenOutOfRange(Int, count: Int)
    /// A step that is not token × token where one is needed (`plot`).
    case notTokenByToken(String, shape: String)
    /// A file name whose ending is not the one the command writes (`plot`: .svg, `save transcript`: .md).
    case fileType(path: String, command: String, expected: String)
    /// Digits too many for any count or index (`layer 99999999999999999999`).
    case numberTooLarge(command: String, text: String, usage: String)
    /// A file name without one of the suffixes the command writes (`export tokens`: .tsv or .txt).
    case fileSuffixes(path: String, command: String, accepted: [String])
    /// A file that exists and that this session did not write.
    case fileExists(path: String, command: String)
    /// `help TOPIC` for a topic there is no help on.
    case noHelp(String, suggestion: String?)
    /// `STEP all` for a step the sentence has once, not once per layer (`embeddings`, `logits`).
    case notPerLayer(String)
    /// More than two dimensions for a file that holds two (`export weights all w.csv`).
    case needsNumPy(command: String, path: String, shape: String)
    /// `STEP all` cannot show this sentence in this width.
    case overviewDoesNotFit(step: String, reason: String)
    /// `save notebook`: the page would hold more than a browser opens comfortably.
    case pageTooLarge(limit: Int)

    public var description: String {
        switch self {
        case let .unknownCommand(name, suggestion):
            return "unknown command '\(shown(name))'" + (suggestion.map { ": did you mean '\($0)'? (type help for the list)" } ?? ": type help for the list of commands")
        case let .usage(_, usage):
            return "usage: \(usage)"
        case let .notANumber(command, text):
            return "\(command) takes a whole number, not '\(shown(text))'"
        case let .layerOutOfRange(layer, model, layers):
            return "layer \(layer) does not exist: \(model) has layers 0…\(layers - 1)"
        case let .headOutOfRange(head, model, heads):
            return "head \(head) does not exist: \(model) has heads 0…\(heads - 1)"
        case .noSentence:
            return "no sentence yet: type, for example, sentence the cat sat on the mat"
        case .emptySentence:
            return "the sentence is empty: type sentence followed by some text"
        case let .unknownModel(name, hubCache):
            return "unknown model '\(shown(name))': attn knows \(ModelSource.all.map(\.name).joined(separator: ", ")), "
                + "and the Hugging Face cache (\(shown(hubCache))) holds no repository of that name"
        case let .unknownStep(name, suggestion, steps):
            return "unknown step '\(shown(name))'" + (suggestion.map { ": did you mean '\($0)'?" } ?? ": the steps are \(steps.joined(separator: ", "))")
        case let .stepNotInModel(step, model):
            return "\(model) has no step \(step): another architecture computes it (help \(step) explains it)"
        case let .logitsTooLarge(tokens, vocabulary):
            let gigabytes = String(format: "%.2f", ModelBudget.logitsBytes(tokens: tokens, vocabulary: vocabulary) / Double(1 << 30))
            let fits = ModelBudget.maximumLogitsTokens(vocabulary: vocabulary)
            return "the logits of \(tokens) tokens are \(tokens) × \(vocabulary) numbers (\(gigabytes) GiB), more than attn computes at once (\(ModelBudget.maximumLogitsBytes >> 30) GiB): "
                + "predict shows the next token's; a sentence of at most \(fits) tokens shows them all"
        case let .exportFormat(path):
            return "cannot tell the format of \(shown(path)): end the file name with .npy or .csv (or .tsv/.txt for tokens)"
        case .unterminatedQuote:
            return "the quoted sentence has no closing \": add one at the end"
        case let .badEscape(sequence):
            return "unknown escape \(sequence) in the quoted sentence: use \\n \\t \\r \\\" or \\\\"
        case let .textAfterQuote(text):
            return "unexpected text after the closing quote: '\(shown(text))'"
        case let .precisionOutOfRange(n):
            return "precision \(n) is out of range: choose 0…8 digits"
        case let .core(error):
            return error.description
        case let .math(message), let .lesson(message):
            return message
        case let .tokenOutOfRange(index, count):
            return "token \(index) does not exist: the sentence has tokens 0…\(count - 1) (tokens lists them)"
        case let .notTokenByToken(step, shape):
            return "\(step) is \(shape), not token × token: plot draws scores, scaled, masked, weights or rollout"
        case let .fileType(path, command, expected):
            return "\(command) writes .\(expected) files: end the file name with .\(expected) (not \(shown(path)))"
        case let .numberTooLarge(command, text, usage):
            return "\(command) \(shown(text)) is out of range: \(usage)"
        case let .fileSuffixes(path, command, accepted):
            return "\(command) writes \(accepted.joined(separator: " or ")) files: end the file name with one of them (not \(shown(path)))"
        case let .fileExists(path, command):
            return "\(shown(path)) exists, and this session did not write it: to replace it, end the name with ! (\(command) \(shown(path))!), or choose another name"
        case let .noHelp(topic, suggestion):
            return "there is no help on '\(shown(topic))'" + (suggestion.map { ": did you mean help \($0)?" } ?? ": help lists the commands, help math the math")
        case let .overviewDoesNotFit(step, reason):
            return "\(step) all cannot show every head here: \(reason); export \(step) all PATH.npy writes every layer and head, and heads all sums them up"
        case let .pageTooLarge(limit):
            return "the notebook would be larger than \(limit / 1_000_000) MB, more than a page should hold: save transcript PATH.md writes its text, plot and export its matrices"
        case let .notPerLayer(step):
            return "\(step) is one matrix for the whole sentence, not one per layer: \(step) shows it and export \(step) PATH writes it"
        case let .needsNumPy(command, path, shape):
            return "\(command) is \(shape), and \(shown(path)) would hold two dimensions (.csv is rows and columns): write .npy instead, e.g. \(command) \(shown(path.lowercased().hasSuffix(".csv") ? String(path.dropLast(4)) + ".npy" : "all.npy"))"
        }
    }
}

/// A piece of the learner's input quoted in an error: control characters escaped (so they cannot
/// move the terminal's cursor), and at most 40 characters.
func shown(_ text: String) -> String {
    let out = escapingControlCharacters(text)
    return out.count > 40 ? String(out.prefix(39)) + "…" : out
}

/// `text` with control and format characters written as `\u{…}`: an error line that quotes the
/// learner's input cannot move the cursor, change colours or reverse the text.
public func escapingControlCharacters(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        let category = scalar.properties.generalCategory
        if category == .control || category == .format || category == .lineSeparator || category == .paragraphSeparator {
            out += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// Levenshtein distance.
func editDistance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
