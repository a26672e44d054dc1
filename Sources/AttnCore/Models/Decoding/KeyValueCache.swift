/// The keys and values of every position seen so far, per layer: what lets a decoder produce
/// one token at a time without recomputing the whole prefix.
public struct KeyValueCache: Sendable {
    /// Per layer: rotated keys and values, (positions × kv·dₕ) each; nil before the first call.
    var layers: [(keys: Matrix, values: Matrix)?]
    /// How many positions are cached.
    public var count: Int { layers.first??.keys.rows ?? 0 }

    public init(layers: Int) {
        self.layers = Array(repeating: nil, count: layers)
    }
}
