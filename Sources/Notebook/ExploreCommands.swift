import AttnCore

/// Explaining what the heads do: their patterns, one score's products, rollout, ablation and
/// occlusion.
enum ExploreCommands: CommandGroup {
    static let title = "explore"
    static let commands: [any NotebookCommand.Type] = [
        HeadsCommand.self, NeuronCommand.self, RolloutCommand.self, ImportanceCommand.self, AblateCommand.self,
    ]

    /// For commands that take none.
    static func noArguments(_ word: String, _ arguments: String) throws {
        guard arguments.isEmpty else { throw NotebookError.usage(command: word, usage: "\(word) (no arguments)") }
    }
}

/// `heads [all]`: each head's entropy, most attended key and pattern.
struct HeadsCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["heads"], synopsis: ["heads [all]"], help: [("heads", "heads (heads all: every layer): one row per head of the selected layer: the entropy of its weights in bits (mean over the query rows), the key most queries attend to most (a token, or i−1 for the previous token, i for itself), and a pattern tag computed from the weights: previous token, same token, next token (an encoder), [CLS] or first-token sink, [SEP] sink, broad (high entropy) or mixed, with its mean weight."), ("heads all", "heads all: the heads table of every layer at once: entropy, most attended key and pattern tag per head.")])

    var allLayers: Bool

    init(word: String, arguments: String) throws {
        guard arguments.isEmpty || arguments == "all" else {
            throw NotebookError.usage(command: "heads", usage: "heads (the selected layer) or heads all")
        }
        allLayers = arguments == "all"
    }

    func run(in session: Session) throws -> String { try session.headsSummary(allLayers: allLayers) }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(["all"]) : nil
    }
}

/// `neuron I J`: the products of query I and key J, dimension by dimension.
struct NeuronCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["neuron"], synopsis: ["neuron I J"], help: [("neuron", "neuron I J: the neuron view of one score of the selected head: for query token I and key token J (numbered as tokens shows them), the products q_I[d]·k_J[d] of every dimension, their sum, which is scores[I, J], and the dimensions that push it up and down most.")])

    var query: Int
    var key: Int

    init(word: String, arguments: String) throws {
        let usage = "neuron I J (query token I, key token J, numbered as tokens shows them), e.g. neuron 2 1"
        let parts = arguments.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 2 else { throw NotebookError.usage(command: "neuron", usage: usage) }
        query = try Arguments.number(parts[0], command: "neuron", usage: usage)
        key = try Arguments.number(parts[1], command: "neuron", usage: usage)
    }

    func run(in session: Session) throws -> String { try session.neuron(query: query, key: key) }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.count < 2 ? request.matching((0..<request.session.cachedTokens.count).map(String.init)) : nil
    }
}

/// `rollout`: attention rollout through every layer.
struct RolloutCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["rollout"], synopsis: ["rollout"], help: [("rollout", "rollout: attention rollout (Abnar & Zuidema 2020): per layer the mean of the heads' weights plus the identity for the residual, rows renormalised, multiplied from layer 0 up; row i says how much of each input token reaches token i. export rollout PATH and plot rollout PATH.svg write it.")])

    init(word: String, arguments: String) throws {
        try ExploreCommands.noArguments(word, arguments)
    }

    func run(in session: Session) throws -> String { try session.showRollout() }
}

/// `importance`: occlusion, one forward pass per token.
struct ImportanceCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(words: ["importance"], synopsis: ["importance"], help: [("importance", "importance: occlusion, in the spirit of LIME: each token is removed in turn and the model runs again. minilm: 1 − cosine between the sentence embedding with and without the token ([CLS] and [SEP] stay); smollm2: how much the probability of the predicted next token drops without it. Drawn as a bar chart. One forward pass per token: it shows how far it has come, and Ctrl-C stops it with the tokens done.")])

    init(word: String, arguments: String) throws {
        try ExploreCommands.noArguments(word, arguments)
    }

    func run(in session: Session) throws -> String { try session.importance() }
}

/// `ablate head L H` zeroes one head's output; `ablate clear` restores every head.
struct AblateCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["ablate"], synopsis: ["ablate head L H", "ablate clear"],
        help: [("ablate", "ablate head L H: zeroes the output z of layer L's head H and runs the model again; everything after it changes, everything before stays. Shows the effect: minilm, the cosine of the sentence embedding before and after; smollm2, the next-token top 5 before → after. Steps, exports and plots show the ablated model until ablate clear restores every head."), ("ablate clear", "ablate clear: restores every ablated head; the model runs again as it was.")])

    /// The head to zero; nil for `ablate clear`.
    var head: Attention.HeadIndex?

    init(word: String, arguments: String) throws {
        let usage = "ablate head L H (zero layer L's head H), or ablate clear"
        let parts = arguments.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if parts == ["clear"] {
            head = nil
            return
        }
        guard parts.count == 3, parts[0] == "head" else { throw NotebookError.usage(command: "ablate", usage: usage) }
        head = Attention.HeadIndex(layer: try Arguments.number(parts[1], command: "ablate", usage: usage),
                                   head: try Arguments.number(parts[2], command: "ablate", usage: usage))
    }

    func run(in session: Session) throws -> String {
        guard let head else { return try session.clearAblation() }
        return try session.ablate(layer: head.layer, head: head.head)
    }

    static func completions(_ request: CompletionRequest) -> Completion? {
        switch request.previous {
        case []: request.matching(["head", "clear"])
        case ["head"]: request.matching(request.layerNumbers)
        case let p where p.count == 2 && p[0] == "head": request.matching(request.headNumbers)
        default: nil
        }
    }
}
