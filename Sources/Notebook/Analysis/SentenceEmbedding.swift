import AttnCore

/// The sentence embedding sentence-transformers computes from MiniLM, and the cosine that
/// compares two of them: what `ablate` and `importance` measure on an encoder.
enum SentenceEmbedding {
    /// The mean over the tokens of the last layer's `out` (mean pooling; [CLS] and [SEP]
    /// included); empty for a trace without layers or tokens.
    /// ```
    /// e = (1/T) Σᵢ out_{L−1}[i]          (d)
    /// ```
    static func meanPooled(_ trace: Trace) -> [Float] {
        guard let out = trace.layers.last?.out else { return [] }
        return meanPooled(out)
    }

    /// The mean of the rows of a last layer's `out`; empty without rows.
    static func meanPooled(_ out: Matrix) -> [Float] {
        guard out.rows > 0 else { return [] }
        var mean = [Float](repeating: 0, count: out.columns)
        for i in 0..<out.rows { for j in 0..<out.columns { mean[j] += out[i, j] } }
        return mean.map { $0 / Float(out.rows) }
    }

    /// The cosine of the angle between two vectors, in Double; 0 when either is all zeros.
    /// ```
    /// cos(a, b) = a · b / (‖a‖ ‖b‖)          1: the same direction, 0: orthogonal
    /// ```
    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            na += Double(x) * Double(x)
            nb += Double(y) * Double(y)
        }
        return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
    }
}
