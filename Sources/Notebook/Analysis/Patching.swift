import AttnCore

/// Activation patching (causal tracing; Meng et al. 2022, Wang et al. 2022): run the corrupted
/// text, write one activation of the clean text's run into it, and see how much of the clean
/// target comes back.
/// ```
/// m          the target (target), read from the next-token logits after the text
/// patched    = (m(corrupted run, one clean activation written in) − m_corrupt) / (m_clean − m_corrupt)
///              1: that activation alone restores the clean target; 0: it changes nothing
/// residual   x_l[p] ← clean x_l[p]           the residual stream entering layer l at position p
/// head       z_{l,h} ← clean z_{l,h}         head h of layer l at every position
/// ```
/// A patch at layer l and position p changes nothing before p (the mask is causal) and nothing
/// below layer l, so its pass starts from the corrupted run's key/value cache of positions
/// 0…p − 1 and from the corrupted run's input of layer l, and runs layers l… at positions p… only
/// (``ActivationPatch/firstLayer``).
enum Patching {
    /// The metric of one pass of `ids` from `cache` (positions `cache.count`…), with `patch`.
    static func metric(_ decoder: any DecoderModel, _ ids: [Int], from cache: KeyValueCache,
                       ablated: Set<Attention.HeadIndex>, patch: ActivationPatch, metric: ([Float]) -> Double) -> Double {
        var cache = cache
        return metric(decoder.forward(Array(ids[cache.count...]), cache: &cache, ablating: ablated, patching: patch))
    }

    /// The clean residual entering `layer` at `positions`.
    static func residualPatch(_ clean: Trace, layer: Int, positions: [Int]) -> ActivationPatch {
        let x = clean.layers[layer].x
        var rows: [Int: [Float]] = [:]
        for p in positions { rows[p] = x.row(p) }
        return ActivationPatch(residual: [layer: rows])
    }

    /// Head `head`'s clean `z` in `layer`, at every position.
    static func headPatch(_ clean: Trace, layer: Int, head: Int) -> ActivationPatch {
        let z = clean.layers[layer].heads[head].z
        var rows: [Int: [Float]] = [:]
        for p in 0..<z.rows { rows[p] = z.row(p) }
        return ActivationPatch(heads: [Attention.HeadIndex(layer: layer, head: head): rows])
    }

    /// `patch` run from `layer` on: the corrupted run's input of that layer at positions `from`…
    /// (what layers 0…layer − 1 would compute again), under the rows `patch` writes there.
    static func starting(_ patch: ActivationPatch, at layer: Int, corrupt: Trace, from first: Int) -> ActivationPatch {
        var patch = patch
        let x = corrupt.layers[layer].x
        var rows: [Int: [Float]] = [:]
        for p in first..<x.rows { rows[p] = x.row(p) }
        patch.residual[layer] = rows.merging(patch.residual[layer] ?? [:]) { _, written in written }
        patch.firstLayer = layer
        return patch
    }

    /// The patched metric, normalised: (m − m_corrupt) / (m_clean − m_corrupt), in Double.
    struct Normalisation {
        let clean: Double, corrupt: Double
        func callAsFunction(_ m: Double) -> Float { Float((m - corrupt) / (clean - corrupt)) }
    }

    /// The normalised metric with the clean residual written at each layer's input and position:
    /// layers × positions, NaN where Ctrl-C stopped it. One pass per cell, from the corrupted cache
    /// before the position and the corrupted input of the layer; none before the first position whose token differs, where the two
    /// runs have the same activations (the mask is causal) and the cell is 0.
    /// - Returns: the grid and the passes run.
    static func residualGrid(_ decoder: any DecoderModel, clean: Trace, corrupt: Trace, corruptCache: KeyValueCache,
                             ablated: Set<Attention.HeadIndex>, metric: ([Float]) -> Double, normalised: Normalisation,
                             progress: (Int) -> Void, isInterrupted: () -> Bool) -> (grid: Matrix, passes: Int) {
        let layers = clean.layers.count, ids = corrupt.tokenIds
        var grid = Matrix(rows: layers, columns: ids.count, repeating: .nan)
        let firstDifference = ids.indices.first { ids[$0] != clean.tokenIds[$0] } ?? ids.count
        for p in 0..<firstDifference { for l in 0..<layers { grid[l, p] = 0 } }
        var passes = 0
        for p in firstDifference..<ids.count {
            let start = corruptCache.prefix(p) ?? KeyValueCache(layers: layers)
            for l in 0..<layers {
                if isInterrupted() { return (grid, passes) }
                progress(passes)
                let patch = starting(residualPatch(clean, layer: l, positions: [p]), at: l, corrupt: corrupt, from: start.count)
                grid[l, p] = normalised(self.metric(decoder, ids, from: start, ablated: ablated, patch: patch, metric: metric))
                passes += 1
            }
        }
        return (grid, passes)
    }

    /// The normalised metric with each head's clean `z` written at every position: layers ×
    /// heads, NaN where Ctrl-C stopped it. One pass per head, of its layer and the ones after.
    static func headGrid(_ decoder: any DecoderModel, clean: Trace, corrupt: Trace, ablated: Set<Attention.HeadIndex>,
                         metric: ([Float]) -> Double, normalised: Normalisation,
                         progress: (Int) -> Void, isInterrupted: () -> Bool) -> (grid: Matrix, passes: Int) {
        let layers = clean.layers.count, heads = clean.layers.first?.heads.count ?? 0, ids = corrupt.tokenIds
        var grid = Matrix(rows: layers, columns: heads, repeating: .nan)
        var passes = 0
        let fresh = KeyValueCache(layers: layers)
        for l in 0..<layers {
            for h in 0..<heads {
                if isInterrupted() { return (grid, passes) }
                progress(passes)
                let patch = starting(headPatch(clean, layer: l, head: h), at: l, corrupt: corrupt, from: 0)
                grid[l, h] = normalised(Self.metric(decoder, ids, from: fresh, ablated: ablated, patch: patch, metric: metric))
                passes += 1
            }
        }
        return (grid, passes)
    }
}
