import AttnCore

/// Attention rollout (Abnar & Zuidema 2020): how much of each input token reaches each position
/// of the last layer through attention and the residual connections.
enum Rollout {
    /// The rollout of every layer of `trace`, with the heads in `ablated` left out.
    /// ```
    /// Aₗ = mean over heads of weightsₗ          heads that are ablated pass nothing and are left out
    /// Âₗ = rownorm(Aₗ + I)                      the identity stands for the residual connection
    /// rollout = Â_{L−1} · … · Â₁ · Â₀           (T × T), every row sums to 1
    /// ```
    static func matrix(_ trace: Trace, ablated: Set<Attention.HeadIndex>) -> Matrix {
        let t = trace.count
        var rollout = Matrix(rows: t, columns: t)
        for i in 0..<t { rollout[i, i] = 1 }
        for l in trace.layers.indices {
            rollout = layerMatrix(trace, layer: l, ablated: ablated).multiplied(by: rollout)  // Âₗ · rollout so far: layer 0 is applied first
        }
        return rollout
    }

    /// One layer's factor, `Âₗ = rownorm(mean over the live heads of weightsₗ + I)`.   (T × T)
    static func layerMatrix(_ trace: Trace, layer l: Int, ablated: Set<Attention.HeadIndex>) -> Matrix {
        let t = trace.count
        let heads = trace.layers[l].heads
        let live = heads.indices.filter { !ablated.contains(Attention.HeadIndex(layer: l, head: $0)) }
        var mixed = Matrix(rows: t, columns: t)
        for h in live {
            let w = heads[h].weights
            for n in 0..<mixed.values.count { mixed.values[n] += w.values[n] }
        }
        for n in 0..<mixed.values.count { mixed.values[n] /= Float(max(live.count, 1)) }
        // The residual: each token also keeps itself. Rows sum to 2 (or 1 with every head
        // ablated), so dividing by the row sum makes them distributions again.
        for i in 0..<t { mixed[i, i] += 1 }
        for i in 0..<t {
            let total = mixed.row(i).reduce(0, +)
            for j in 0..<t { mixed[i, j] /= total }
        }
        return mixed
    }

    /// The attention sink a decoder's rollout piles onto: the mean weight that rows 1…T−1 of every
    /// head that is not ablated put on token 0 (0 for a single token).
    /// ```
    /// sink = mean over layers l, live heads h, rows i ≥ 1 of weightsₗₕ[i, 0]
    /// ```
    static func firstTokenSink(_ trace: Trace, ablated: Set<Attention.HeadIndex>) -> Float {
        let t = trace.count
        guard t > 1 else { return 0 }
        var sink: Float = 0, count = 0
        for (l, layerTrace) in trace.layers.enumerated() {
            for (h, head) in layerTrace.heads.enumerated() where !ablated.contains(Attention.HeadIndex(layer: l, head: h)) {
                let weights = head.weights
                for i in 1..<t { sink += weights[i, 0] }
                count += t - 1
            }
        }
        return sink / Float(max(count, 1))
    }

    /// What each token keeps of itself: the diagonal, `rollout[i, i]`.
    static func kept(_ rollout: Matrix) -> [Float] {
        (0..<min(rollout.rows, rollout.columns)).map { rollout[$0, $0] }
    }

    /// How much the average position draws on each token: the column means, `(1/T) Σᵢ rollout[i, j]`.
    static func columnMeans(_ rollout: Matrix) -> [Float] {
        (0..<rollout.columns).map { j in (0..<rollout.rows).map { rollout[$0, j] }.reduce(0, +) / Float(rollout.rows) }
    }
}
