/// The keys and values of every position seen so far, per layer: what lets a decoder produce
/// one token at a time without recomputing the whole prefix.
public struct KeyValueCache: Sendable {
    /// Per layer: rotated keys and values, (positions × kv·dₕ) each; nil before the first call.
    var layers: [(keys: Matrix, values: Matrix)?]
    /// Per layer, the position of its first cached row: 0, unless a sliding-window layer has let
    /// go of the keys its queries can no longer see.
    var firstPositions: [Int]
    /// How many positions have been run.
    public var count: Int {
        zip(layers, firstPositions).map { ($0?.keys.rows ?? 0) + $1 }.max() ?? 0
    }

    public init(layers: Int) {
        self.layers = Array(repeating: nil, count: layers)
        self.firstPositions = Array(repeating: 0, count: layers)
    }
}
