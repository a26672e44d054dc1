/// What one model may make attn allocate, whatever its files claim.
///
/// A config.json or GGUF header is a promise from outside: a `max_position_embeddings` of 2²⁰ or a
/// sparse file whose header describes a 4 GB tensor would otherwise be believed until the memory
/// ran out. Every size is checked against these limits before anything is allocated for it.
public enum ModelBudget {
    /// The most bytes of float32 weights one model may have: MiniLM has 90 MB, SmolLM2-135M
    /// dequantized 538 MB, GPT-2 small 498 MB, BERT-large 1.3 GB, GPT-2 large 3.1 GB; 4 GiB is
    /// about 1.07 billion parameters. (F32 safetensors stay in the file's mapping; F16, BF16 and
    /// GGUF weights are converted into memory.)
    public static let maximumWeightBytes = 4 << 30

    /// The most bytes the step matrices of one trace may take. Every head of every layer keeps
    /// about five T × T float matrices (scores, scaled, masked, weights and their neighbours), so
    /// this caps the tokens of a model with many heads far below its positions.
    public static let maximumTraceBytes = 1 << 30

    /// The most tokens a model of `layers` layers of `heads` heads may trace: at most `limit`
    /// (the model's own cap) and at most what keeps its T × T matrices within `maximumTraceBytes`.
    /// ```
    /// layers · heads · 5 · 4 bytes · T² ≤ maximumTraceBytes
    /// ```
    public static func tokenLimit(layers: Int, heads: Int, limit: Int) -> Int {
        let (perSquare, overflow) = layers.multipliedReportingOverflow(by: heads * 5 * 4)
        guard !overflow, perSquare > 0 else { return 1 }
        let byBudget = Int(Double(maximumTraceBytes / perSquare).squareRoot())
        return max(1, min(limit, byBudget))
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
