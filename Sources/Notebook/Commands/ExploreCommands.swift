import AttnCore
import Foundation

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
    static let definition = CommandDefinition(words: ["importance"], synopsis: ["importance"], help: [("importance", "importance: occlusion, in the spirit of LIME: each token of the sentence is removed in turn and the model runs again; the bar is how far the target (target, classify) falls without it. By default, minilm: 1 − cosine between the sentence embedding with and without the token ([CLS] and [SEP] stay); smollm2: how much the probability of the predicted next token drops without it. Under classify only the sentence's tokens go, the template stays. Drawn as a bar chart. One forward pass per token: it shows how far it has come, and Ctrl-C stops it with the tokens done.")])

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

/// What the explore commands print: the numbers come from the analysis of the trace (in
/// Analysis/), the words, widths and layout from here.
extension Session {
    // MARK: heads

    /// `heads` / `heads all`: one row per head with its entropy, where its queries look most, and
    /// a pattern tag computed from the weights (see ``HeadPattern``).
    func headsSummary(allLayers: Bool) throws -> String {
        let trace = try requireTrace()
        let model = try requireModel()
        let layers = allLayers ? Array(0..<model.sizes.layers) : [layer]
        let causal = trace.isCausal
        let t = trace.count
        let choosing = HeadPattern.rowsWithChoice(count: t, causal: causal)
        var text: String
        if allLayers {
            text = "heads of every layer: \(model.sizes.layers) layers × \(model.sizes.heads) heads, \(t) tokens\n"
        } else {
            text = "heads of layer \(layer): \(model.sizes.heads) heads, \(t) tokens\n"
        }
        let maximum = causal ? "log₂(i + 1) for row i" : "log₂ \(t) = \(String(format: "%.2f", log2(Double(max(t, 1)))))"
        text += wrap("entropy: bits, mean over the \(t) query rows (at most \(maximum)); top key: the key most "
            + "queries attend to most" + (causal ? ", over rows 1…\(t - 1) (row 0 sees only itself)" : "")
            + "; i−1 is the previous token, i the token itself.") + "\n"
        let labelWidth = allLayers ? 3 : 0
        let topWidth = 16
        var header = allLayers ? MatrixRenderer.pad("L", labelWidth) + "  " : ""
        header += "head  entropy  " + MatrixRenderer.pad("top key", topWidth, alignLeft: true) + "  pattern"
        text += header + "\n"
        for l in layers {
            for h in 0..<model.sizes.heads {
                let weights = trace.layers[l].heads[h].weights
                let summary = HeadPattern(weights: weights, causal: causal, tokens: trace.tokens)
                var line = allLayers ? MatrixRenderer.pad(String(l), labelWidth) + "  " : ""
                let marker = (l == layer && h == head) ? "▸" : " "
                line += marker + MatrixRenderer.pad(String(h), 3) + "  " + MatrixRenderer.pad(String(format: "%.2f", summary.entropy), 7)
                line += "  " + MatrixRenderer.pad(MatrixRenderer.truncate(summary.topKey, to: topWidth), topWidth, alignLeft: true)
                line += "  " + summary.tag.description(encoder: !causal)
                if ablated.contains(Attention.HeadIndex(layer: l, head: h)) { line += "  (ablated)" }
                text += MatrixRenderer.trimTrailing(line) + "\n"
            }
        }
        if choosing.isEmpty {
            text += "(one token: no query has a choice, so no head has a pattern)\n"
        }
        // Under a causal mask row 0 has only itself to look at; an encoder's rows all choose.
        let rows = causal ? "the \(choosing.count) query rows that have a choice (row 0 sees only itself)" : "all \(choosing.count) query rows"
        text += wrap("pattern: over \(rows), the mean weight on the "
            + "previous token, on the token itself, " + (causal ? "or on the first token" : "on the next token, on [CLS] or on [SEP]")
            + "; the largest of these names the head when it is at least \(String(format: "%.2f", HeadPattern.massThreshold)); "
            + "otherwise broad when the entropy is at least \(Int(HeadPattern.broadThreshold * 100))% of its maximum, else mixed. "
            + "▸ marks the selected head.") + "\n\n"
        return text
    }

    // MARK: neuron

