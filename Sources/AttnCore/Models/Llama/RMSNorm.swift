/// RMS normalization of each row, with a learned gain.
/// ```
/// RMSNorm(x) = x / √(mean(x²) + ε) ⊙ g
/// ```
public func rmsNorm(_ x: Matrix, gain: [Float], epsilon: Float) -> Matrix {
    var out = x
    for i in 0..<x.rows {
        let base = i * x.columns
        var squares: Float = 0
        for j in 0..<x.columns { squares += x.values[base + j] * x.values[base + j] }
        let inverse = 1 / (squares / Float(x.columns) + epsilon).squareRoot()
        for j in 0..<x.columns { out.values[base + j] = x.values[base + j] * inverse * gain[j] }
    }
    return out
}
