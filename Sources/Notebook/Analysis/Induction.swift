import AttnCore
import Foundation

/// Induction heads (Olsson et al. 2022), found as TransformerLens's head detector finds them: a
/// run of N random tokens, repeated once, and every head's attention on it.
/// ```
/// tokens     [BOS] r₀ … r_{N−1} r₀ … r_{N−1}       first half at b…b+N−1, second at b+N…b+2N−1
/// induction  = mean over i in the second half of weights[i, i − N + 1]   the token after the earlier occurrence
/// previous   = mean over i ≥ 1 of weights[i, i − 1]
/// duplicate  = mean over i in the second half of weights[i, i − N]       the earlier occurrence itself
/// loss(half) = mean over j in the half (j ≥ 1) of −log softmax(logits[j − 1])[ids[j]]
/// ```
/// A model with induction heads predicts the second half from the first: its loss there falls far
/// below the first half's, which no model can predict.
enum Induction {
    /// A run's random tokens and where they sit in the model's input.
    struct Sequence: Sendable, Equatable {
        /// The N random tokens of one half.
        let tokens: [Int]
        /// The model's input: [BOS] where the model starts with one, then the tokens twice.
        let ids: [Int]
        /// b, the position of the first random token (1 after a BOS, else 0).
        let start: Int
        /// The text the input stands for: the tokens' texts, joined.
        let text: String

        var half: Int { tokens.count }
        /// The positions of the first and the second half.
        var firstHalf: Range<Int> { start..<(start + half) }
        var secondHalf: Range<Int> { (start + half)..<(start + 2 * half) }
    }

    /// Every head's three scores, layers × heads each, and the loss of each half.
    struct Scores: Sendable {
        let sequence: Sequence
        let induction: Matrix
        let previous: Matrix
        let duplicate: Matrix
        let firstLoss: Double
        let secondLoss: Double
        let seed: UInt64
        let ablated: Set<Attention.HeadIndex>
    }

    /// An ordinary word of the vocabulary: a space and three or more ASCII letters that the
    /// tokenizer reads back as this one token. No control token, byte piece, digit or punctuation.
    static func isOrdinary(_ id: Int, _ decoder: any DecoderModel) -> Bool {
        let text = decoder.tokenizer.tokenText(id)
        let scalars = Array(text.unicodeScalars)
        guard scalars.count >= 4, scalars[0] == " ",
              scalars.dropFirst().allSatisfy({ ("a"..."z").contains($0) || ("A"..."Z").contains($0) }) else { return false }
        return decoder.tokenizer.encode(text) == [id]
    }

    /// N distinct ordinary tokens (``isOrdinary(_:_:)``) drawn uniformly from the vocabulary by
    /// `generator`, repeated twice after BOS where the model starts with one, whose text the
    /// tokenizer reads back as the same ids (else another draw). Nil when none is found.
    static func sequence(count n: Int, decoder: any DecoderModel, generator: inout SplitMix64) -> Sequence? {
        let vocabulary = UInt64(decoder.tokenizer.vocabulary.count)
        guard vocabulary > 0 else { return nil }
        let tokenizer = decoder.tokenizer
        let bos = tokenizer.addsBeginningToken ? tokenizer.bosId.map { [$0] } ?? [] : []
        for _ in 0..<20 {
            var tokens: [Int] = [], seen = Set<Int>()
            var draws = 0
            while tokens.count < n, draws < 200 * n + 10_000 {
                draws += 1
                let id = Int(generator.next() % vocabulary)
                if !seen.contains(id), isOrdinary(id, decoder) {
                    tokens.append(id)
                    seen.insert(id)
                }
            }
            guard tokens.count == n else { return nil }
            let ids = bos + tokens + tokens
            let text = tokens.map(tokenizer.tokenText).joined() + tokens.map(tokenizer.tokenText).joined()
            if decoder.inputIds(text) == ids {
                return Sequence(tokens: tokens, ids: ids, start: bos.count, text: text)
            }
        }
        return nil
    }

    /// The scores of every head and the loss of each half, from one trace of `sequence.ids`.
    static func scores(_ trace: Trace, _ sequence: Sequence, seed: UInt64, ablated: Set<Attention.HeadIndex>) -> Scores {
        let layers = trace.layers.count, heads = trace.layers.first?.heads.count ?? 0
        let n = sequence.half
        var induction = Matrix(rows: layers, columns: heads)
        var previous = Matrix(rows: layers, columns: heads)
        var duplicate = Matrix(rows: layers, columns: heads)
        for l in 0..<layers {
            for h in 0..<heads {
                let w = trace.layers[l].heads[h].weights
                let s = score(w, queries: sequence.secondHalf, offset: n - 1)
                induction[l, h] = Float(s)
                previous[l, h] = Float(score(w, queries: 1..<w.rows, offset: 1))
                duplicate[l, h] = Float(score(w, queries: sequence.secondHalf, offset: n))
            }
        }
        let first = max(1, sequence.firstHalf.lowerBound)..<sequence.firstHalf.upperBound
        return Scores(sequence: sequence, induction: induction, previous: previous, duplicate: duplicate,
                      firstLoss: loss(trace, predicting: first), secondLoss: loss(trace, predicting: sequence.secondHalf),
                      seed: seed, ablated: ablated)
    }

    /// The mean attention of the queries in `queries` to the key `offset` positions before each.
    /// ```
    /// score = mean over i in queries of weights[i, i − offset]
    /// ```
    static func score(_ weights: Matrix, queries: Range<Int>, offset: Int) -> Double {
        let rows = queries.filter { $0 - offset >= 0 && $0 < weights.rows }
        guard !rows.isEmpty else { return 0 }
        return rows.map { Double(weights[$0, $0 - offset]) }.reduce(0, +) / Double(rows.count)
    }

    /// The mean cross-entropy of the tokens at `positions`, each given the tokens before it.
    /// ```
    /// loss = mean over j of −log softmax(logits[j − 1])[ids[j]]     (log-sum-exp in Double)
    /// ```
    static func loss(_ trace: Trace, predicting positions: Range<Int>) -> Double {
        guard let logits = trace.logits, !positions.isEmpty else { return .nan }
        var total = 0.0
        for j in positions {
            let row = logits.row(j - 1).map(Double.init)
            let m = row.max() ?? 0
            let logSum = m + log(row.reduce(0) { $0 + exp($1 - m) })
            total += logSum - row[trace.tokenIds[j]]
        }
        return total / Double(positions.count)
    }

    /// The `count` largest cells of a layers × heads matrix, largest first (ties: the lower layer
    /// and head first).
    static func top(_ m: Matrix, count: Int) -> [(index: Attention.HeadIndex, value: Float)] {
        var cells: [(index: Attention.HeadIndex, value: Float)] = []
        for l in 0..<m.rows { for h in 0..<m.columns { cells.append((Attention.HeadIndex(layer: l, head: h), m[l, h])) } }
        return Array(cells.sorted { $0.value > $1.value || ($0.value == $1.value && $0.index < $1.index) }.prefix(count))
    }
}
