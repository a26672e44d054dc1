import AttnCore

/// A decoder's next-token distribution before and after a change to the model (an ablation): the
/// top tokens of both, each with its rank and probability on both sides.
/// ```
/// p = softmax(logits of the last position / τ),   before and after
/// ```
struct NextTokenChange {
    /// One token with where it stands before and after.
    struct Row {
        let id: Int
        /// 1 = the most likely.
        let rankBefore: Int
        let rankAfter: Int
        let probabilityBefore: Float
        let probabilityAfter: Float
    }

    /// The top `count` tokens before, then those of the top `count` after that are new, ordered
    /// by their rank before (then after).
    let rows: [Row]
    /// The most likely next token before and after.
    let topBefore: Int
    let topAfter: Int

    /// Nil when either trace has no logits (an encoder's) or no positions.
    init?(before: Trace, after: Trace, temperature: Float, count: Int) {
        guard let logitsBefore = before.logits(row: before.count - 1), let logitsAfter = after.logits(row: after.count - 1) else {
            return nil
        }
        let pb = probabilities(logits: logitsBefore, temperature: temperature)
        let pa = probabilities(logits: logitsAfter, temperature: temperature)
        let idsBefore = topTokens(logits: logitsBefore, count: count, temperature: temperature).map(\.id)
        let idsAfter = topTokens(logits: logitsAfter, count: count, temperature: temperature).map(\.id)
        guard let first = idsBefore.first, let firstAfter = idsAfter.first else { return nil }
        (topBefore, topAfter) = (first, firstAfter)
        let ids = idsBefore + idsAfter.filter { !idsBefore.contains($0) }
        // Ranks are unique within a distribution (ties go to the smaller id), so the order is total.
        rows = ids.map { Row(id: $0, rankBefore: Self.rank(of: $0, in: pb), rankAfter: Self.rank(of: $0, in: pa),
                             probabilityBefore: pb[$0], probabilityAfter: pa[$0]) }
            .sorted { ($0.rankBefore, $0.rankAfter) < ($1.rankBefore, $1.rankAfter) }
    }

    /// The rank (1 = most likely) of `id` in a distribution: one plus the number of tokens more
    /// likely; ties go to the smaller id, as in `topTokens`.
    static func rank(of id: Int, in p: [Float]) -> Int {
        var rank = 1
        for (other, value) in p.enumerated() where value > p[id] || (value == p[id] && other < id) { rank += 1 }
        return rank
    }
}
