/// The next-token distribution at a temperature: the one softmax over logits, which `predict`,
/// `ablate`, `importance` and sampling share, computed by the model's own softmax.
/// ```
/// p = softmax(logits / τ)        τ → 0: greedy;  τ = 1: the model's own distribution
/// ```
/// τ below 10⁻⁶ counts as 10⁻⁶, so that τ = 0 puts (nearly) all the mass on the largest logit.
public func probabilities(logits: [Float], temperature: Float) -> [Float] {
    let t = max(temperature, 1e-6)
    return Matrix(rows: 1, columns: logits.count, values: logits.map { $0 / t }).softmaxRows().values
}

/// The most likely next tokens and their ``probabilities(logits:temperature:)``, ties to the
/// smaller id.
public func topTokens(logits: [Float], count: Int, temperature: Float) -> [(id: Int, probability: Float)] {
    let p = probabilities(logits: logits, temperature: temperature)
    let order = p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }
    return order.prefix(count).map { ($0, p[$0]) }
}
