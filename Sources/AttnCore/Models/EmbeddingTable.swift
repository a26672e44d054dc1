/// A token embedding table that is also the output projection (tied): float32, or Q8_0 left in
/// the file's mapping (``Q8Matrix``), whose rows are dequantized when a sentence reads them.
public enum EmbeddingTable: Sendable {
    case dense(Matrix)
    case q8_0(Q8Matrix)

    /// The vocabulary size.
    public var rows: Int {
        switch self {
        case let .dense(m): m.rows
        case let .q8_0(m): m.rows
        }
    }

    /// The embeddings of `ids`, `E[ids]`.   (T × d)
    public func rows(at ids: [Int]) -> Matrix {
        switch self {
        case let .dense(m): m.rows(at: ids)
        case let .q8_0(m): m.rows(at: ids)
        }
    }

    /// The logits of every vocabulary entry for each row of `x`: `x · Eᵀ`.   (T × d) → (T × V)
    public func logits(_ x: Matrix) -> Matrix {
        switch self {
        case let .dense(m): x.multiplied(by: m, transposeB: true)
        case let .q8_0(m): m.multipliedTransposed(x)
        }
    }

    /// The whole table as float32 (dequantized now for a Q8_0 table).
    public var matrix: Matrix {
        switch self {
        case let .dense(m): m
        case let .q8_0(m): m.dequantized
        }
    }
}
