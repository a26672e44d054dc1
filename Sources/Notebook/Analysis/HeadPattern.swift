import AttnCore
import Foundation

/// One head's attention pattern, read off its weights: entropy, the key most queries look at, and
/// a tag naming the pattern.
struct HeadPattern {
    /// The thresholds of the tags, in one place.
    ///
    /// A tag names where the *average* query (of those with a choice) puts its weight. At 0.5,
    /// more than half of it goes to one place: two different places cannot both pass, a head that
    /// splits its weight between two patterns gets neither, and a uniform head (1/T per key,
    /// 1/(i + 1) for row i of a decoder) stays below it from three tokens on.
    static let massThreshold: Float = 0.5
    /// Broad: the mean entropy is at least 80% of its maximum (log₂ of the keys a query can see),
    /// i.e. the weight is spread nearly evenly; an even split over half the keys of a 16-token
    /// sentence reaches only 3/4.
    static let broadThreshold: Float = 0.8

    enum Tag: Equatable {
        case previous(Float), same(Float), next(Float), first(Float), last(Float), broad(Float), mixed, none

        func description(encoder: Bool) -> String {
            func f(_ x: Float) -> String { String(format: "%.2f", x) }
            switch self {
            case let .previous(m): return "previous token \(f(m))"
            case let .same(m): return "same token \(f(m))"
            case let .next(m): return "next token \(f(m))"
            case let .first(m): return (encoder ? "[CLS] sink " : "first-token sink ") + f(m)
            case let .last(m): return "[SEP] sink \(f(m))"
            case let .broad(r): return "broad \(f(r)) of max entropy"
            case .mixed: return "mixed"
            case .none: return "—"
            }
        }
    }

    /// Mean entropy of the rows, in bits: `−Σⱼ wᵢⱼ log₂ wᵢⱼ`, averaged over every query row.
    let entropy: Double
    /// The key most queries attend to most, as `token n/N` or a relative `i−1 n/N`.
    let topKey: String
    let tag: Tag

    /// The query rows that can choose between keys: all of them in an encoder; in a decoder
    /// every row but the first, which sees only itself.
    static func rowsWithChoice(count t: Int, causal: Bool) -> [Int] {
        guard t > 1 else { return [] }
        return causal ? Array(1..<t) : Array(0..<t)
    }

    init(weights w: Matrix, causal: Bool, tokens: [String]) {
        let t = w.rows
        func rowEntropy(_ i: Int) -> Double {
            var h = 0.0
            for j in 0..<w.columns where w[i, j] > 0 { h -= Double(w[i, j]) * log2(Double(w[i, j])) }
            return h
        }
        entropy = t > 0 ? (0..<t).map(rowEntropy).reduce(0, +) / Double(t) : 0
        let rows = Self.rowsWithChoice(count: t, causal: causal)
        guard !rows.isEmpty else {
            topKey = "—"
            tag = .none
            return
        }
        func mean(_ values: [Float]) -> Float { values.isEmpty ? 0 : values.reduce(0, +) / Float(values.count) }

        // Where each query looks most, counted by key and by offset from the query.
        let best = rows.map { i in (0..<w.columns).max { w[i, $0] < w[i, $1] || (w[i, $0] == w[i, $1] && $0 > $1) } ?? 0 }
        func commonest(_ values: [Int]) -> (value: Int, count: Int) {
            var counts: [Int: Int] = [:]
            for v in values { counts[v, default: 0] += 1 }
            return counts.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }.map { ($0.key, $0.value) } ?? (0, 0)
        }
        let byKey = commonest(best)
        let byOffset = commonest(zip(rows, best).map { $1 - $0 })
        let fraction = "\(max(byKey.count, byOffset.count))/\(rows.count)"
        if byOffset.count > byKey.count {
            let offset = byOffset.value
            topKey = (offset == 0 ? "i" : offset < 0 ? "i−\(-offset)" : "i+\(offset)") + " " + fraction
        } else {
            topKey = MatrixRenderer.truncate(tokens[byKey.value], to: 15 - fraction.count) + " " + fraction
        }

        // The mass each pattern gets from the average query that has a choice.
        var masses: [Tag] = []
        masses.append(.previous(mean(rows.filter { $0 > 0 }.map { w[$0, $0 - 1] })))
        masses.append(.same(mean(rows.map { w[$0, $0] })))
        // Only an encoder can look ahead.
        if !causal { masses.append(.next(mean(rows.filter { $0 < t - 1 }.map { w[$0, $0 + 1] }))) }
        masses.append(.first(mean(rows.map { w[$0, 0] })))
        if !causal { masses.append(.last(mean(rows.map { w[$0, t - 1] }))) }
        func mass(_ tag: Tag) -> Float {
            switch tag {
            case let .previous(m), let .same(m), let .next(m), let .first(m), let .last(m): m
            default: 0
            }
        }
        // The first of equal masses wins: previous, same, next, first, last.
        let strongest = masses.enumerated().max { mass($0.element) < mass($1.element) || (mass($0.element) == mass($1.element) && $0.offset > $1.offset) }.map(\.element) ?? masses[0]
        if mass(strongest) >= Self.massThreshold {
            tag = strongest
        } else {
            let spread = Float(mean(rows.map { i in
                let visible = causal ? i + 1 : w.columns
                return Float(rowEntropy(i) / log2(Double(visible)))
            }))
            tag = spread >= Self.broadThreshold ? .broad(spread) : .mixed
        }
    }
}
