import AttnCore
import Foundation

/// `patch`, `patch resid`, `patch heads`: activation patching of the target from the sentence
/// (clean) into the corrupted sentence (``Patching``).
struct PatchCommand: NotebookCommand, Equatable {
    static let definition = CommandDefinition(
        words: ["patch"], synopsis: ["patch [resid | heads]"],
        help: [("patch", "patch [resid | heads] (a decoder, after corrupt TEXT): activation patching. The corrupted sentence runs with one activation of the sentence's (clean) run written in, and m, the target (target; e.g. target ·Paris - ·Rome), is read after it, normalised: (m − m_corrupt) / (m_clean − m_corrupt), 1 when that activation alone brings the clean target back, 0 when it changes nothing. patch resid: the residual stream entering each layer (its x) at each position, a layers × positions grid; a pass runs only the layers from l on and the positions from p on, starting from the corrupted run's key/value cache and its input of layer l, and positions before the first token that differs need none (their cells are 0). patch heads: each head's z at every position, a layers × heads grid; a pass runs the head's layer and those after. patch does both. Ablated heads stay ablated in every run. Under classify the prompts are patched. Shows m_clean, m_corrupt, the grids, where the residual restores half or more, the top heads and the number of forward passes; export patch PATH.csv and plot patch PATH.svg write them. Ctrl-C stops, showing the cells done.")])
    var setsLessonState: Bool { false }

    enum Part: String, Equatable { case both, resid, heads }
    var part: Part

    init(word: String, arguments: String) throws {
        switch arguments {
        case "": part = .both
        case "resid", "residual": part = .resid
        case "heads": part = .heads
        default: throw NotebookError.usage(command: word, usage: "patch (both grids), patch resid (the residual stream by layer and position) or patch heads (each head's z)")
        }
    }

    func run(in session: Session) throws -> String { try session.patch(part) }

    static func completions(_ request: CompletionRequest) -> Completion? {
        request.previous.isEmpty ? request.matching(["resid", "heads"]) : nil
    }
}

/// One `patch`: its metric, the clean and corrupted values and the grids, normalised.
struct PatchResult: Sendable {
    let formula: String
    let cleanTokens: [String]
    let corruptTokens: [String]
    let clean: Double
    let corrupt: Double
    /// Layers × positions, normalised; nil when not asked for.
    let residual: Matrix?
    /// Layers × heads, normalised; nil when not asked for.
    let heads: Matrix?
    let forwardPasses: Int
    /// The first position whose token differs between the two.
    let firstDifference: Int
}

extension Session {
    /// `patch`: the clean and corrupted runs, then one pass per cell of each grid asked for.
    func patch(_ part: PatchCommand.Part) throws -> String {
        let decoder = try requireDecoder("patch")
        guard let corruptText = corruptSentence else {
            throw NotebookError.lesson("patch needs a corrupted sentence beside the sentence: corrupt TEXT, with as many tokens (e.g. corrupt The capital of Italy is)")
        }
        guard let sentence else { throw NotebookError.noSentence }
        let measure = try targetMeasure(explanationTarget)
        guard let metric = measure.fromLogits else {
            throw NotebookError.lesson("patch reads the target from the next-token logits, and this target has none: target top, target ·TOKEN or target ·A - ·B")
        }
        _ = try corruptedPair("patch", corrupt: corruptText)
        let cleanIds = try measure.input(sentence).ids, corruptIds = try measure.input(corruptText).ids
        guard cleanIds.count == corruptIds.count else {
            throw NotebookError.lesson("under classify the corrupted prompt has \(corruptIds.count) tokens and the clean one \(cleanIds.count): patching needs as many in both")
        }
        // The clean activations: the sentence's trace when the target reads the sentence as it is.
        var passes = 0
        let clean: Trace
        let tracedClean = cachedTrace?.tokenIds != cleanIds
        if !tracedClean, let trace = cachedTrace { clean = trace } else {
            clean = decoder.trace(ids: cleanIds, ablating: ablated)
            passes += 1
        }
        var cleanCache = KeyValueCache(layers: decoder.sizes.layers), corruptCache = KeyValueCache(layers: decoder.sizes.layers)
        let mClean = metric(decoder.forward(cleanIds, cache: &cleanCache, ablating: ablated))
        let mCorrupt = metric(decoder.forward(corruptIds, cache: &corruptCache, ablating: ablated))
        // The corrupted run's layer inputs, where each patched pass starts.
        let corruptTrace = decoder.trace(ids: corruptIds, ablating: ablated)
        passes += 3
        guard abs(mClean - mCorrupt) > 1e-9 else {
            throw NotebookError.lesson("the target is the same for both sentences (\(measure.formula) = \(String(format: "%.4f", mClean))), so there is nothing to restore: a corrupted sentence that changes it, or another target")
        }
        let layers = decoder.sizes.layers, heads = decoder.sizes.heads
        let firstDifference = cleanIds.indices.first { cleanIds[$0] != corruptIds[$0] } ?? cleanIds.count
        let total = (part != .heads ? layers * (cleanIds.count - firstDifference) : 0) + (part != .resid ? layers * heads : 0)
        let normalised = Patching.Normalisation(clean: mClean, corrupt: mCorrupt)
        var line = ProgressLine(self, command: "patch", unit: "forward passes", total: total)
        var residual: Matrix?, headGrid: Matrix?
        if part != .heads {
            let r = Patching.residualGrid(decoder, clean: clean, corrupt: corruptTrace, corruptCache: corruptCache, ablated: ablated,
                                          metric: metric, normalised: normalised, progress: { line.update($0) }, isInterrupted: isInterrupted)
            residual = r.grid
            passes += r.passes
        }
        if part != .resid {
            let done = passes
            let h = Patching.headGrid(decoder, clean: clean, corrupt: corruptTrace, ablated: ablated, metric: metric,
                                      normalised: normalised, progress: { line.update(done + $0) }, isInterrupted: isInterrupted)
            headGrid = h.grid
            passes += h.passes
        }
        line.finish()
        let result = PatchResult(formula: measure.formula, cleanTokens: cleanIds.map(decoder.tokenLabel),
                                 corruptTokens: corruptIds.map(decoder.tokenLabel), clean: mClean, corrupt: mCorrupt,
                                 residual: residual, heads: headGrid, forwardPasses: passes, firstDifference: firstDifference)
        lastPatch = result
        return patchReport(result, sentence: sentence, corrupt: corruptText, cleanTraced: tracedClean)
    }

