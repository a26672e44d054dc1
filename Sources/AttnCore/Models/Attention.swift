import Foundation

/// The steps of scaled dot-product attention for one head, one small function each.
///
/// These are the functions the models compute with, and the steps the learner sees are their
/// results: there is one forward pass, not a second copy of the math for display.
/// ```
/// scores  = Q · Kᵀ                 (T × dₕ) · (dₕ × T) → (T × T)
/// scaled  = scores / √dₕ
/// masked  = scaled, with −∞ where a query may not look
/// weights = softmax(masked)        by rows; each row sums to 1
/// Z       = weights · V            (T × T) · (T × dₕ) → (T × dₕ)
/// ```
public enum Attention {
    /// Which keys each query may attend to.
    public enum Mask: Sendable, Equatable {
        /// Every query sees every key that is not padding (`true` = a real token).
        /// A single unpadded sentence has no masked cell, but the step still exists.
        case padding([Bool])
        /// A decoder may not look ahead: with `past` positions before the queries (a KV cache),
        /// query `i` is at position `past + i` and sees keys `0…past + i`. Without a past, query
        /// `i` sees keys `0…i`: −∞ above the diagonal.
        case causal(past: Int)
        /// A local layer (Gemma 3's sliding window): causal, and a query sees only the last `size`
        /// positions, itself included. Query `i` is at position `queryStart + i`, key `j` at
        /// `keyStart + j` (a KV cache keeps only the keys a window can still reach).
        /// ```
        /// allowed(i, j)  ⇔  0 ≤ p_q − p_k < size
        /// ```
        case slidingWindow(queryStart: Int, keyStart: Int, size: Int)
        /// Several sentences side by side in one batched pass (an encoder's, for LIME's samples):
        /// a query sees only the keys of its own sentence. `starts` holds each sentence's first
        /// position, in order, the first 0.
        /// ```
        /// allowed(i, j)  ⇔  i and j lie in the same sentence
        /// ```
        case sentences(starts: [Int])

        /// The sentence of position `i` in a ``sentences(starts:)`` batch of `count` positions.
        static func sentence(of i: Int, starts: [Int], count: Int) -> Range<Int> {
            // The last start at or before i, by bisection.
            var low = 0, high = starts.count
            while high - low > 1 {
                let middle = (low + high) / 2
                if starts[middle] <= i { low = middle } else { high = middle }
            }
            let end = low + 1 < starts.count ? starts[low + 1] : count
            return min(starts.isEmpty ? 0 : starts[low], count)..<min(max(end, 0), count)
        }

        /// The keys query `i` may attend to when they are one run of `0..<keys` (a causal mask,
        /// a window); nil for a padding mask, which may have holes.
        public func allowedKeys(query i: Int, keys: Int) -> Range<Int>? {
            switch self {
            case .padding: return nil
            case let .sentences(starts): return Self.sentence(of: i, starts: starts, count: keys)
            case let .causal(past): return 0..<min(keys, max(0, past + i + 1))
            case let .slidingWindow(queryStart, keyStart, size):
                // 0 ≤ (queryStart + i) − (keyStart + j) < size  ⇔  p − size < j ≤ p, p = queryStart + i − keyStart
                let p = queryStart + i - keyStart
                let lower = min(keys, max(0, p - size + 1)), upper = min(keys, max(lower, p + 1))
                return lower..<upper
            }
        }

        /// Whether query `i` may attend to key `j`.
        public func allows(query i: Int, key j: Int) -> Bool {
            switch self {
            case let .padding(real): j < real.count ? real[j] : false
            case let .sentences(starts): Self.sentence(of: i, starts: starts, count: Int.max).contains(j)
            case let .causal(past): j <= past + i
            case let .slidingWindow(queryStart, keyStart, size):
                (0..<size).contains((queryStart + i) - (keyStart + j))
            }
        }
    }

    /// One head's columns of a full projection.
    /// ```
    /// Q_h = Q[:, h·dₕ ..< (h+1)·dₕ]        (T × d_model) → (T × dₕ)
    /// ```
    public static func headSlice(_ projection: Matrix, head: Int, headDimension: Int) -> Matrix {
        projection.columns((head * headDimension)..<((head + 1) * headDimension))
    }

