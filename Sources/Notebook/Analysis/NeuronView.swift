import AttnCore

/// One score of one head taken apart dimension by dimension: query token i against key token j.
/// ```
/// scores[i, j] = q_i · k_j = Σ_d q_i[d] · k_j[d]
/// ```
/// A few large products usually decide the sum; `positive` and `negative` name them.
struct NeuronView {
    /// How many dimensions of each sign ``positive`` and ``negative`` list.
    static let top = 5

    /// The query's row `q_i` and the key's row `k_j`.   (dₕ each)
    let q: [Float]
    let k: [Float]
    /// `q_i[d] · k_j[d]` for every dimension d.            (dₕ)
    let products: [Float]
    /// `Σ_d q_i[d] · k_j[d]`, summed in Double in the order d = 0, 1, …; BLAS sums the same
    /// products in its own order, so it differs from ``score`` in the last digits.
    let sum: Double
    /// `scores[i, j]`, `scaled[i, j]` and `weights[i, j]` as the forward pass computed them.
    let score: Float
    let scaled: Float
    let weight: Float
    /// Whether the causal mask hides key j from query i (it comes later), so its weight is 0.
    let isMasked: Bool
    /// Whether q and k are after RoPE, which turns dimensions d and d + dₕ/2 as a pair.
    let isRotated: Bool
    /// The dimensions with the largest positive products, largest first (at most ``top``).
    let positive: [Int]
    /// The dimensions with the most negative products, most negative first (at most ``top``).
    let negative: [Int]

    /// - Precondition: `i` and `j` are token positions of `head`'s trace; callers check and report.
    init(_ head: HeadTrace, query i: Int, key j: Int) {
        q = head.q.row(i)
        k = head.k.row(j)
        let products = zip(q, k).map { $0 * $1 }
        self.products = products
        sum = products.reduce(0.0) { $0 + Double($1) }
        let steps = head.tokenByToken()
        (score, scaled, weight) = (steps.scores[i, j], steps.scaled[i, j], steps.weights[i, j])
        isMasked = steps.masked[i, j] == -.infinity
        isRotated = head.isRotated
        // Largest first; equal products in the order of their dimension.
        let order = products.indices.sorted { products[$0] > products[$1] || (products[$0] == products[$1] && $0 < $1) }
        positive = Array(order.filter { products[$0] > 0 }.prefix(Self.top))
        negative = Array(order.reversed().filter { products[$0] < 0 }.prefix(Self.top))
    }

    /// The share of all positive products that the ``positive`` dimensions give; nil when no
    /// product is positive.
    /// ```
    /// share = Σ_{d in positive} q_i[d]·k_j[d] / Σ_{d: q_i[d]·k_j[d] > 0} q_i[d]·k_j[d]
    /// ```
    var positiveShare: Float? {
        let positiveTotal = products.filter { $0 > 0 }.reduce(0, +)
        guard positiveTotal > 0 else { return nil }
        return positive.map { products[$0] }.reduce(0, +) / positiveTotal
    }
}
