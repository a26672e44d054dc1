import AttnCore

/// `corrupt TEXT`, `corrupt`, `corrupt off`: the corrupted sentence activation patching runs
/// beside the sentence (the clean one).
struct CorruptCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["corrupt"], synopsis: ["corrupt TEXT", "corrupt", "corrupt off"],
        help: [("corrupt", "corrupt TEXT (a decoder): the corrupted sentence for patch, with as many tokens as the sentence (the clean one), e.g. sentence The capital of France is, then corrupt The capital of Italy is. corrupt alone shows both, token by token; corrupt off forgets it. corrupt \"…\" takes the escapes of sentence."), ("corrupt off", "corrupt off: no corrupted sentence.")])
    var setsLessonState: Bool { action != .show }

    enum Action: Equatable { case show, off, text(String) }
    var action: Action

    init(word: String, arguments: String) throws {
        switch arguments {
        case "": action = .show
        case "off": action = .off
        default: action = .text(try Arguments.sentenceText(arguments))
        }
    }

    func run(in session: Session) throws -> String {
        switch action {
        case .show: return try session.showCorrupt()
        case .off:
            guard session.corruptSentence != nil else { return "no corrupted sentence: corrupt TEXT sets one\n" }
            session.corruptSentence = nil
            return "corrupt off: no corrupted sentence\n"
        case let .text(text): return try session.setCorrupt(text)
        }
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(["off"]) : nil
    }
}

extension Session {
    /// The clean and corrupted model inputs, checked to be as long as each other.
    func corruptedPair(_ command: String, corrupt text: String) throws -> (clean: [Int], corrupt: [Int]) {
        let decoder = try requireDecoder(command)
        guard let sentence, cachedTrace != nil else {
            throw NotebookError.lesson("\(command) needs the clean sentence first: sentence TEXT, then corrupt TEXT with as many tokens")
        }
        let clean = decoder.inputIds(sentence), corrupt = decoder.inputIds(text)
        guard corrupt.count == clean.count else {
            throw NotebookError.lesson("the corrupted sentence has \(corrupt.count) token\(corrupt.count == 1 ? "" : "s") and the sentence \(clean.count): patching needs as many in both; change a word for a word of as many tokens (tokens shows them)")
        }
        return (clean, corrupt)
    }

    /// `corrupt TEXT`: checked against the sentence, then shown.
    func setCorrupt(_ text: String) throws -> String {
        _ = try corruptedPair("corrupt", corrupt: text)
        corruptSentence = text
        return try showCorrupt()
    }

    /// `corrupt`: the two sentences, token by token, and where they differ.
    func showCorrupt() throws -> String {
        guard let corruptSentence else { return "no corrupted sentence: corrupt TEXT sets one, as many tokens as the sentence (help corrupt)\n" }
        let decoder = try requireDecoder("corrupt")
        let (clean, corrupt) = try corruptedPair("corrupt", corrupt: corruptSentence)
        let differ = clean.indices.filter { clean[$0] != corrupt[$0] }
        var text = wrap("corrupt: \(corrupt.count) tokens: " + corrupt.map(decoder.tokenLabel).joined(separator: " "), indent: "    ") + "\n"
        text += wrap("clean:   \(clean.count) tokens: " + clean.map(decoder.tokenLabel).joined(separator: " "), indent: "    ") + "\n"
        let where_ = differ.isEmpty ? "none: the two are the same tokens, and patching changes nothing"
            : differ.map { "\($0) (\(decoder.tokenLabel(clean[$0])) → \(decoder.tokenLabel(corrupt[$0])))" }.joined(separator: ", ")
        text += wrap("positions that differ: " + where_ + ". patch writes the clean run's activations into the corrupted run.") + "\n"
        return text
    }
}
