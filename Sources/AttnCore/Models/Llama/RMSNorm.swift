/// RMS normalization of each row, with a learned gain.
/// ```
/// RMSNorm(x) = x / √(mean(x²) + ε) ⊙ g
/// ```
public func rmsNorm(_ x: Matrix, gain: [Float], epsilon: Float) -> Matrix {
    var out = x
    for i in 0..<x.rows {
        let base = i * x.columns
        let inverse = rmsInverse(x.values[base..<(base + x.columns)], epsilon: epsilon)
        for j in 0..<x.columns { out.values[base + j] = x.values[base + j] * inverse * gain[j] }
    }
    return out
}

/// The scale RMSNorm multiplies one row by, before its gain: what direct logit attribution
/// freezes at the real pass's value.
/// ```
/// 1 / √(mean(x²) + ε)
/// ```
public func rmsInverse(_ row: ArraySlice<Float>, epsilon: Float) -> Float {
    var squares: Float = 0
    for v in row { squares += v * v }
    return 1 / (squares / Float(row.count) + epsilon).squareRoot()
}
