/// Checks a decoder's GGUF file before any tensor is read: for ``LlamaWeights`` and ``Gemma3Weights``.
enum GGUFWeightLoader {
    /// What a loader checks before it reads any tensor: no stray tensor, the budget, every wanted
    /// tensor (name, shape in PyTorch order: rows × columns, `[1, n]` for a vector) present with
    /// its shape.
    ///
    /// The file must hold exactly these tensors: one it has and the model does not read would mean
    /// attn computes something other than the file's model.
    /// - Throws: `.tensorUnexpected` for a tensor nobody reads, `.modelTooLarge` beyond
    ///   ``ModelBudget/maximumWeightBytes`` (the file's shapes and the wanted ones, before anything
    ///   is allocated: a header can promise a 4 GB tensor in a sparse file), `.tensorMissing`,
    ///   `.tensorShape`.
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