    /// The dot product of every query with every key.
    /// ```
    /// scores[i, j] = q_i · k_j        Q (T × dₕ) · Kᵀ (dₕ × T) → (T × T)
    /// ```
    /// A long sentence's cells that feed the weights are computed block by block, by the very
    /// products of the forward pass (``blocks(queries:keys:mask:)``), so they are its bytes.
    public static func scores(queries q: Matrix, keys k: Matrix, mask: Mask) -> Matrix {
        let blocks = blocks(queries: q.rows, keys: k.rows, mask: mask)
        guard blocks.count > 1 else { return scores(q, k, blocks[0]) }
        // The cells no query may use (above a causal diagonal) in one product; then each block's.
        var all = q.multiplied(by: k, transposeB: true)
        for block in blocks { all.write(scores(q, k, block), at: block.queries.lowerBound, block.keys.lowerBound) }
        return all
    }

    /// Divides by √dₕ: for vectors with unit-variance components, q · k has variance dₕ, so the
    /// scaled scores have variance about 1 and the softmax does not saturate.
    /// ```
    /// scaled = scores / √dₕ
    /// ```
    public static func scale(_ scores: Matrix, headDimension: Int) -> Matrix {
        var scaled = scores
        scaled.updateRows { row, _ in scaleRow(row, headDimension: headDimension) }
        return scaled
    }

    /// Sets the cells a query may not attend to to −∞, so that `exp` makes them exactly 0.
    public static func mask(_ scaled: Matrix, _ mask: Mask) -> Matrix {
        var masked = scaled
        masked.updateRows { row, i in maskRow(row, query: i, mask, keys: 0..<row.count) }
        return masked
    }

    /// The attention weights: a softmax over each row (each query's keys).
    public static func weights(_ masked: Matrix) -> Matrix {
        masked.softmaxRows()
    }

    /// Each query's output: the weighted average of the value rows.
    /// ```
    /// z_i = Σⱼ weights[i, j] · v_j        (T × T) · (T × dₕ) → (T × dₕ)
    /// ```
    /// Block by block as the forward pass sums (``blocks(queries:keys:mask:)``), so that the
    /// weights shown give its z to the bit.
    public static func weightedSum(weights: Matrix, values v: Matrix, mask: Mask) -> Matrix {
        let blocks = blocks(queries: weights.rows, keys: v.rows, mask: mask)
        guard blocks.count > 1 else { return weightedSum(weights, v, blocks[0]) }
        return Matrix.concatenateRows(blocks.map { weightedSum(weights.rows($0.queries).columns($0.keys), v, $0) })
    }

    // The steps, row by row: the functions above apply each to a copy of the matrix, to show it;
    // the forward pass applies all three to one buffer in place (``output(query:key:value:mask:block:)``).
    // Each cell goes through the same operations either way, so the weights are the same bytes.

    /// One row of `scaled = scores / √dₕ`, in place.
    static func scaleRow(_ row: UnsafeMutableBufferPointer<Float>, headDimension: Int) {
        let root = Float(headDimension).squareRoot()
        for j in row.indices { row[j] = row[j] / root }
    }

    /// One row of the mask, in place: −∞ in the cells query `i` may not attend to. The row holds
    /// the keys `keys` (all of them, or a block's run).
    static func maskRow(_ row: UnsafeMutableBufferPointer<Float>, query i: Int, _ mask: Mask, keys: Range<Int>) {
        let columns = row.count, first = keys.lowerBound
        if let allowed = mask.allowedKeys(query: i, keys: keys.upperBound) {
            // One run of allowed keys: −∞ before it and after it.
            let start = min(max(allowed.lowerBound - first, 0), columns)
            let end = min(max(allowed.upperBound - first, start), columns)
            for j in 0..<start { row[j] = -.infinity }
            for j in end..<columns { row[j] = -.infinity }
        } else {
            for j in 0..<columns where !mask.allows(query: i, key: first + j) { row[j] = -.infinity }
        }
    }

