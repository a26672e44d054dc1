/// Reads a decoder's weights from a GGUF file, every tensor checked before any is dequantized:
/// the one loader of ``LlamaWeights`` and ``Gemma3Weights``.
enum GGUFWeightLoader {
    /// The tensors `wanted` (name, shape in PyTorch order: rows × columns, `[1, n]` for a vector),
    /// dequantized to float32 in that order.
    ///
    /// The file must hold exactly these tensors: one it has and the model does not read would mean
    /// attn computes something other than the file's model.
    /// - Throws: `.tensorUnexpected` for a tensor nobody reads, `.modelTooLarge` beyond
    ///   ``ModelBudget/maximumWeightBytes`` (the file's shapes and the wanted ones, before anything
    ///   is allocated: a header can promise a 4 GB tensor in a sparse file), `.tensorMissing`,
    ///   `.tensorShape`, `.tensorNotFinite`, or a GGUF error.
    static func load(_ file: GGUFFile, _ wanted: [(name: String, shape: [Int])]) throws -> [Matrix] {
        try check(file, wanted)
        // GGUFFile spreads each tensor's blocks over the cores.
        return try wanted.map { try file.matrix($0.name, requiringFinite: true) }
    }

    /// What ``load(_:_:)`` checks before it dequantizes anything: no stray tensor, the budget, every
    /// wanted tensor present with its shape.
    static func check(_ file: GGUFFile, _ wanted: [(name: String, shape: [Int])]) throws {
        let used = Set(wanted.map(\.name))
        if let stray = file.tensors.keys.sorted().first(where: { !used.contains($0) }) {
            throw AttnError.tensorUnexpected(name: stray, path: file.path)
        }
        try ModelBudget.check(file.tensors.values.map(\.dimensions), path: file.path)
        try ModelBudget.check(wanted.map(\.shape), path: file.path)
        for (name, expected) in wanted {
            guard let info = file.tensors[name] else { throw AttnError.tensorMissing(name: name, path: file.path) }
            let shape = info.dimensions.count == 1 ? [1, info.dimensions[0]] : info.dimensions.reversed()
            guard shape == expected else { throw AttnError.tensorShape(name: name, expected: expected, found: Array(shape)) }
        }
    }
}
