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

    /// The cache of the first `n` positions alone: what running only those tokens would have
    /// left, since position p's keys and values depend on positions 0…p alone (the mask is
    /// causal). Nil when a sliding-window layer has let go of early rows, or `n` is out of range.
    public func prefix(_ n: Int) -> KeyValueCache? {
        guard n >= 0, n <= count, firstPositions.allSatisfy({ $0 == 0 }) else { return nil }
        var cache = KeyValueCache(layers: layers.count)
        guard n > 0 else { return cache }
        cache.layers = layers.map { $0.map { (keys: $0.keys.rows(0..<n), values: $0.values.rows(0..<n)) } }
        return cache
    }
}
