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
    public static func scores(queries q: Matrix, keys k: Matrix) -> Matrix {
        q.multiplied(by: k, transposeB: true)
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
        masked.updateRows { row, i in maskRow(row, query: i, mask) }
        return masked
    }

    /// The attention weights: a softmax over each row (each query's keys).
    public static func weights(_ masked: Matrix) -> Matrix {
        masked.softmaxRows()
    }

    // The steps, row by row: the functions above apply each to a copy of the matrix, to show it;
    // the forward pass applies all three to one buffer in place (``head(query:key:value:mask:ablated:keyValueHead:)``).
    // Each cell goes through the same operations either way, so the weights are the same bytes.

    /// One row of `scaled = scores / √dₕ`, in place.
    static func scaleRow(_ row: UnsafeMutableBufferPointer<Float>, headDimension: Int) {
        let root = Float(headDimension).squareRoot()
        for j in row.indices { row[j] = row[j] / root }
    }

    /// One row of the mask, in place: −∞ in the cells query `i` may not attend to.
    static func maskRow(_ row: UnsafeMutableBufferPointer<Float>, query i: Int, _ mask: Mask) {
        let columns = row.count
        if let allowed = mask.allowedKeys(query: i, keys: columns) {
            // One run of allowed keys: −∞ before it and after it.
            for j in 0..<allowed.lowerBound { row[j] = -.infinity }
            for j in allowed.upperBound..<columns { row[j] = -.infinity }
        } else {
            for j in 0..<columns where !mask.allows(query: i, key: j) { row[j] = -.infinity }
        }
    }


    /// A head whose output is removed: its `z` becomes zeros, so nothing it computed reaches the
    /// rest of the model. Everything downstream is recomputed (ablation).
    public struct HeadIndex: Hashable, Sendable, Comparable {
        public let layer: Int
        public let head: Int
        public init(layer: Int, head: Int) {
            self.layer = layer
            self.head = head
        }
        public static func < (a: HeadIndex, b: HeadIndex) -> Bool { (a.layer, a.head) < (b.layer, b.head) }
    }

    /// `z`, or zeros of its shape when the head is ablated.
    public static func ablate(_ z: Matrix, if ablated: Bool) -> Matrix {
        ablated ? Matrix(rows: z.rows, columns: z.columns) : z
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
        let scores = scores(queries: q, keys: k)
        let scaled = scale(scores, headDimension: q.columns)
        let masked = self.mask(scaled, mask)
        return TokenByToken(scores: scores, scaled: scaled, masked: masked, weights: weights(masked))
    }

    /// One head: the one head loop body of every model. An encoder passes its head's own q, k and
    /// v; a decoder passes q and k after RoPE, and the k and v of the key/value head its group
    /// shares (its only additions). The trace keeps q, k, v, the mask and z; its T × T steps are
    /// computed again from them when shown (``HeadTrace/tokenByToken()``).
    /// ```
    /// weights = softmax(q · kᵀ / √dₕ + mask)       (T × P+T)
    /// z       = weights · v            (T × P+T) · (P+T × dₕ) → (T × dₕ), zeros when ablated
    /// ```
    /// - Parameter keyValueHead: the key/value head `k` and `v` belong to, for the trace.
    public static func head(query q: Matrix, key k: Matrix, value v: Matrix, mask: Mask, ablated: Bool,
                            keyValueHead: Int) -> HeadTrace {
        // The steps of tokenByToken, row by row in one T × T buffer: scale, mask, softmax.
        let dh = q.columns
        var weights = scores(queries: q, keys: k)
        weights.updateRows { row, i in
            scaleRow(row, headDimension: dh)
            maskRow(row, query: i, mask)
            softmaxRow(row)
        }
        let z = ablate(weightedSum(weights: weights, values: v), if: ablated)
        return HeadTrace(q: q, k: k, v: v, mask: mask, z: z, keyValueHead: keyValueHead)
    }

    /// Every head of a layer whose heads each have their own q, k and v (BERT, GPT-2), from the
    /// projections of all heads at once: head h reads columns h·dₕ ..< (h+1)·dₕ of each. The heads
    /// are independent, so half of them run on each core.
    public static func heads(queries: Matrix, keys: Matrix, values: Matrix, count: Int, headDimension dh: Int,
                             mask: Mask, ablated: Set<Int>) -> [HeadTrace] {
        mapOnBothCores(count) { h in
            head(query: headSlice(queries, head: h, headDimension: dh), key: headSlice(keys, head: h, headDimension: dh),
                 value: headSlice(values, head: h, headDimension: dh), mask: mask, ablated: ablated.contains(h),
                 keyValueHead: h)
        }
    }

    /// Each query's output: the weighted average of the value rows.
    /// ```
    /// z_i = Σⱼ weights[i, j] · v_j        (T × T) · (T × dₕ) → (T × dₕ)
    /// ```
    public static func weightedSum(weights: Matrix, values v: Matrix) -> Matrix {
        weights.multiplied(by: v)
    }
}
