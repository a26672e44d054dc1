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
    /// The first word completes to commands, steps and names; later words depend on the command:
    /// steps after `show`/`export`/`help`, a path after `export STEP`, numbers after `layer`/`head`.
    public func completions(before: String, word: String) -> Completion {
        let previous = before.split(separator: " ").map(String.init)
        func matching(_ candidates: [String]) -> Completion {
            var seen = Set<String>()
            return .words(candidates.filter { $0.hasPrefix(word) && seen.insert($0).inserted })
        }
        guard let command = previous.first else {
            // Steps are commands too, but only the selected model's.
            let otherModelSteps = Set(StepInfo.names).subtracting(availableSteps.map(\.rawValue))
            return matching((Command.words + extraCommandWords + mathNames).filter { !otherModelSteps.contains($0) })
        }
        switch (command, previous.count) {
        case ("export", 1): return matching(["tokens", "rollout"] + availableSteps.map(\.rawValue) + learnerNames.keys.sorted())
        case ("export", 2) where !word.isEmpty && "all".hasPrefix(word) && Step(rawValue: previous[1]).map({ $0.scope != .sentence }) == true:
            return matching(["all"])
        case ("export", _): return .files
        case ("model", 1): return matching(ModelSource.all.map(\.name))
        case ("model", _): return .files
        case ("check", _) where !word.isEmpty && previous.count >= 2:
            return matching(mathNames + extraMathWords)
        case ("show", 2) where Step(rawValue: previous[1]) != nil: return matching(["all"])
        case (_, 1) where Step(rawValue: command).map({ $0.scope != .sentence }) == true: return matching(["all"])
        case ("show", 1), ("help", 1), ("?", 1):
            return matching(availableSteps.map(\.rawValue)
                + (command == "help" || command == "?" ? Command.words + ["math"] + MathSyntax.functions : []))
        case ("layer", 1): return matching((0..<(model?.layers ?? 0)).map(String.init))
        case ("head", 1): return matching((0..<(model?.heads ?? 0)).map(String.init))
        case ("sentence", _): return .words([])
        case ("plot", 1): return matching(Step.allCases.filter(\.isTokenByToken).map(\.rawValue) + ["rollout"])
        case ("plot", _), ("save", 2...): return .files
        case ("save", 1): return matching(["transcript"])
        case ("ablate", 1): return matching(["head", "clear"])
        case ("ablate", 2) where previous[1] == "head": return matching((0..<(model?.layers ?? 0)).map(String.init))
        case ("ablate", 3) where previous[1] == "head": return matching((0..<(model?.heads ?? 0)).map(String.init))
        case ("heads", 1): return matching(["all"])
        case ("del", _): return matching(learnerNames.keys.sorted())
        case ("neuron", 1), ("neuron", 2): return matching((0..<cachedTokens.count).map(String.init))
        default: return matching(mathNames + extraMathWords)
        }
    }

    /// Command words beyond `Command.words`.
    var extraCommandWords: [String] { [] }
    /// Functions of the learner's math.
    var extraMathWords: [String] { MathSyntax.functions }
}
