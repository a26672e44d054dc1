import AttnCore
import Foundation

/// `induction [N]`: N random tokens repeated twice, every head's induction, previous-token and
/// duplicate-token score on them, and the model's loss on each half.
struct InductionCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["induction"], synopsis: ["induction [N]"],
        help: [("induction", "induction [N] (a decoder; 2 ≤ N ≤ 200, default 25): finds induction heads as TransformerLens's head detector does. N random ordinary tokens of the vocabulary (a space and letters, drawn from the seed: seed N), repeated once, after BOS where the model starts with one, become the sentence. Every head's induction score is the mean attention of each token of the second half to the token after its earlier occurrence, weights[i, i − N + 1]; its previous-token score the mean of weights[i, i − 1]; its duplicate-token score the mean of weights[i, i − N]. Shows the induction scores as a layers × heads grid, the top heads of each kind, and the loss (mean −log p of each token given those before it) on each half: far lower on the repeated half when the model has induction heads. One forward pass; the loss counts the ablated heads (ablate head L H), so ablating the top heads shows what they do. weights of a top head shows its stripe. induction_scores, previous_scores and duplicate_scores (layers × heads) and induction_loss (the first half's, the second's) hold the numbers for your math and check; export induction PATH.csv and plot induction PATH.svg write the scores; sentence TEXT goes back to a text of your own.")])
    var setsLessonState: Bool { true }

    static let defaultCount = 25
    static let counts = 2...200

    var count: Int

    init(word: String, arguments: String) throws {
        let usage = "induction [N] with \(Self.counts.lowerBound) ≤ N ≤ \(Self.counts.upperBound) random tokens, repeated once (default \(Self.defaultCount))"
        count = try Arguments.count(arguments, command: word, default: Self.defaultCount, range: Self.counts, usage: usage)
    }

    func run(in session: Session) throws -> String { try session.induction(count: count) }
}

extension Session {
    /// `induction N`: the repeated sequence made the sentence, one trace of it, the scores of
    /// every head and the loss of each half (see ``Induction``).
    func induction(count n: Int) throws -> String {
        let decoder = try requireDecoder("induction")
        guard 2 * n + 1 <= decoder.tokenLimit else {
            throw NotebookError.lesson("induction \(n) needs \(2 * n) tokens and \(modelName) traces at most \(decoder.tokenLimit): a smaller N")
        }
        var generator = SplitMix64(seed: seed)
        guard let sequence = Induction.sequence(count: n, decoder: decoder, generator: &generator) else {
            throw NotebookError.lesson("\(modelName)'s vocabulary has too few ordinary words (a space and letters, read back as one token) for \(n) distinct ones: a smaller N")
        }
        let trace = try setSentence(sequence.text)
        let scores = Induction.scores(trace, sequence, seed: seed, ablated: ablated)
        lastInduction = scores
        return inductionReport(scores, trace)
    }

