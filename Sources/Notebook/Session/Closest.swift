/// The closest of `candidates` to `word` by edit distance, if it is close enough to be a likely typo.
func closest(to word: String, in candidates: [String]) -> String? {
    let word = word.lowercased()
    let letters = Array(word)
    let limit = max(1, min(3, letters.count / 2))
    var best: (String, Int)?
    for candidate in candidates {
        // The distance is at least the difference in length, so a candidate much longer or shorter
        // cannot be close enough; skipping it spares a 1 MB line a million-row table per candidate.
        let other = Array(candidate)
        guard abs(other.count - letters.count) <= limit else { continue }
        let d = editDistance(letters, other)
        if d < (best?.1 ?? .max) { best = (candidate, d) }
    }
    guard let best, best.1 <= limit else {
        // A prefix is also a good guess: "weig" → "weights".
        return candidates.first { $0.hasPrefix(word) && word.count >= 2 }
    }
    return best.0
}