    /// What `patch` prints.
    func patchReport(_ r: PatchResult, sentence: String, corrupt: String, cleanTraced: Bool) -> String {
        func f(_ x: Double) -> String { String(format: "%.4f", x) }
        var text = wrap("patch: activation patching from the clean sentence \(quoted(sentence)) into the corrupted \(quoted(corrupt))") + "\n"
        text += fit("  m = \(r.formula), the target (target)") + "\n"
        text += fit("  m_clean = \(f(r.clean)), m_corrupt = \(f(r.corrupt)): m of the sentence, of the corrupted one") + "\n"
        text += fit("  patched = (m′ − m_corrupt) / (m_clean − m_corrupt)") + "\n"
        text += wrap("m′: m of the corrupted run with one activation of the clean run written in; 1: that activation alone brings the clean target back, 0: it changes nothing.", indent: "    ", first: "    ") + "\n"
        let layers = (r.residual ?? r.heads).map { $0.rows } ?? 0
        var counts = ["1 clean", "1 corrupted", "1 trace of the corrupted (each layer's input)"]
        if cleanTraced { counts.insert("1 clean trace (the target's own input)", at: 0) }
        if let residual = r.residual {
            let first = r.firstDifference
            let before = first == 0 ? "" : "; positions 0…\(first - 1), before the first that differs, need none: their activations are the same in both runs, and their cells 0"
            counts.append("\(layers) × \(residual.columns - first) residual (each runs layers l… at positions p… only, from the corrupted run's cache and layer input\(before))")
        }
        if let heads = r.heads { counts.append("\(layers) × \(heads.columns) heads (each runs layers l… only)") }
        text += wrap("\(r.forwardPasses) forward passes: " + counts.joined(separator: ", "), indent: "    ", first: "  ") + "\n"
        let layerLabels = (0..<layers).map { "L\($0)" }
        if let residual = r.residual {
            text += fit("(a) the residual stream entering layer l (its x), clean at position p; layers × positions:") + "\n"
            let labels = zip(r.cleanTokens, r.corruptTokens).map { $0 == $1 ? $0 : "\($0)/\($1)" }
            text += renderLayerGrid(residual, rowLabels: layerLabels, columnLabels: labels,
                                      title: "patched residual (x_l at position p) = (m − m_corrupt) / (m_clean − m_corrupt)", location: "every layer and position")
            text += wrap("where the clean residual restores half or more (≥ 0.5): " + restoring(residual, labels: labels), indent: "    ", first: "  ") + "\n"
        }
        if let heads = r.heads {
            text += fit("(b) each head's z, clean at every position; layers × heads:") + "\n"
            text += renderLayerGrid(heads, rowLabels: layerLabels, columnLabels: (0..<heads.columns).map { "H\($0)" },
                                      title: "patched head (z at every position) = (m − m_corrupt) / (m_clean − m_corrupt)", location: "every layer and head")
            text += wrap("top heads: " + largestCells(heads, count: 5).map { "L\($0.row) H\($0.column) \(String(format: "%.2f", Double($0.value)))" }.joined(separator: ", "), indent: "    ", first: "  ") + "\n"
        }
        if ([r.residual, r.heads].compactMap { $0 }.contains { $0.values.contains { $0.isNaN } }) {
            text += wrap("patch stopped (Ctrl-C): the cells not done are nan.") + "\n"
        }
        return text + "\n"
    }