    // Long sentences, in blocks of query rows. Under a causal mask query i sees keys 0…i, so a
    // block of queries needs only the keys up to its last one: the cells above the diagonal are
    // −∞, and their weights exactly 0. The forward pass computes a block's scores, weights and
    // z on those keys alone, in a buffer of (rows × keys): half the work of the whole T × T, and
    // never the whole of it in memory. Each weight is the same either way: the row's largest
    // value and its sum left to right are those of the cells it may see, the others adding 0.

    /// The query rows computed together. A sentence of at most this many tokens is one block.
    static let blockRows = 256

    /// A block of query rows, and the run of keys any of them may attend to.
    public struct Block: Sendable, Equatable {
        public let queries: Range<Int>
        public let keys: Range<Int>
    }

    /// The blocks of `queries` query rows over `keys` keys: one block of everything, or, when
    /// the mask lets each query see one run of keys that moves with it (causal, sliding window)
    /// and there are more than ``blockRows`` queries, blocks of ``blockRows`` rows; for sentences
    /// side by side, a block per sentence.
    public static func blocks(queries: Int, keys: Int, mask: Mask) -> [Block] {
        switch mask {
        case .causal, .slidingWindow:
            guard queries > blockRows else { break }
            return stride(from: 0, to: queries, by: blockRows).map { start in
                let rows = start..<min(queries, start + blockRows)
                let first = mask.allowedKeys(query: rows.lowerBound, keys: keys) ?? 0..<keys
                let last = mask.allowedKeys(query: rows.upperBound - 1, keys: keys) ?? 0..<keys
                return Block(queries: rows, keys: min(first.lowerBound, last.lowerBound)..<max(first.upperBound, last.upperBound))
            }
        case let .sentences(starts):
            // Sentences side by side (an encoder's batch): each sees only its own keys, so each is
            // a block of its own, computed as it would be alone.
            let ends = Array(starts.dropFirst()) + [queries]
            guard starts.first == 0, queries == keys, zip(starts, ends).allSatisfy({ $0 < $1 }) else { break }
            return zip(starts, ends).map { Block(queries: $0..<$1, keys: $0..<$1) }
        case .padding:
            break
        }
        return [Block(queries: 0..<queries, keys: 0..<keys)]
    }

    /// A block's scores, `q[block] · k[keys]ᵀ`: the one product of the scores.
    static func scores(_ q: Matrix, _ k: Matrix, _ block: Block) -> Matrix {
        let queries = block.queries == 0..<q.rows ? q : q.rows(block.queries)
        return k.values.withUnsafeBufferPointer { keys in
            queries.multiplied(byTransposeOf: UnsafeBufferPointer(rebasing: keys[(block.keys.lowerBound * k.columns)..<(block.keys.upperBound * k.columns)]),
                               rows: block.keys.count, columns: k.columns)
        }
    }

    /// A block's z, `weights · v[keys]`, from its weights (block rows × block keys): the one
    /// product of the weighted sum.
    static func weightedSum(_ weights: Matrix, _ v: Matrix, _ block: Block) -> Matrix {
        v.values.withUnsafeBufferPointer { values in
            weights.multiplied(by: UnsafeBufferPointer(rebasing: values[(block.keys.lowerBound * v.columns)..<(block.keys.upperBound * v.columns)]),
                               rows: block.keys.count, columns: v.columns)
        }
    }

    /// The forward pass's head, one block of query rows: the steps of ``tokenByToken(query:key:mask:)``
    /// row by row in one buffer (scale, mask, softmax), then z.
    /// ```
    /// weights = softmax(q · kᵀ / √dₕ + mask)       (rows × keys)
    /// z       = weights · v                        (rows × keys) · (keys × dₕ) → (rows × dₕ)
    /// ```
    static func output(query q: Matrix, key k: Matrix, value v: Matrix, mask: Mask, block: Block) -> Matrix {
        let dh = q.columns
        var weights = scores(q, k, block)
        weights.updateRows { row, i in
            scaleRow(row, headDimension: dh)
            maskRow(row, query: block.queries.lowerBound + i, mask, keys: block.keys)
            softmaxRow(row)
        }
        return weightedSum(weights, v, block)
    }

