/// Reads a safetensors checkpoint's tensors for a model's fields: each one checked for presence,
/// shape and dtype, and remembered, so that a tensor no field reads is found at the end
/// (nanoGPT's `assert len(sd_keys_hf) == len(sd_keys)`).
struct CheckpointReader {
    let checkpoint: SafeTensorsCheckpoint
    private(set) var used = Set<String>()

    init(_ checkpoint: SafeTensorsCheckpoint) {
        self.checkpoint = checkpoint
    }

    /// `name`, after checking that the tensor is there with `shape` and a float dtype.
    mutating func checked(_ name: String, shape: [Int]) throws -> String {
        guard let entry = checkpoint.entry(name) else { throw AttnError.tensorMissing(name: name, path: checkpoint.path) }
        guard entry.shape == shape else { throw AttnError.tensorShape(name: name, expected: shape, found: entry.shape) }
        guard entry.dtype != .i64 else { throw AttnError.tensorDType(name: name, expected: "F32", found: "I64") }
        used.insert(name)
        return name
    }

    /// A small tensor (a bias, a norm, the positions), copied into memory, NaN and ±∞ refused.
    mutating func read(_ name: String, shape: [Int]) throws -> Matrix {
        let matrix = try checkpoint.matrix(checked(name, shape: shape))
        try matrix.values.withUnsafeBufferPointer {
            try FiniteCheck.require($0, shape: shape, tensor: name, path: checkpoint.path(of: name))
        }
        return matrix
    }

    /// A small 1-D tensor's values.
    mutating func vector(_ name: String, count: Int) throws -> [Float] {
        try read(name, shape: [count]).values
    }

    /// A big 2-D tensor, left in the mapped file where it can be.
    mutating func mapped(_ name: String, shape: [Int]) throws -> WeightMatrix {
        _ = try checked(name, shape: shape)
        guard let file = checkpoint.file(holding: name) else { throw AttnError.tensorMissing(name: name, path: checkpoint.path) }
        return try WeightMatrix(file: file, name: name)
    }

    /// Throws `.tensorUnexpected` for the first tensor of the checkpoint that was not read and
    /// that `ignored` does not excuse (buffers, heads outside the steps attn shows).
    func requireEveryTensorUsed(except ignored: (String) -> Bool) throws {
        if let stray = checkpoint.names.first(where: { !used.contains($0) && !ignored($0) }) {
            throw AttnError.tensorUnexpected(name: stray, path: checkpoint.path(of: stray))
        }
    }
}
