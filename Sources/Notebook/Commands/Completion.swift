import AttnCore

/// What Tab offers at the cursor.
public enum Completion: Equatable, Sendable {
    /// These words (already filtered by the prefix being typed).
    case words([String])
    /// File names: the line editor completes paths itself.
    case files
}

extension Session {
    /// Completions for `word`, the partial word at the cursor, given the text before it.
    ///
    /// The first word completes to commands, the model's steps and the math's names; later words
    /// are the command's to complete (steps after `show`, numbers after `layer`, a path after
    /// `export STEP`), else the math's names and functions.
    public func completions(before: String, word: String) -> Completion {
        let previous = before.split(separator: " ").map(String.init)
        guard let command = previous.first else {
            // Steps are commands too, but only the selected model's.
            let otherModelSteps = Set(StepInfo.names).subtracting(availableSteps.map(\.rawValue))
            return CompletionRequest(session: self, command: "", previous: [], word: word)
                .matching((Commands.words + mathNames).filter { !otherModelSteps.contains($0) })
        }
        let request = CompletionRequest(session: self, command: command, previous: Array(previous.dropFirst()), word: word)
        if let completion = Commands.byWord[command]?.completions(request) { return completion }
        if previous.count == 1, let step = Step(rawValue: command), step.scope != .sentence {
            return request.matching(["all"])  // `weights all`
        }
        return request.matching(mathNames + MathSyntax.functions)
    }
}