    /// What `induction` prints.
    func inductionReport(_ s: Induction.Scores, _ trace: Trace) -> String {
        let n = s.sequence.half, b = s.sequence.start
        let shown = s.sequence.tokens.prefix(6).map(label(for:)).joined(separator: " ")
        var text = fit("induction: \(n) random tokens (seed \(s.seed)), repeated once: \(trace.count) tokens, now the sentence") + "\n"
        let halves = "\(b == 1 ? "\(trace.tokens[0]) " : "")\(shown)\(n > 6 ? " …" : "") | \(shown)\(n > 6 ? " …" : "")"
        text += wrap(halves, indent: "    ", first: "  ") + "\n"
        text += fit("  first half: positions \(b)…\(b + n - 1); second half: \(b + n)…\(b + 2 * n - 1), each a repeat") + "\n"
        let second = "i = \(b + n)…\(b + 2 * n - 1)"
        text += fit("  induction(l, h) = mean of weights[i, i − \(n - 1)] over \(second)") + "\n"
        text += fit("  previous(l, h)  = mean of weights[i, i − 1] over i = 1…\(trace.count - 1)") + "\n"
        text += fit("  duplicate(l, h) = mean of weights[i, i − \(n)] over \(second)") + "\n"
        text += wrap("induction: attention to the token after the earlier occurrence of the query's token; previous: to the token before; duplicate: to the earlier occurrence itself.", indent: "    ", first: "    ") + "\n"
        text += fit("  1 forward pass: every head's weights and the logits come from the sentence's one trace") + "\n"
        text += fit("induction score, layers (rows) × heads (columns):") + "\n"
        let layers = (0..<s.induction.rows).map { "L\($0)" }, heads = (0..<s.induction.columns).map { "H\($0)" }
        text += renderLayerGrid(s.induction, rowLabels: layers, columnLabels: heads,
                           title: "induction score = mean weights[i, i − \(n - 1)] over the second half", location: "every layer and head")
        for (name, m) in [("induction", s.induction), ("previous-token", s.previous), ("duplicate-token", s.duplicate)] {
            let top = Induction.top(m, count: 5).map { "L\($0.index.layer) H\($0.index.head) \(String(format: "%.2f", Double($0.value)))" }
            text += wrap("top \(name) heads: " + top.joined(separator: ", "), indent: "    ", first: "  ") + "\n"
        }
        text += fit("loss = mean over j of −log softmax(logits[j − 1])[ids[j]], each token given those before it:") + "\n"
        let first = max(1, s.sequence.firstHalf.lowerBound)
        text += fit("  first half   (tokens \(first)…\(b + n - 1)):  \(String(format: "%.2f", s.firstLoss))   random: nothing to predict them from") + "\n"
        text += fit("  second half  (tokens \(b + n)…\(b + 2 * n - 1)):  \(String(format: "%.2f", s.secondLoss))   each a repeat of the first") + "\n"
        text += wrap(ablated.isEmpty ? "no head is ablated; ablate head L H on the top heads, then induction again, shows what they do."
                     : "ablated: \(ablationList), in the loss; their scores still show where they look, but their z is zero. ablate clear restores them.") + "\n"
        text += wrap("induction_scores, previous_scores, duplicate_scores (layers × heads) and induction_loss (1 × 2) hold these numbers for your math.") + "\n"
        if let top = Induction.top(s.induction, count: 1).first {
            text += wrap("the sentence is now the repeated tokens: layer \(top.index.layer), head \(top.index.head), then weights, shows the top head's stripe; sentence TEXT goes back to your own.") + "\n"
        }
        return text + "\n"
    }

    /// A layers × heads (or positions) grid, heat-shaded as the token × token matrices are, with
    /// at most three decimals so that nine heads fit in 80 columns.
    func renderLayerGrid(_ m: Matrix, rowLabels: [String], columnLabels: [String], title: String, location: String) -> String {
        let precision = renderer.precision
        renderer.precision = min(precision, 3)
        defer { renderer.precision = precision }
        return renderTokenMatrix(m, rowLabels: rowLabels, columnLabels: columnLabels, title: title, location: location)
    }

    // MARK: export induction, plot induction

    func requireInduction(_ command: String) throws -> Induction.Scores {
        guard let lastInduction else { throw NotebookError.lesson("\(command) writes the scores of the last induction, and there is none yet: induction first") }
        return lastInduction
    }

    /// `export induction PATH.csv`: each head's three scores.
    func exportInduction(to path: String) throws -> String {
        let s = try requireInduction("export induction")
        let target = try csvTarget(path, command: "export induction")
        var text = "layer,head,induction,previous_token,duplicate_token\n"
        for l in 0..<s.induction.rows {
            for h in 0..<s.induction.columns {
                text += "\(l),\(h)," + [s.induction[l, h], s.previous[l, h], s.duplicate[l, h]].map { String(format: "%.9g", Double($0)) }.joined(separator: ",") + "\n"
            }
        }
        try write(Data(text.utf8), to: target)
        return "wrote the induction, previous-token and duplicate-token scores of \(s.induction.rows * s.induction.columns) heads to \(target.described)\n"
    }

    /// `plot induction PATH.svg`: the induction scores as a layers × heads heatmap.
    func plotInduction(to path: String) throws -> String {
        let s = try requireInduction("plot induction")
        let target = try svgTarget(path, command: "plot induction")
        let n = s.sequence.half
        let layers = (0..<s.induction.rows).map { "L\($0)" }, heads = (0..<s.induction.columns).map { "H\($0)" }
        let title = "induction score = mean weights[i, i − \(n - 1)] over the second half"
        let location = "\(n) random tokens × 2, seed \(s.seed)"
        let chart = heatmap(s.induction, rowLabels: layers, columnLabels: heads, title: title, location: location)
        return try writePlot(chart, to: target,
                             report: "wrote the induction scores (layers × heads) \(s.induction.shapeDescription) as an SVG heatmap to \(target.described)\n")
    }
}
