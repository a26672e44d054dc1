import AttnCore

/// What ablating heads changes, measured between a trace before and a trace after, of the same
/// sentence.
enum Ablation {
    /// How far each layer's `out` moved: the largest change of any entry, layer by layer. Layers
    /// below the first ablated head read the same input with the same weights, so theirs is 0.
    /// ```
    /// change[l] = max over i, j of |out_l(after)[i, j] − out_l(before)[i, j]|
    /// ```
    static func outChange(before: Trace, after: Trace) -> [Float] {
        zip(before.layers, after.layers).map { b, a in b.out.maxAbsoluteDifference(a.out) ?? 0 }
    }
}
