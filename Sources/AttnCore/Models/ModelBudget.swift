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
    /// matrices and each head's q, k, v and z (T × dₕ). A head's T × T steps and a layer's
    /// T × d_ff feed-forward steps are computed when shown (``Trace/tokenByToken(layer:head:)``,
    /// ``Trace/feedForwardSteps(layer:)``), so only a few of them exist at once: two heads' in the
    /// forward pass (one per core), the last heads and the last layer shown.
    public static let maximumTraceBytes = 6 << 30

    /// The bytes a trace of `tokens` tokens of a model of these sizes takes, about, as float32:
    /// ```
    /// per layer:  T · (10·d + 6·heads·dₕ)     x, norms, residuals, out; q, k, v, z and q, k before RoPE
    /// once:       T · (4·d + 3·d_ff)          embeddings, final norm; one layer's feed-forward steps
    /// T × T:      12 · T²                     4 steps of 2 heads computing, 4 of the head shown
    /// ```
    /// (The logits, T × vocabulary, are computed when asked for, one row for `predict`.)
    public static func traceBytes(_ s: ModelSizes, tokens t: Int) -> Double {
        let perLayer = Double(10 * s.modelDimension + 6 * s.heads * s.headDimension)
        let linear = Double(t) * (Double(s.layers) * perLayer + 4 * Double(s.modelDimension) + 3 * Double(s.feedForwardDimension))
        return 4 * (linear + 12 * Double(t) * Double(t))
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
