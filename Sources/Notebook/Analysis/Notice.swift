import AttnCore
import Foundation

/// One line after a step on what to notice, computed from the numbers on screen.
///
/// The lessons explain the ideas; these lines point at where the ideas show in *this* sentence.
enum Notice {
    /// - Parameters:
    ///   - window: the layer's sliding window, nil where a query sees its whole past.
    ///   - gate: the gate's function in a gated feed-forward (`SiLU`, `GELU_tanh`).
    static func line(for step: Step, trace: Trace, layer: Int, head: Int, headDimension: Int,
                     decoder: Bool = false, window: Int? = nil, gate: String = "SiLU") -> String? {
        guard let m = trace.matrix(step, layer: layer, head: head) else { return nil }
        let tokens = trace.tokens
        switch step {
        case .weights: return weights(m, tokens)
        case .scores, .scaled: return spread(m, before: step == .scores, headDimension: headDimension)
        case .masked:
            let masked = m.values.filter { $0 == -.infinity }.count
            if let window {
                let t = m.rows, future = t * (t - 1) / 2
                let far = masked - future
                return far > 0
                    ? "notice: \(masked) cells are −∞: \(future) in the future and \(far) more than \(window - 1) tokens back, outside this local layer's window of \(window); after the softmax they become exactly 0."
                    : "notice: \(masked) cells are −∞, all in the future: with \(t) tokens every key is within this local layer's window of \(window) (a text of more than \(window) tokens shows the window)."
            }
            return masked == 0
                ? "notice: nothing is masked in one unpadded sentence, so masked equals scaled."
                : "notice: \(masked) cells are −∞; after the softmax they become exactly 0."
        case .q, .k, .v:
            let (low, high) = shortestAndLongestRows(m)
            // What the projections read: x itself (BERT), or its pre-norm copy.
            let input = [Step.layerNorm1, .rmsnorm].first { trace.steps?.contains($0) == true }?.rawValue ?? "x"
            return "notice: row lengths ‖\(step.rawValue)ᵢ‖ run from \(f(low.length)) (\(tokens[low.row])) to \(f(high.length)) (\(tokens[high.row])); every head reads the same \(input)."
        case .z: return mix(trace.tokenByToken(layer: layer, head: head).weights, tokens)
        case .embeddings where decoder, .x where decoder, .out where decoder:
            // The decoder's residual stream is not normalized: its rows grow through the layers.
            let (low, high) = shortestAndLongestRows(m)
            return "notice: the residual stream is not normalized here; row lengths run from \(f(low.length)) (\(tokens[low.row])) to \(f(high.length)) (\(tokens[high.row]))."
        case .feedForwardActivation where trace.layers[layer].feedForwardGate != nil:
            return "notice: \(gate)(gate) ⊙ up: \(percentNearZero(m))% of the entries are within ±0.01 of 0."
        case .embeddings, .x, .attentionNorm, .out:
            let stats = (0..<m.rows).map { statistics(m.row($0)) }
            let deviations = stats.map(\.1)
            return "notice: LayerNorm leaves each row centred and scaled: row means within ±\(f(stats.map { abs($0.0) }.max() ?? 0)), standard deviations \(f(deviations.min() ?? 0))…\(f(deviations.max() ?? 0))."
        case .attentionOutput, .feedForwardOutput:
            let l = trace.layers[layer]
            guard let input = step == .attentionOutput ? l.x : (l.attentionNorm ?? l.feedForwardInput) else { return nil }
            return change(m, addedTo: input)
        case .feedForwardActivation:
            return "notice: GELU silences negative inputs: \(percentNearZero(m))% of the entries are within ±0.01 of 0."
        default:
            return nil
        }
    }

