/// GPT-2's linear layer, named `Conv1D` in its code for history's sake: the weight is stored
/// (in × out), the transpose of PyTorch's `Linear`, so `y = x · W + b` with no transpose.
public struct Conv1D: Sendable {
    public let weight: WeightMatrix
    public let bias: [Float]
    /// `y = x · W + b`        (T × in) · (in × out) → (T × out)
    public func callAsFunction(_ x: Matrix) -> Matrix {
        var y = weight.withUnsafeValues { x.multiplied(by: $0, rows: weight.rows, columns: weight.columns) }
        y.addRow(bias)
        return y
    }
}
