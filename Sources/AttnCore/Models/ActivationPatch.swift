/// Activations written into a forward pass in place of the ones it computes: activation
/// patching. A decoder's ``DecoderModel/forward(_:cache:ablating:patching:)`` honours it where
/// it honours ablation, in its one layer loop and its one layer function; an empty patch changes
/// nothing.
/// ```
/// residual   x_l[p] ← r          the residual stream entering layer l, at position p   (1 × d)
/// head       z_{l,h}[p] ← z      head h's output at layer l, at position p, before W_O (1 × dₕ)
/// ```
/// Positions are those of the whole text: a pass that starts from a cache of P positions runs
/// positions P… and writes only the rows it runs.
public struct ActivationPatch: Sendable, Equatable {
    /// Rows of the residual stream entering a layer, by layer, then by position.
    public var residual: [Int: [Int: [Float]]]
    /// Rows of a head's `z`, by head, then by position.
    public var heads: [Attention.HeadIndex: [Int: [Float]]]

    /// The first layer the pass runs, 0 for all. The layers before it are skipped: the patch's
    /// residual rows at this layer must then give every position the pass runs (that layer's
    /// input, from a run of the same tokens), and the cache of the skipped layers is not extended.
    /// A patch at layer l changes nothing before it, so its pass need not run layers 0…l − 1.
    public var firstLayer: Int

    public init(residual: [Int: [Int: [Float]]] = [:], heads: [Attention.HeadIndex: [Int: [Float]]] = [:], firstLayer: Int = 0) {
        (self.residual, self.heads, self.firstLayer) = (residual, heads, firstLayer)
    }

    /// Nothing to write, and every layer run.
    public var isEmpty: Bool { residual.isEmpty && heads.isEmpty && firstLayer == 0 }

    /// The rows of head `h`'s `z` in `layer` to write, by head.
    func heads(layer: Int) -> [Int: [Int: [Float]]] {
        var rows: [Int: [Int: [Float]]] = [:]
        for (index, patch) in heads where index.layer == layer { rows[index.head] = patch }
        return rows
    }

    /// `x` (the rows of positions `first…`) with the rows the patch gives `layer`'s input.
    func residual(_ x: Matrix, layer: Int, first: Int) -> Matrix {
        guard let rows = residual[layer] else { return x }
        return Self.writing(rows, into: x, first: first)
    }

    /// `m`, whose row i is position `first + i`, with `rows` written at their positions (those it
    /// holds; a row of the wrong width is left out).
    static func writing(_ rows: [Int: [Float]], into m: Matrix, first: Int) -> Matrix {
        var out = m
        for (position, row) in rows {
            let i = position - first
            guard (0..<m.rows).contains(i), row.count == m.columns else { continue }
            out.values.replaceSubrange((i * m.columns)..<((i + 1) * m.columns), with: row)
        }
        return out
    }
}

extension Attention {
    /// Each head's `z` with the rows `patched` gives it (by head, then position), from position
    /// `first` on: the heads' outputs as the rest of the layer reads them.
    static func patch(_ heads: inout [HeadTrace], _ patched: [Int: [Int: [Float]]], first: Int) {
        for (h, rows) in patched where heads.indices.contains(h) {
            heads[h].z = ActivationPatch.writing(rows, into: heads[h].z, first: first)
        }
    }
}