    /// `neuron I J`: the score of query token I against key token J, dimension by dimension
    /// (see ``NeuronView``).
    /// ```
    /// scores[I, J] = q_I · k_J = Σ_d q_I[d] · k_J[d]
    /// ```
    func neuron(query i: Int, key j: Int) throws -> String {
        let trace = try requireTrace()
        for index in [i, j] where !(0..<trace.count).contains(index) {
            throw NotebookError.tokenOutOfRange(index, count: trace.count)
        }
        let view = NeuronView(trace.layers[layer].heads[head], query: i, key: j)
        let tokens = trace.tokens
        let dh = view.products.count

        var text = wrap("neuron view: layer \(layer), head \(head): query \(tokens[i]) (\(i)) against key \(tokens[j]) (\(j))") + "\n"
        text += fit("scores[\(i), \(j)] = q[\(i)] · k[\(j)] = Σ_d q[\(i)][d] · k[\(j)][d]   (\(dh) products)") + "\n"
        if view.isRotated {
            text += wrap("q and k are after RoPE: dimensions d and d + \(dh / 2) are a rotated pair.") + "\n"
        }
        text += productGrid(view.products)
        let difference = abs(view.sum - Double(view.score))
        text += wrap("Σ = \(renderer.format(Float(view.sum))) = scores[\(i), \(j)] = \(renderer.format(view.score))   "
            + "(|Δ| \(String(format: "%.1e", difference)): the same products added in another order)") + "\n"
        if view.isMasked {
            text += wrap("then scaled = \(renderer.format(view.scaled)), but key \(j) comes after query \(i): the mask makes it −∞, so its weight is exactly 0.") + "\n"
        } else {
            text += wrap("then scaled = \(renderer.format(view.score)) / √\(dh) = \(renderer.format(view.scaled)), and after the softmax of row \(i), weight = \(renderer.format(view.weight)).") + "\n"
        }
        text += decidingDimensions(view)
        if let share = view.positiveShare {
            text += wrap("notice: \(view.positive.count) of \(dh) dimensions give \(percentText(share))% of the positive products: a few dimensions decide how well \(tokens[i]) matches \(tokens[j]).") + "\n"
        }
        return text + "\n"
    }

    /// The dimensions that decide the score, as a table: q[d], k[d] and their product for the
    /// largest products of each sign.
    func decidingDimensions(_ view: NeuronView) -> String {
        let rows = view.positive + view.negative
        guard !rows.isEmpty else { return "" }
        var table = Matrix(rows: rows.count, columns: 3)
        for (r, d) in rows.enumerated() {
            table[r, 0] = view.q[d]
            table[r, 1] = view.k[d]
            table[r, 2] = view.products[d]
        }
        let labels = view.positive.map { "+ d \($0)" } + view.negative.map { "− d \($0)" }
        return fit("the dimensions that push the score up (+) and down (−) most:") + "\n"
            + renderer.render(table, rowLabels: labels, columnLabels: ["q[d]", "k[d]", "q·k"])
    }

    /// The products in rows of a power of two (`d 0`, `d 8`, …) that fit the width.
    func productGrid(_ products: [Float]) -> String {
        let cells = products.map(renderer.format)
        let cellWidth = cells.map(MatrixRenderer.displayWidth).max() ?? 1
        let labelWidth = 2 + String(max(products.count - 1, 0)).count
        var perRow = 16
        while perRow > 1 && labelWidth + perRow * (cellWidth + 2) > renderer.width { perRow /= 2 }
        var text = String(repeating: " ", count: labelWidth)
        for c in 0..<min(perRow, products.count) { text += "  " + MatrixRenderer.pad("+\(c)", cellWidth) }
        text += "\n"
        for start in stride(from: 0, to: products.count, by: perRow) {
            var line = MatrixRenderer.pad("d \(start)", labelWidth, alignLeft: true)
            for d in start..<min(start + perRow, products.count) { line += "  " + MatrixRenderer.pad(cells[d], cellWidth) }
            text += line + "\n"
        }
        return text
    }

    // MARK: rollout

    /// The rollout of `trace` with the session's ablated heads left out (see ``Rollout``).
    func rolloutMatrix(_ trace: Trace) -> Matrix { Rollout.matrix(trace, ablated: ablated) }

    /// `rollout`: the matrix like any step, labelled and shaded, with what to notice.
    func showRollout() throws -> String {
        let trace = try requireTrace()
        let model = try requireModel()
        let last = model.sizes.layers - 1
        let m = rolloutMatrix(trace)
        var text = fit(Self.rolloutFormula(layers: model.sizes.layers) + "   \(m.shapeDescription)") + "\n"
        text += wrap("layers 0…\(last): row i says how much of each input token reaches token i through every layer's attention and residual (Abnar & Zuidema 2020)"
            + (ablated.isEmpty ? "" : "; ablated heads are left out of their layer's mean")) + "\n"
        if trace.isCausal, trace.count > 1 { text += wrap(causalRolloutNote(trace)) + "\n" }
        text += renderTokenMatrix(m, rowLabels: trace.tokens, columnLabels: trace.tokens,
                                  title: Self.rolloutFormula(layers: model.sizes.layers), location: "layers 0…\(last)")
        if let notice = rolloutNotice(m, tokens: trace.tokens, causal: trace.isCausal) { text += wrap(notice) + "\n" }
        return text + "\n"
    }

