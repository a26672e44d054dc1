/// A linear layer as PyTorch stores it: `y = x · Wᵀ + b`, with `weight` of shape (out × in).
public struct Linear: Sendable {
    public let weight: WeightMatrix
    public let bias: [Float]
    /// `y = x · Wᵀ + b`        (T × in) → (T × out)
    public func callAsFunction(_ x: Matrix) -> Matrix {
        var y = weight.withUnsafeValues { x.multiplied(byTransposeOf: $0, rows: weight.rows, columns: weight.columns) }
        y.addRow(bias)
        return y
    }
}