    /// The layers, as runs, where each position's cell is at least 0.5: `·France in layers 0…23;
    /// ·is in layers 24…29`. Thresholds, not a ranking: near-equal cells never reorder it.
    func restoring(_ m: Matrix, labels: [String]) -> String {
        var parts: [String] = []
        for p in 0..<m.columns {
            let layers = (0..<m.rows).filter { m[$0, p] >= 0.5 }
            guard let first = layers.first else { continue }
            var runs: [String] = [], start = first, previous = first
            for l in layers.dropFirst() + [Int.max] {
                if l == previous + 1 { previous = l; continue }
                runs.append(start == previous ? "\(start)" : "\(start)…\(previous)")
                (start, previous) = (l, l)
            }
            parts.append("\(labels[p]) in layer\(layers.count == 1 ? "" : "s") " + runs.joined(separator: ", "))
        }
        return parts.isEmpty ? "none: no single position restores the clean target" : parts.joined(separator: "; ")
    }

    /// The `count` largest finite cells, largest first (ties: the earlier row, then column).
    func largestCells(_ m: Matrix, count: Int) -> [(row: Int, column: Int, value: Float)] {
        var cells: [(row: Int, column: Int, value: Float)] = []
        for i in 0..<m.rows { for j in 0..<m.columns where m[i, j].isFinite { cells.append((i, j, m[i, j])) } }
        return Array(cells.sorted { $0.value > $1.value || ($0.value == $1.value && ($0.row, $0.column) < ($1.row, $1.column)) }.prefix(count))
    }

    // MARK: export patch, plot patch

    func requirePatch(_ command: String) throws -> PatchResult {
        guard let lastPatch else { throw NotebookError.lesson("\(command) writes the grids of the last patch, and there is none yet: corrupt TEXT, then patch") }
        return lastPatch
    }

    /// `export patch PATH.csv`: every cell of each grid, normalised and as m.
    func exportPatch(to path: String) throws -> String {
        let r = try requirePatch("export patch")
        let target = try csvTarget(path, command: "export patch")
        var text = "kind,layer,column,label,patched,m\n"
        var cells = 0
        func add(_ kind: String, _ m: Matrix, _ labels: [String]) {
            for l in 0..<m.rows {
                for j in 0..<m.columns {
                    let v = Double(m[l, j])
                    text += "\(kind),\(l),\(j),\(csvField(labels[j])),\(String(format: "%.9g", v)),\(String(format: "%.9g", r.corrupt + v * (r.clean - r.corrupt)))\n"
                    cells += 1
                }
            }
        }
        if let residual = r.residual { add("resid", residual, r.cleanTokens) }
        if let heads = r.heads { add("head", heads, (0..<heads.columns).map { "H\($0)" }) }
        try write(Data(text.utf8), to: target)
        return "wrote \(cells) patched cells (m_clean = \(String(format: "%.4f", r.clean)), m_corrupt = \(String(format: "%.4f", r.corrupt))) to \(target.described)\n"
    }

    /// `plot patch PATH.svg`: the heads' grid, else the residual's, as a heatmap.
    func plotPatch(to path: String) throws -> String {
        let r = try requirePatch("plot patch")
        let target = try svgTarget(path, command: "plot patch")
        let matrix: Matrix, columns: [String], title: String
        if let heads = r.heads {
            (matrix, columns, title) = (heads, (0..<heads.columns).map { "H\($0)" }, "patched head z, (m − m_corrupt) / (m_clean − m_corrupt), m = \(r.formula)")
        } else if let residual = r.residual {
            (matrix, columns, title) = (residual, r.cleanTokens, "patched residual x_l[p], (m − m_corrupt) / (m_clean − m_corrupt), m = \(r.formula)")
        } else {
            throw NotebookError.lesson("the last patch has no grid: patch first")
        }
        let rows = (0..<matrix.rows).map { "L\($0)" }
        let location = "clean → corrupted"
        let chart = heatmap(matrix, rowLabels: rows, columnLabels: columns, title: title, location: location)
        return try writePlot(chart, to: target,
                             report: "wrote the patched \(r.heads != nil ? "heads" : "residual") \(matrix.shapeDescription) as an SVG heatmap to \(target.described)\n")
    }
}