    /// One head of a model, by layer: a head ablated (its `z` zeros, so nothing it computed
    /// reaches the rest of the model, everything downstream recomputed), patched or shown.
    public struct HeadIndex: Hashable, Sendable, Comparable {
        public let layer: Int
        public let head: Int
        public init(layer: Int, head: Int) {
            self.layer = layer
            self.head = head
        }
        public static func < (a: HeadIndex, b: HeadIndex) -> Bool { (a.layer, a.head) < (b.layer, b.head) }
    }

    /// A head's four token × token steps.
    public struct TokenByToken: Sendable {
        public var scores: Matrix
        public var scaled: Matrix
        public var masked: Matrix
        public var weights: Matrix
    }

    /// The token × token steps of one head, from its queries and keys.
    /// ```
    /// scores  = q · kᵀ                 (T × dₕ) · (dₕ × P+T) → (T × P+T)
    /// scaled  = scores / √dₕ
    /// masked  = scaled, −∞ where `mask` forbids
    /// weights = softmax(masked)        by rows
    /// ```
    public static func tokenByToken(query q: Matrix, key k: Matrix, mask: Mask) -> TokenByToken {
        let scores = scores(queries: q, keys: k, mask: mask)
        let scaled = scale(scores, headDimension: q.columns)
        let masked = self.mask(scaled, mask)
        return TokenByToken(scores: scores, scaled: scaled, masked: masked, weights: weights(masked))
    }

    /// Every query head of a layer: the one head loop of every model. An encoder passes each
    /// head's own q, k and v; a decoder passes q and k after RoPE, and the k and v of each
    /// key/value head, which the `queries.count / keys.count` query heads of its group share (its
    /// only additions). The trace keeps q, k, v, the mask and z; its T × T steps are computed
    /// again from them when shown (``HeadTrace/tokenByToken()``).
    ///
    /// The heads and their blocks of query rows (``blocks(queries:keys:mask:)``) are independent:
    /// both cores take the next one until none is left.
    /// ```
    /// weights = softmax(q · kᵀ / √dₕ + mask)       (T × P+T)
    /// z       = weights · v            (T × P+T) · (P+T × dₕ) → (T × dₕ), zeros when ablated
    /// ```
    public static func heads(queries: [Matrix], keys: [Matrix], values: [Matrix], mask: Mask, ablated: Set<Int>) -> [HeadTrace] {
        precondition(!keys.isEmpty && keys.count == values.count && queries.count % keys.count == 0)
        let group = queries.count / keys.count
        let blocks = blocks(queries: queries.first?.rows ?? 0, keys: keys[0].rows, mask: mask)
        // One piece of work per head and block; an ablated head's z is zeros, computed by nobody.
        let work = queries.indices.filter { !ablated.contains($0) }.flatMap { h in blocks.map { (head: h, block: $0) } }
        let outputs = mapOnBothCores(work.count) { n in
            let (h, block) = work[n]
            return output(query: queries[h], key: keys[h / group], value: values[h / group], mask: mask, block: block)
        }
        return queries.indices.map { h in
            let j = h / group
            let z: Matrix
            if let first = work.firstIndex(where: { $0.head == h }) {
                z = blocks.count == 1 ? outputs[first] : Matrix.concatenateRows(Array(outputs[first..<(first + blocks.count)]))
            } else {
                z = Matrix(rows: queries[h].rows, columns: values[j].columns)
            }
            return HeadTrace(q: queries[h], k: keys[j], v: values[j], mask: mask, z: z, keyValueHead: j)
        }
    }

    /// Every head of a layer whose heads each have their own q, k and v (BERT, GPT-2), from the
    /// projections of all heads at once: head h reads columns h·dₕ ..< (h+1)·dₕ of each.
    public static func heads(queries: Matrix, keys: Matrix, values: Matrix, count: Int, headDimension dh: Int,
                             mask: Mask, ablated: Set<Int>) -> [HeadTrace] {
        let slices = { (m: Matrix) in (0..<count).map { headSlice(m, head: $0, headDimension: dh) } }
        return heads(queries: slices(queries), keys: slices(keys), values: slices(values), mask: mask, ablated: ablated)
    }
}