    /// `rollout = Â5 · … · Â0,  Âₗ = rownorm(mean over heads of weightsₗ + I)`
    static func rolloutFormula(layers: Int) -> String {
        "rollout = Â\(layers - 1) · … · Â0,  Âₗ = rownorm(mean over heads of weightsₗ + I)"
    }

    /// Why a decoder's rollout piles onto the first token, with the sink measured in this trace.
    func causalRolloutNote(_ trace: Trace) -> String {
        let t = trace.count
        let sink = Rollout.firstTokenSink(trace, ablated: ablated)
        return "Under the causal mask row i can mix only tokens 0…i, so row 0 is token 0 alone and nothing lies "
            + "above the diagonal. The first token is also an attention sink: here the heads' rows 1…\(t - 1) put "
            + "\(String(format: "%.2f", sink)) of their weight on it on average. Multiplied through "
            + "\(trace.layers.count) layers, what reaches token 0 never leaves it (row 0 holds only itself) and every "
            + "layer sends it more, so the rollout piles up on token 0."
    }

    /// What the rollout on screen shows: what each token keeps of itself and which token the rows
    /// draw on. Under a causal mask row 0 keeps all of itself by force, so it is counted apart.
    func rolloutNotice(_ m: Matrix, tokens: [String], causal: Bool = false) -> String? {
        guard m.rows > 0 else { return nil }
        let t = m.rows
        func f(_ x: Float) -> String { String(format: "%.2f", x) }
        func span(_ values: ArraySlice<Float>) -> String {
            let low = f(values.min() ?? 0), high = f(values.max() ?? 0)
            return low == high ? low : "\(low)…\(high)"
        }
        let kept = Rollout.kept(m)
        if causal {
            guard t > 1 else { return "notice: one token, which sees only itself: its row is 1.00 on itself." }
            return "notice: each row sums to 1 and is 0 above the diagonal. Row 0 keeps all of itself, the only "
                + "token it sees; rows 1…\(t - 1) keep \(span(kept.dropFirst())) of themselves and take "
                + "\(span(m.column(0).dropFirst())) from the first token, \(tokens[0])."
        }
        let columnMeans = Rollout.columnMeans(m)
        let source = columnMeans.indices.max { columnMeans[$0] < columnMeans[$1] } ?? 0
        let diagonal = kept.reduce(0, +) / Float(t)
        return "notice: each row sums to 1. On average a token keeps \(f(diagonal)) of itself; "
            + "the token every position draws on most is \(tokens[source]) (column mean \(f(columnMeans[source])))."
    }

    // MARK: importance

    /// `importance`: occlusion (see ``Occlusion``) of the target (`target`, `classify`). Each token
    /// of the sentence is removed in turn and the model runs again on the rest; the bar is how
    /// much the target moved.
    /// ```
    /// importance(i) = y(all tokens) − y(all but token i)
    /// ```
    /// The default target gives what importance always gave: on an encoder 1 − cos of the sentence
    /// embedding with and without the token, on a decoder the drop of the top next token's p.
    func importance() throws -> String {
        _ = try requireTrace()
        guard let sentence else { throw NotebookError.noSentence }
        let model = try requireModel()
        let measure = try targetMeasure(explanationTarget)
        let input = try measure.input(sentence)
        let isDecoder = model is any DecoderModel
        guard !input.removable.isEmpty else {
            throw NotebookError.usage(command: "importance", usage: "a sentence with at least one word piece between [CLS] and [SEP]")
        }
        guard input.ids.count > 1 else {
            throw NotebookError.usage(command: "importance", usage: "a sentence of at least two tokens (one is removed at a time)")
        }
        let (baseline, values) = showingProgress(of: input.removable.count) { progress in
            Occlusion.measured(input, known: measure.knownSentenceValue, progress: progress, isInterrupted: isInterrupted,
                               value: measure.value)
        }
        var text = importanceHeading(measure, baseline: baseline, decoder: isDecoder, template: input.ids.count > input.removable.count && isDecoder)
        text += bars(values.map { (model.tokenLabel(input.ids[$0.index]), $0.index, $0.value) })
        if values.count < input.removable.count {
            text += "importance stopped (Ctrl-C) after \(values.count) of \(input.removable.count) tokens: the bars above are theirs\n"
        }
        if let top = values.max(by: { $0.value < $1.value }), top.value > 0 {
            text += wrap("notice: removing \(model.tokenLabel(input.ids[top.index])) (\(top.index)) changes the most.") + "\n"
        }
        return text + "\n"
    }

