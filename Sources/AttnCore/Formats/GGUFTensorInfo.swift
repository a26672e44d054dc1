/// Where one tensor lives in a GGUF file, and what it holds.
public struct GGUFTensorInfo: Sendable {
    /// The tensor's name in llama.cpp's scheme: `token_embd.weight`, `blk.0.attn_q.weight`.
    public let name: String
    /// How its elements are stored: F32, or a block type such as Q4_1.
    public let type: GGMLType
    /// The sizes in ggml order: `ne0`, the fastest-varying (contiguous) dimension, first.
    /// A PyTorch weight of shape `[out, in]` is stored as `[in, out]`.
    public let dimensions: [Int]
    /// Absolute byte range in the file.
    public let byteRange: Range<Int>
    /// The number of elements, the product of the dimensions.
    public var count: Int { dimensions.reduce(1, *) }
}

