/// A weight matrix of a GGUF decoder as attn keeps it: float32, or quantized blocks left in the
/// file's mapping (``QuantizedMatrix``), dequantized where a sentence or the learner reads them.
///
/// The forward pass only multiplies by it (`x · Wᵀ`) or looks rows up; the learner's `W_Q` and
/// `E` and the attribution tools read float32 rows, the same numbers either way.
public enum StoredMatrix: Sendable {
    case dense(Matrix)
    case quantized(QuantizedMatrix)

    public var rows: Int {
        switch self {
        case let .dense(m): m.rows
        case let .quantized(m): m.rows
        }
    }

    public var columns: Int {
        switch self {
        case let .dense(m): m.columns
        case let .quantized(m): m.columns
        }
    }

    /// The rows `ids`, e.g. the embeddings `E[ids]`.   (T × columns)
    public func rows(at ids: [Int]) -> Matrix {
        switch self {
        case let .dense(m): m.rows(at: ids)
        case let .quantized(m): m.rows(at: ids)
        }
    }

    /// The rows `range`, e.g. one head's rows of a projection.   (range.count × columns)
    public func rows(_ range: Range<Int>) -> Matrix {
        switch self {
        case let .dense(m): m.rows(range)
        case let .quantized(m): m.rows(range)
        }
    }

    /// Row `i`.
    public func row(_ i: Int) -> [Float] { rows(i..<(i + 1)).values }

    /// The whole matrix as float32 (dequantized now when it is stored quantized).
    public var matrix: Matrix {
        switch self {
        case let .dense(m): m
        case let .quantized(m): m.dequantized
        }
    }
}

extension Matrix {
    /// `self · Wᵀ` for a stored weight `W` (out × in): a linear layer without bias, or the
    /// logits of a tied embedding.   (T × in) → (T × out)
    public func multiplied(byTransposeOf w: StoredMatrix) -> Matrix {
        switch w {
        case let .dense(m): multiplied(by: m, transposeB: true)
        case let .quantized(m): m.multipliedTransposed(self)
        }
    }
}

extension GGUFFile {
    /// A 2-D tensor as attn keeps it: in place when its blocks have a kernel (Q8_0, Q4_1, Q5_0,
    /// Q4_K, Q6_K), dequantized to float32 otherwise.
    /// - Throws: `.tensorNotFinite`, or as ``matrix(_:requiringFinite:)``.
    public func storedMatrix(_ name: String) throws -> StoredMatrix {
        if let quantized = try quantizedMatrix(name) { return .quantized(quantized) }
        return .dense(try matrix(name, requiringFinite: true))
    }
}