    /// The key each query attends to most, and how sure it is.
    static func weights(_ m: Matrix, _ tokens: [String]) -> String {
        let best = (0..<m.rows).map { i in (0..<m.columns).max { m[i, $0] < m[i, $1] } ?? 0 }
        var counts: [Int: Int] = [:]
        for j in best { counts[j, default: 0] += 1 }
        let sure = (0..<m.rows).max { m[$0, best[$0]] < m[$1, best[$1]] } ?? 0
        let unsure = (0..<m.rows).min { m[$0, best[$0]] < m[$1, best[$1]] } ?? 0
        var text = "notice: each row sums to 1. "
        if let (key, count) = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }),
           count * 2 > m.rows {
            let peaks = (0..<m.rows).filter { best[$0] == key }.map { m[$0, key] }
            text += "\(count) of \(m.rows) queries look most at \(tokens[key]) (\(f(peaks.min() ?? 0))…\(f(peaks.max() ?? 0)))"
        } else {
            text += "Most certain: \(tokens[sure]) → \(tokens[best[sure]]) at \(f(m[sure, best[sure]]))"
        }
        if m[unsure, best[unsure]] > 0.99 {
            text += "; every query is sure: each puts more than 0.99 on one key."
        } else {
            text += "; least certain: \(tokens[unsure]), whose top weight is \(f(m[unsure, best[unsure]]))."
        }
        return text
    }

    /// How far the scores spread, before or after the division by √dₕ.
    static func spread(_ m: Matrix, before: Bool, headDimension: Int) -> String {
        let (mean, deviation) = statistics(m.values)
        let range = MatrixRenderer.finiteRange(m.values)
        let text = "notice: values from \(f(range.lowerBound, 1)) to \(f(range.upperBound, 1)), standard deviation \(f(deviation)) (mean \(f(mean)))"
        return text + (before ? "; next they are divided by √\(headDimension) = \(f(Float(headDimension).squareRoot()))."
                              : ", √\(headDimension) times smaller than scores.")
    }

    /// The row of z that leans most on one row of v, and how much.
    static func mix(_ w: Matrix, _ tokens: [String]) -> String {
        let i = (0..<w.rows).max { (w.row($0).max() ?? 0) < (w.row($1).max() ?? 0) } ?? 0
        let j = (0..<w.columns).max { w[i, $0] < w[i, $1] } ?? 0
        return "notice: each row is a weighted mix of v's rows; z[\(i)] (\(tokens[i])) is \(percentText(w[i, j]))% v[\(j)] (\(tokens[j]))."
    }

    /// A change added to the residual stream, row by row as long as the row it is added to, as a
    /// learner measures it: mean(norm(attn_out, axis=1) / norm(x, axis=1)).
    static func change(_ m: Matrix, addedTo input: Matrix) -> String {
        let ratios = (0..<min(m.rows, input.rows)).map { norm(m.row($0)) / max(norm(input.row($0)), 1e-12) }
        let mean = ratios.reduce(0, +) / Float(max(1, ratios.count))
        return "notice: this is a change added to the residual stream: row by row it is \(f(mean)) × as long as the row it is added to, on average (\(f(ratios.min() ?? 0))…\(f(ratios.max() ?? 0)))."
    }

    /// The shortest and the longest row, ‖row‖₂.
    static func shortestAndLongestRows(_ m: Matrix) -> (low: (row: Int, length: Float), high: (row: Int, length: Float)) {
        let lengths = (0..<m.rows).map { norm(m.row($0)) }
        let low = lengths.indices.min { lengths[$0] < lengths[$1] } ?? 0
        let high = lengths.indices.max { lengths[$0] < lengths[$1] } ?? 0
        return ((low, lengths[low]), (high, lengths[high]))
    }

    /// The share of entries within ±0.01 of 0, in whole percent.
    static func percentNearZero(_ m: Matrix) -> Int {
        let small = m.values.filter { abs($0) < 0.01 }.count
        return Int((Float(small) / Float(max(1, m.values.count)) * 100).rounded())
    }

    static func f(_ x: Float, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", Double(x)) }

    /// Mean and population standard deviation of the finite values.
    static func statistics(_ values: [Float]) -> (Float, Float) {
        let finite = values.filter(\.isFinite)
        guard !finite.isEmpty else { return (0, 0) }
        let mean = finite.reduce(0, +) / Float(finite.count)
        let variance = finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(finite.count)
        return (mean, variance.squareRoot())
    }

    static func norm(_ values: [Float]) -> Float { values.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}
