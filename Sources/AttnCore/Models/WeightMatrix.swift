/// A 2-D weight tensor of the checkpoint, left where it lies in the memory-mapped file.
///
/// MiniLM's 90 MB of F32 weights are not copied at load: BLAS reads the linear layers straight
/// from the mapping, and an embedding look-up copies only the rows a sentence needs. (The kernel
/// pages the file in as it is first read, and shares those pages between runs.) A tensor that
/// cannot be read in place (F16 or BF16, or an F32 tensor at an unaligned offset) is converted
/// into memory once, at load.
public struct WeightMatrix: Sendable {
    /// The tensor's name in the checkpoint.
    public let name: String
    public let rows: Int
    public let columns: Int
    private let storage: Storage

    private enum Storage: Sendable {
        case mapped(SafeTensors, SafeTensors.Entry)
        case converted([Float])
    }

    /// The 2-D tensor `name` of `file`.
    /// - Precondition: the tensor exists and is 2-D (the loader has checked its shape).
    init(file: SafeTensors, name: String) throws {
        guard let entry = file.entries[name], entry.shape.count == 2 else {
            throw AttnError.tensorMissing(name: name, path: file.path)
        }
        self.name = name
        rows = entry.shape[0]
        columns = entry.shape[1]
        storage = file.withMappedFloats(entry, { _ in true }) == true
            ? .mapped(file, entry) : .converted(try file.floats(name))
        // Every weight is read once here, NaN and ±∞ refused (the cost: Tests/Benchmarks/README.md).
        try withUnsafeValues { try FiniteCheck.require($0, shape: entry.shape, tensor: name, path: file.path) }
    }

    /// The elements in row-major order, without a copy; valid only inside `body`.
    public func withUnsafeValues<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        switch storage {
        case let .mapped(file, entry):
            // `init` checked that the tensor can be read in place.
            guard let result = try file.withMappedFloats(entry, body) else { preconditionFailure("\(name) is no longer mapped") }
            return result
        case let .converted(values):
            return try values.withUnsafeBufferPointer(body)
        }
    }

    /// The rows `ids`: the embedding look-up `E[ids]`.      (T × columns)
    /// - Precondition: every id is below `rows` (the tokenizer's ids are).
    public func lookUp(_ ids: [Int]) -> Matrix {
        withUnsafeValues { values in
            Matrix(rows: ids.count, columns: columns, values: ids.flatMap { id in
                precondition(id >= 0 && id < rows, "row \(id) of \(name), which has \(rows)")
                return values[(id * columns)..<((id + 1) * columns)]
            })
        }
    }

    /// The rows `range`, e.g. one head's rows of a projection.      (range.count × columns)
    public func rows(_ range: Range<Int>) -> Matrix { lookUp(Array(range)) }

    /// The whole tensor as a matrix: a copy (47 MB for MiniLM's token embeddings), for the
    /// learner's math and for tests.
    public func matrix() -> Matrix {
        withUnsafeValues { Matrix(rows: rows, columns: columns, values: Array($0)) }
    }
}
