/// What one model may make attn allocate, whatever its files claim.
///
/// A config.json or GGUF header is a promise from outside: a `max_position_embeddings` of 2²⁰ or a
/// sparse file whose header describes a 4 GB tensor would otherwise be believed until the memory
/// ran out. Every size is checked against these limits before anything is allocated for it.
public enum ModelBudget {
    /// The most bytes of float32 weights one model may have, counted as float32 whatever the file
    /// stores: MiniLM has 90 MB, SmolLM2-135M 538 MB, GPT-2 small 498 MB, BERT-large 1.3 GB,
    /// GPT-2 large 3.1 GB; 4 GiB is about 1.07 billion parameters. (F32 safetensors and GGUF's
    /// Q8_0 and Q4_1 tensors stay in the file's mapping; F16, BF16 and other GGUF types are
    /// converted into memory.)
    public static let maximumWeightBytes = 4 << 30

    /// The most bytes one trace may take. What a trace keeps grows with T: per layer a few T × d
    /// matrices and each head's q, k, v and z (T × dₕ). What is cheap to compute again is
    /// computed when shown: a head's T × T steps (``Trace/tokenByToken(layer:head:)``), a layer's
    /// T × d_ff feed-forward steps (``Trace/feedForwardSteps(layer:)``), its norms, its residual
    /// sum and the projections before RoPE. So only a few T × T matrices exist at once: the head shown last,
    /// and older ones within 256 MB; the forward pass computes blocks of 256 query rows.
    public static let maximumTraceBytes = 6 << 30

    /// The most bytes of logits (T × vocabulary) computed at once, for `logits` and the math:
    /// 1 GiB is SmolLM2's logits of 5461 tokens and Gemma 3's of 1024 (its vocabulary is 262,144).
    /// `predict`, the explanation targets and decoding compute one row.
    public static let maximumLogitsBytes = 1 << 30

    /// The bytes of the logits of `tokens` tokens over `vocabulary` entries, as float32.
    public static func logitsBytes(tokens: Int, vocabulary: Int) -> Double {
        4 * Double(tokens) * Double(vocabulary)
    }

    /// The most tokens whose logits over `vocabulary` entries fit ``maximumLogitsBytes``.
    public static func maximumLogitsTokens(vocabulary: Int) -> Int {
        maximumLogitsBytes / (4 * max(vocabulary, 1))
    }

    /// Whether the logits of `tokens` tokens over `vocabulary` entries fit ``maximumLogitsBytes``.
    public static func logitsFit(tokens: Int, vocabulary: Int) -> Bool {
        tokens <= maximumLogitsTokens(vocabulary: vocabulary)
    }

    /// The bytes a trace of `tokens` tokens of a model of these sizes takes, about, as float32:
    /// ```
    /// per layer:  T · (5·d + 2·heads·dₕ + 2·kv·dₕ)   x, attn_out, ffn_out, and Gemma 3's two
    ///                                                post-norms (BERT: attn_norm); q, z; k, v
    /// once:       T · (4·d + 3·d_ff)                 embeddings, final norm; one layer's feed-forward steps
    /// T × T:      4 · T² + min(4 · T², 2²⁶)          the 4 steps of the head shown; older heads
    /// blocks:     2 · 256 · T                        one block of queries computing on each core
    /// ```
    /// (The logits, T × vocabulary, are computed when asked for, one row for `predict`.)
    public static func traceBytes(_ s: ModelSizes, tokens t: Int) -> Double {
        let (t, d, dh) = (Double(t), Double(s.modelDimension), Double(s.headDimension))
        let perLayer = 5 * d + 2 * Double(s.heads) * dh + 2 * Double(s.keyValueHeads) * dh
        let linear = t * (Double(s.layers) * perLayer + 4 * d + 3 * Double(s.feedForwardDimension) + 2 * 256)
        return 4 * (linear + 4 * t * t + min(4 * t * t, Double(1 << 26)))
    }

    /// The most tokens a model of these sizes may trace: its context, or fewer when a trace of
    /// its context would take more than ``maximumTraceBytes`` (at least 1).
    public static func tokenLimit(_ sizes: ModelSizes) -> Int {
        guard sizes.context > 1 else { return 1 }
        if traceBytes(sizes, tokens: sizes.context) <= Double(maximumTraceBytes) { return sizes.context }
        // traceBytes grows with T: the largest T within the budget, by bisection.
        var (fits, tooMany) = (1, sizes.context)
        while tooMany - fits > 1 {
            let middle = fits + (tooMany - fits) / 2
            if traceBytes(sizes, tokens: middle) <= Double(maximumTraceBytes) { fits = middle } else { tooMany = middle }
        }
        return fits
    }

    /// The float32 bytes of tensors of the given shapes, nil when the product overflows.
    static func float32Bytes(_ shapes: [[Int]]) -> Int? {
        var total = 0
        for shape in shapes {
            var bytes = MemoryLayout<Float>.size
            for dimension in shape {
                let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
                guard !overflow else { return nil }
                bytes = product
            }
            let (sum, overflow) = total.addingReportingOverflow(bytes)
            guard !overflow else { return nil }
            total = sum
        }
        return total
    }

    /// Throws `.modelTooLarge` when tensors of `shapes` would take more than `maximumWeightBytes` as float32.
    static func check(_ shapes: [[Int]], path: String) throws {
        let bytes = float32Bytes(shapes)
        guard let bytes, bytes <= maximumWeightBytes else {
            throw AttnError.modelTooLarge(path: path, bytes: bytes, limit: maximumWeightBytes)
        }
    }
}