    /// The lines before importance's bars: the formula and how to read the bars. The default
    /// targets keep the words importance has always printed.
    func importanceHeading(_ measure: TargetMeasure, baseline: Double, decoder: Bool, template: Bool) -> String {
        let y = measure.formula
        switch (explanationTarget, decoder) {
        case (.top, false):
            return fit("importance = 1 − cos(sentence embedding, the same without token i)   (occlusion)") + "\n"
                + wrap("each word piece removed in turn ([CLS] and [SEP] stay), the model run again; a long bar: the sentence's meaning leans on that token.") + "\n"
        case (.top, true), (.token, true):
            let next = String(y.dropFirst(2).dropLast())  // the token of p(·Paris)
            return fit("importance = p(\(next)) − p(\(next) without token i)   (occlusion)") + "\n"
                + wrap("p(\(next)) = \(String(format: "%.4f", baseline)) after the whole sentence; each token removed in turn, the model run again. █: removing the token lowers p (it supports \(next)); ░: removing it raises p.") + "\n"
        default:
            let formula = y.hasPrefix("p(") && !y.contains(" − ")
                ? "\(y) − \(y.dropLast()) without token i)" : "y − y(without token i),   y = \(y)"
            let kept = decoder ? (template ? " (the template stays)" : "") : " ([CLS] and [SEP] stay)"
            return fit("importance = \(formula)   (occlusion)") + "\n"
                + wrap("\(y) = \(String(format: "%.4f", baseline)) for the whole sentence; each of its tokens removed in turn\(kept), the model run again. █: removing the token lowers it; ░: removing it raises it.") + "\n"
        }
    }

    /// Runs `body` with importance's progress line up, `tokens` to go; the line is blanked after.
    func showingProgress<Result>(of tokens: Int, _ body: (_ progress: (Int) -> Void) -> Result) -> Result {
        var line = ProgressLine(self, command: "importance", unit: "tokens", total: tokens)
        let result = body { line.update($0) }
        line.finish()
        return result
    }

    /// A horizontal bar chart: `i token  value  ████`, the longest bar filling the width;
    /// negative values get ░.
    func bars(_ rows: [(label: String, index: Int, value: Double)]) -> String {
        guard !rows.isEmpty else { return "" }
        let labels = rows.map { MatrixRenderer.truncate($0.label, to: 16) }
        let labelWidth = labels.map(MatrixRenderer.displayWidth).max() ?? 1
        let indexWidth = String(rows.map(\.index).max() ?? 0).count
        let signed = rows.contains { $0.value < 0 }
        let numbers = rows.map { String(format: signed ? "%+.4f" : "%.4f", $0.value) }
        let numberWidth = numbers.map(\.count).max() ?? 6
        let available = max(1, renderer.width - indexWidth - 2 - labelWidth - 2 - numberWidth - 2)
        let largest = rows.map { abs($0.value) }.max() ?? 0
        var text = ""
        for (n, row) in rows.enumerated() {
            let length = largest > 0 ? roundedInt(abs(row.value) / largest * Double(available), in: 0...available) ?? 0 : 0
            let bar = String(repeating: row.value < 0 ? "░" : "█", count: length)
            let line = MatrixRenderer.pad(String(row.index), indexWidth) + "  " + MatrixRenderer.pad(labels[n], labelWidth, alignLeft: true)
                + "  " + MatrixRenderer.pad(numbers[n], numberWidth) + "  " + bar
            text += MatrixRenderer.trimTrailing(line) + "\n"
        }
        return text
    }

    // MARK: ablate

    /// `ablate head L H`: zeroes the head's z, runs the model again and shows what changed.
    func ablate(layer l: Int, head h: Int) throws -> String {
        let model = try requireModel()
        guard (0..<model.sizes.layers).contains(l) else { throw NotebookError.layerOutOfRange(l, model: modelName, layers: model.sizes.layers) }
        guard (0..<model.sizes.heads).contains(h) else { throw NotebookError.headOutOfRange(h, model: modelName, heads: model.sizes.heads) }
        let index = Attention.HeadIndex(layer: l, head: h)
        guard !ablated.contains(index) else {
            return "layer \(l), head \(h) is already ablated (\(ablationList)); ablate clear restores every head\n"
        }
        let before = cachedTrace
        let previous = ablated
        ablated.insert(index)
        do { try retrace() } catch {
            ablated = previous
            throw error
        }
        var text = wrap("ablated layer \(l), head \(h): its z is now zeros, and every step after it is computed again.") + "\n"
        if let before, let after = cachedTrace { text += ablationEffect(before: before, after: after, from: l) }
        else { text += "no sentence yet: the next sentence runs without this head\n" }
        text += wrap("ablated: \(ablationList). Steps, exports and plots show the ablated model until ablate clear.") + "\n\n"
        return text
    }

    /// `ablate clear`: every head back, with the effect of the change.
    func clearAblation() throws -> String {
        guard !ablated.isEmpty else { return "no head is ablated\n" }
        let before = cachedTrace
        let previous = ablated
        let first = ablated.min()?.layer ?? 0
        ablated = []
        do { try retrace() } catch {
            ablated = previous
            throw error
        }
        var text = "cleared \(previous.count) ablated head\(previous.count == 1 ? "" : "s"): the model is whole again\n"
        if let before, let after = cachedTrace { text += ablationEffect(before: before, after: after, from: first) }
        return text + "\n"
    }

    /// `L2H7, L3H0`
    var ablationList: String { ablated.sorted().map { "L\($0.layer)H\($0.head)" }.joined(separator: ", ") }

    /// What changed between two traces of the same sentence: for an encoder, the sentence
    /// embedding; for a decoder, the next-token distribution. And where in the stack `out` starts
    /// to change (layers before `from` cannot).
    func ablationEffect(before: Trace, after: Trace, from first: Int) -> String {
        var text = ""
        let changes = Ablation.outChange(before: before, after: after)
        let last = changes.count - 1
        let earlier = changes[..<first].max() ?? 0
        let unchanged = first == 0 ? ""
            : "layers 0…\(first - 1) are " + (earlier == 0 ? "exactly unchanged; " : "unchanged up to max |Δ out| \(String(format: "%.1e", Double(earlier))); ")
        let atLast = last == first ? "" : ", \(String(format: "%.4f", Double(changes[last]))) at layer \(last)"
        text += wrap(unchanged + "out changes from layer \(first) on: max |Δ| \(String(format: "%.4f", Double(changes[first]))) at layer \(first)"
            + atLast + ".") + "\n"
        if after.unembedding != nil {
            text += nextTokenChange(before: before, after: after)
        } else {
            let cosine = SentenceEmbedding.cosine(SentenceEmbedding.meanPooled(before), SentenceEmbedding.meanPooled(after))
            text += fit("sentence embedding (mean over the tokens of the last layer's out):") + "\n"
            text += "  cosine(before, after) = \(String(format: "%.6f", cosine))   1 − cosine = \(String(format: "%.6f", 1 - cosine))\n"
        }
        return text
    }

    /// The next-token top-5 before and after, with each token's rank and probability on both sides.
    func nextTokenChange(before: Trace, after: Trace) -> String {
        let count = 5
        guard let change = NextTokenChange(before: before, after: after, temperature: temperature, count: count) else { return "" }
        let labels = change.rows.map { MatrixRenderer.truncate(label(for: $0.id), to: 16) }
        let width = max(5, labels.map(MatrixRenderer.displayWidth).max() ?? 5)
        var text = fit("next token after \(before.tokens.last ?? ""): the top \(count) before and after, p = softmax(logits / \(String(format: "%g", Double(temperature))))") + "\n"
        text += "  " + MatrixRenderer.pad("token", width, alignLeft: true) + "      rank      p before → after       Δp\n"
        for (row, label) in zip(change.rows, labels) {
            let ranks = MatrixRenderer.pad("#\(row.rankBefore)", 5) + " → " + MatrixRenderer.pad("#\(row.rankAfter)", 5, alignLeft: true)
            let (pb, pa) = (row.probabilityBefore, row.probabilityAfter)
            text += "  " + MatrixRenderer.pad(label, width, alignLeft: true) + "  " + ranks
                + "  " + String(format: "%.4f → %.4f   %+.4f", Double(pb), Double(pa), Double(pa - pb)) + "\n"
        }
        let winner = change.topBefore == change.topAfter ? "the top token stays \(label(for: change.topBefore))"
            : "the top token changes from \(label(for: change.topBefore)) to \(label(for: change.topAfter))"
        text += wrap("notice: \(winner).") + "\n"
        return text
    }
}
