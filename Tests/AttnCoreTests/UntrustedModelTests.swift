import AttnCore
import Foundation
import Testing

// Issue 11: everything from outside is untrusted. Model files are built here from the real ones
// (copied into temporary directories, never changed where they are fetched) or written byte by
// byte, each broken in one way; loading must fail with the error that names the problem, never
// trap, hang, or allocate beyond the model budget.

// MARK: - Helpers

/// A fresh directory under the system's temporary directory; `remove()` deletes it with everything in it.
private struct ScratchDirectory {
    let path: String

    init(_ label: String) {
        path = NSTemporaryDirectory() + "attn-untrusted-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The real checkpoints, read only.
private enum Real {
    static var minilm: String { ModelStore.directory(for: .minilm) }
    static var smollm2: String { ModelStore.directory(for: .smollm2) + "/" + Llama.fileName }
}

/// A copy of the real MiniLM in `directory`: config.json and vocab.txt linked unless `copying`
/// names them, the weights copied.
private func minilmCopy(in directory: String, copying: Set<String> = []) throws {
    let manager = FileManager.default
    for name in ["config.json", "vocab.txt"] {
        if copying.contains(name) {
            try manager.copyItem(atPath: Real.minilm + "/" + name, toPath: directory + "/" + name)
        } else {
            try manager.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: Real.minilm + "/" + name)
        }
    }
    try manager.copyItem(atPath: Real.minilm + "/model.safetensors", toPath: directory + "/model.safetensors")
}

/// Overwrites `count` bytes at `offset` of a file.
private func overwrite(_ path: String, at offset: Int, with bytes: [UInt8]) throws {
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    handle.write(Data(bytes))
}

/// Overwrites element `element` of an F32 tensor of a safetensors file in place.
private func setElement(_ path: String, tensor: String, element: Int, to value: Float) throws {
    let entry = try #require(try SafeTensors(path: path).entries[tensor])
    try overwrite(path, at: entry.byteRange.lowerBound + 4 * element, with: withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init))
}

/// The error `body` throws, as its description; nil when it throws none.
private func failure(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch {
        return "\(error)"
    }
}

/// A GGUF file as bytes, written field by field, little-endian (the layout is drawn in `GGUFFile`).
private struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func string(_ text: String) {
        u64(UInt64(text.utf8.count))
        bytes += text.utf8
    }
    mutating func header(tensors: UInt64, metadata: UInt64) {
        bytes += "GGUF".utf8
        u32(3)
        u64(tensors)
        u64(metadata)
    }
    mutating func tensor(_ name: String, dimensions: [UInt64], type: GGMLType, offset: UInt64) {
        string(name)
        u32(UInt32(dimensions.count))
        for n in dimensions { u64(n) }
        u32(type.rawValue)
        u64(offset)
    }
    mutating func pad(to alignment: Int = 32) { bytes += [UInt8](repeating: 0, count: (alignment - bytes.count % alignment) % alignment) }
    mutating func entry(_ key: String, u32 value: UInt32) { string(key); u32(4); u32(value) }
    mutating func entry(_ key: String, f32 value: Float) { string(key); u32(6); u32(value.bitPattern) }
    mutating func entry(_ key: String, text value: String) { string(key); u32(8); string(value) }
    mutating func entry(_ key: String, strings values: [String]) {
        string(key); u32(9); u32(8); u64(UInt64(values.count))
        for value in values { string(value) }
    }

    /// The metadata of a small Llama (d 64, 1 layer, 2 heads, a 4-token vocabulary), with `changes`
    /// replacing or adding numbers: integers as u32, others as f32.
    static let llamaNumbers: [(String, Double)] = [
        ("llama.embedding_length", 64), ("llama.block_count", 1), ("llama.attention.head_count", 2),
        ("llama.attention.head_count_kv", 1), ("llama.feed_forward_length", 128), ("llama.context_length", 64),
        ("llama.attention.layer_norm_rms_epsilon", 1e-5), ("llama.rope.freq_base", 10000),
    ]
    mutating func llamaMetadata(_ changes: [String: Double] = [:], tokens: Int = 4) {
        entry("general.architecture", text: "llama")
        for (key, value) in Self.llamaNumbers {
            let v = changes[key] ?? value
            if key.hasSuffix("epsilon") || key.hasSuffix("freq_base") { entry(key, f32: Float(v)) } else { entry(key, u32: UInt32(v)) }
        }
        entry("tokenizer.ggml.tokens", strings: (0..<tokens).map { "t\($0)" })
    }
    static let llamaMetadataCount: UInt64 = 10

    /// The metadata of a small Gemma 3 (d 64, 1 layer, 2 heads of 16 sharing one key/value head,
    /// a window of 8, a 4-token vocabulary), with `changes` replacing numbers as in `llamaMetadata`.
    static let gemmaNumbers: [(String, Double)] = [
        ("gemma3.embedding_length", 64), ("gemma3.block_count", 1), ("gemma3.attention.head_count", 2),
        ("gemma3.attention.head_count_kv", 1), ("gemma3.attention.key_length", 16), ("gemma3.attention.value_length", 16),
        ("gemma3.feed_forward_length", 128), ("gemma3.context_length", 64), ("gemma3.attention.sliding_window", 8),
        ("gemma3.attention.layer_norm_rms_epsilon", 1e-6), ("gemma3.rope.freq_base", 1e6),
    ]
    mutating func gemmaMetadata(_ changes: [String: Double] = [:], extra: (String, String)? = nil) {
        entry("general.architecture", text: "gemma3")
        for (key, value) in Self.gemmaNumbers {
            let v = changes[key] ?? value
            if key.hasSuffix("epsilon") || key.hasSuffix("freq_base") { entry(key, f32: Float(v)) } else { entry(key, u32: UInt32(v)) }
        }
        entry("tokenizer.ggml.tokens", strings: (0..<4).map { "t\($0)" })
        if let extra { entry(extra.0, text: extra.1) }
    }
    static let gemmaMetadataCount: UInt64 = 13

    /// One tensor `t` of `type` and `dimensions` whose data is `data`.
    static func single(_ type: GGMLType, dimensions: [UInt64], data: [UInt8]) -> [UInt8] {
        var file = GGUFBytes()
        file.header(tensors: 1, metadata: 0)
        file.tensor("t", dimensions: dimensions, type: type, offset: 0)
        file.pad()
        return file.bytes + data
    }
}

private func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

private func halfBits(_ x: Float) -> [UInt8] { withUnsafeBytes(of: Float16(x).bitPattern.littleEndian, Array.init) }

// MARK: - 1. Weights that are not numbers

@Suite("Untrusted model files: NaN and ±∞ among the weights")
struct NonFiniteWeightTests {
    @Test("FiniteCheck finds the first NaN or ±∞ wherever it is, and passes every finite float (subnormals, −0, the largest)")
    func scan() {
        let finite: [Float] = [0, -0, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude,
                               -.greatestFiniteMagnitude, 1, -1e-30, 3e38]
        #expect(FiniteCheck.firstNonFinite(finite) == nil)
        #expect(FiniteCheck.firstNonFinite([Float]()) == nil)
        for count in [1, 7, 4095, 4096, 4097, 10_000] {
            for index in Set([0, count / 2, count - 1]) {
                for bad in [Float.nan, .infinity, -.infinity, -Float.nan, Float(bitPattern: 0x7F80_0001)] {
                    var values = [Float](repeating: 1.5, count: count)
                    values[index] = bad
                    if index > 0 { values[index - 1] = .greatestFiniteMagnitude }
                    let found = FiniteCheck.firstNonFinite(values)
                    #expect(found?.index == index, "\(count) \(index) \(bad)")
                    #expect(found?.value.bitPattern == bad.bitPattern)
                }
            }
        }
        // Only the first is reported.
        #expect(FiniteCheck.firstNonFinite([1, .infinity, .nan])?.index == 1)
    }

    @Test("MiniLM with a NaN, +∞ or −∞ in a mapped weight, a bias or the embeddings: refused at load, naming the tensor and the cell",
          arguments: [("encoder.layer.2.intermediate.dense.weight", 5 * 384 + 7, Float.nan, "nan at [5, 7]"),
                      ("encoder.layer.4.output.LayerNorm.bias", 100, .infinity, "inf at [100]"),
                      ("embeddings.word_embeddings.weight", 30522 * 384 - 1, -.infinity, "-inf at [30521, 383]"),
                      ("embeddings.position_embeddings.weight", 0, .nan, "nan at [0, 0]")])
    func minilm(tensor: String, element: Int, value: Float, shown: String) throws {
        let scratch = ScratchDirectory("nonfinite")
        defer { scratch.remove() }
        try minilmCopy(in: scratch.path)
        let weights = scratch.path + "/model.safetensors"
        try setElement(weights, tensor: tensor, element: element, to: value)
        #expect(failure { _ = try Bert(directory: scratch.path) }
                == "\(weights) is corrupt: tensor \(tensor) holds \(shown), where a weight must be a finite number; fetch the weights again")
    }

    @Test("GGUF: an F32 or F16 element, or a Q8_0, Q4_1 or Q6_K block scale (or minimum) of inf or nan is refused, naming the tensor and the cell")
    func gguf() throws {
        let scratch = ScratchDirectory("nonfinite-gguf")
        defer { scratch.remove() }
        let path = scratch.path + "/t.gguf"
        func expectRefused(_ data: [UInt8], _ type: GGMLType, _ dimensions: [UInt64], _ shown: String) throws {
            try write(GGUFBytes.single(type, dimensions: dimensions, data: data), to: path)
            let file = try GGUFFile(path: path)
            #expect(failure { _ = try file.floats("t") } == nil)  // the format allows them; a model's weights do not
            #expect(failure { _ = try file.floats("t", requiringFinite: true) }
                    == "\(path) is corrupt: tensor t holds \(shown), where a weight must be a finite number; fetch the weights again")
        }
        // F32: 2 rows of 4, the nan in row 1, column 2.
        var f32 = [UInt8]()
        for x in [0, 1, 2, 3, 4, 5, Float.nan, 7] as [Float] { f32 += withUnsafeBytes(of: x.bitPattern.littleEndian, Array.init) }
        try expectRefused(f32, .f32, [4, 2], "nan at [1, 2]")
        // F16: +∞ (0x7C00) as the fourth element.
        try expectRefused([1, 2, 3].flatMap { halfBits(Float($0)) } + [0x00, 0x7C], .f16, [4], "inf at [3]")
        // Q8_0: the second block's scale is nan; its first element is the 33rd.
        let goodQ8 = halfBits(0.5) + [UInt8](repeating: 1, count: 32)
        try expectRefused(goodQ8 + [0x00, 0x7E] + [UInt8](repeating: 1, count: 32), .q8_0, [64], "nan at [32]")
        // Q4_1: the scale is finite, the minimum −∞: every element of the block is −∞.
        try expectRefused(halfBits(0.5) + [0x00, 0xFC] + [UInt8](repeating: 0x21, count: 16), .q4_1, [32, 1], "-inf at [0, 0]")
        // Q4_1 with a scale of +∞ and q = 0 for the first element: 0 · ∞ is nan.
        try expectRefused([0x00, 0x7C] + halfBits(0) + [UInt8](repeating: 0x10, count: 16), .q4_1, [32], "nan at [0]")
        // Q6_K: the super-block scale d (its last two bytes) is nan, so all 256 elements are.
        try expectRefused([UInt8](repeating: 0, count: 208) + [0x00, 0x7E], .q6_k, [256, 1], "nan at [0, 0]")
    }
}

// MARK: - 3. Budgets: what a file may make attn allocate

/// A copy of `source` (a safetensors file) at `path` whose header is changed by `change`; the data
/// is copied as it is, and the file then extended with zeros (sparse) to `extra` more bytes.
private func rewriteHeader(of source: String, to path: String, extra: Int = 0,
                           _ change: (inout [String: Any], _ dataSize: Int) -> Void) throws {
    let original = try Data(contentsOf: URL(fileURLWithPath: source))
    let length = original.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
    var header = try #require(try JSONSerialization.jsonObject(with: original.subdata(in: 8..<(8 + length))) as? [String: Any])
    let data = original.subdata(in: (8 + length)..<original.count)
    change(&header, data.count)
    let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) }
    bytes.append(json)
    bytes.append(data)
    try bytes.write(to: URL(fileURLWithPath: path))
    #expect(truncate(path, off_t(bytes.count + extra)) == 0)
}

/// Rewrites config.json of `directory` (a copy, not a link) with `change`.
private func changeConfiguration(in directory: String, _ change: (inout [String: Any]) -> Void) throws {
    let path = directory + "/config.json"
    var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    change(&json)
    try FileManager.default.removeItem(atPath: path)
    try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
}

@Suite("Untrusted model files: sizes and numbers from config.json and GGUF metadata")
struct ModelBudgetTests {
    @Test("config.json: every whole-number key out of its range, and ε out of 0 < ε < 1, is named with the range",
          arguments: [("num_hidden_layers", 0, "num_hidden_layers is 0, outside 1…256"),
                      ("num_hidden_layers", 100_000, "num_hidden_layers is 100000, outside 1…256"),
                      ("hidden_size", 1 << 20, "hidden_size is 1048576, outside 1…16384"),
                      ("num_attention_heads", -3, "num_attention_heads is -3, outside 1…256"),
                      ("intermediate_size", 1 << 30, "intermediate_size is 1073741824, outside 1…131072"),
                      ("vocab_size", 1 << 21, "vocab_size is 2097152, outside 1…1048576"),
                      ("max_position_embeddings", 0, "max_position_embeddings is 0, outside 1…1048576"),
                      ("type_vocab_size", 5000, "type_vocab_size is 5000, outside 1…1024")])
    func bertRanges(key: String, value: Int, reason: String) throws {
        let scratch = ScratchDirectory("config-range")
        defer { scratch.remove() }
        try minilmCopy(in: scratch.path, copying: ["config.json"])
        try changeConfiguration(in: scratch.path) { $0[key] = value }
        #expect(failure { _ = try Bert(directory: scratch.path) }
                == "\(scratch.path)/config.json is not a usable model configuration: \(reason)")
    }

    @Test("config.json: layer_norm_eps of 0, 2 or 1e300 (beyond any Float), and a size of 1e30 (beyond any Int), are refused, naming the range")
    func bertEpsilon() throws {
        let scratch = ScratchDirectory("config-eps")
        defer { scratch.remove() }
        try minilmCopy(in: scratch.path, copying: ["config.json"])
        for (value, shown) in [(0.0, "0.0"), (2, "2.0"), (1e300, "1e+300")] {
            try changeConfiguration(in: scratch.path) { $0["layer_norm_eps"] = value }
            #expect(failure { _ = try Bert(directory: scratch.path) }
                    == "\(scratch.path)/config.json is not a usable model configuration: layer_norm_eps is \(shown), outside 0 < ε < 1")
        }
        try changeConfiguration(in: scratch.path) { $0["layer_norm_eps"] = 1e-12; $0["vocab_size"] = 1e30 }
        #expect(failure { _ = try Bert(directory: scratch.path) }
                == "\(scratch.path)/config.json is not a usable model configuration: vocab_size is 1e+30, outside 1…1048576")
    }

    @Test("max_position_embeddings 65536 with a table to match loads, and a 60,000-token sentence is refused at the trace budget, before any forward pass")
    func bertPositions() throws {
        let scratch = ScratchDirectory("positions")
        defer { scratch.remove() }
        try minilmCopy(in: scratch.path, copying: ["config.json"])
        try changeConfiguration(in: scratch.path) { $0["max_position_embeddings"] = 65536 }
        let weights = scratch.path + "/model.safetensors"
        let table = 65536 * 384 * 4
        try rewriteHeader(of: Real.minilm + "/model.safetensors", to: weights + ".new", extra: table) { header, dataSize in
            header["embeddings.position_embeddings.weight"] = ["dtype": "F32", "shape": [65536, 384],
                                                                "data_offsets": [dataSize, dataSize + table]]
        }
        try FileManager.default.removeItem(atPath: weights)
        try FileManager.default.moveItem(atPath: weights + ".new", toPath: weights)
        let bert = try Bert(directory: scratch.path)
        let limit = bert.tokenLimit
        #expect(limit > 512 && limit < 65536)
        #expect(ModelBudget.traceBytes(bert.sizes, tokens: limit) <= Double(ModelBudget.maximumTraceBytes))
        #expect(ModelBudget.traceBytes(bert.sizes, tokens: limit + 1) > Double(ModelBudget.maximumTraceBytes))
        let long = String(repeating: "a ", count: 60_000)
        #expect(failure { _ = try bert.trace(long) }
                == "the sentence has 60002 tokens but attn traces at most \(limit) of this model (it reads 65536; every step of more would take over 6 GB): shorten it")
        #expect(try bert.trace("the cat sat").count == 5)
    }

    @Test("a model of 4240 MB of float32 (2²⁰ positions and tokens, 65536 feed-forward units) is refused before it is read: the model budget is 4 GiB")
    func bertTooLarge() throws {
        let scratch = ScratchDirectory("too-large")
        defer { scratch.remove() }
        try minilmCopy(in: scratch.path, copying: ["config.json"])
        try changeConfiguration(in: scratch.path) {
            $0["max_position_embeddings"] = 1 << 20
            $0["vocab_size"] = 1 << 20
            $0["intermediate_size"] = 1 << 16
        }
        #expect(failure { _ = try Bert(directory: scratch.path) }
                == "\(scratch.path)/model.safetensors describes 4240 MB of float32 weights, more than the 4096 MB attn allows one model: use a smaller model")
    }

    @Test("the token limit is the model's context, unless a trace that long would take more than 6 GiB; it grows with T, not T²")
    func tokenLimit() {
        let minilm = ModelSizes(layers: 6, heads: 12, keyValueHeads: 12, headDimension: 32, modelDimension: 384,
                                feedForwardDimension: 1536, vocabulary: 30522, context: 512)
        #expect(ModelBudget.tokenLimit(minilm) == 512)
        // 512 tokens of MiniLM: 6 · (1920 + 768 + 768) + 1536 + 4608 + 512 floats a token, 8 T² for the
        // head shown and older ones: 65 MB.
        #expect(abs(ModelBudget.traceBytes(minilm, tokens: 512) - 4 * (512 * 27_392 + 8 * 512 * 512)) < 1)
        // SmolLM2 traces its whole context: 8192 tokens in about 5.9 GB (4.8 GB measured).
        let smollm2 = ModelSizes(layers: 30, heads: 9, keyValueHeads: 3, headDimension: 64, modelDimension: 576,
                                 feedForwardDimension: 1536, vocabulary: 49152, context: 8192)
        #expect(ModelBudget.tokenLimit(smollm2) == 8192)
        #expect(ModelBudget.traceBytes(smollm2, tokens: 8192) <= Double(ModelBudget.maximumTraceBytes))
        // Gemma 3 reads 32768 positions, more than 6 GiB of trace: the budget's limit, to the token.
        let gemma3 = ModelSizes(layers: 18, heads: 4, keyValueHeads: 1, headDimension: 256, modelDimension: 640,
                                feedForwardDimension: 2048, vocabulary: 262_144, context: 32768)
        let limit = ModelBudget.tokenLimit(gemma3)
        #expect(limit >= 8192 && limit < 32768, "\(limit)")
        #expect(ModelBudget.traceBytes(gemma3, tokens: limit) <= Double(ModelBudget.maximumTraceBytes))
        #expect(ModelBudget.traceBytes(gemma3, tokens: limit + 1) > Double(ModelBudget.maximumTraceBytes))
        // Twice the tokens, about twice the bytes (the T² term, one head's steps, is small at these lengths).
        let ratio = ModelBudget.traceBytes(smollm2, tokens: 2048) / ModelBudget.traceBytes(smollm2, tokens: 1024)
        #expect(ratio > 2 && ratio < 2.15, "\(ratio)")
        // An absurd model from an untrusted file: at least 1, no overflow, no hang.
        let absurd = ModelSizes(layers: 1 << 20, heads: 1 << 10, keyValueHeads: 1, headDimension: 1 << 10,
                                modelDimension: 1 << 20, feedForwardDimension: 1 << 20, vocabulary: 1, context: Int(Int32.max))
        #expect(ModelBudget.tokenLimit(absurd) == 1)
    }

    @Test("GGUF: tensors that together need more bytes than the data section holds are refused, even when each fits")
    func ggufOverlap() throws {
        let scratch = ScratchDirectory("gguf-overlap")
        defer { scratch.remove() }
        var file = GGUFBytes()
        file.header(tensors: 2, metadata: 0)
        file.tensor("a", dimensions: [16], type: .f32, offset: 0)
        file.tensor("b", dimensions: [16], type: .f32, offset: 0)
        file.pad()
        let path = scratch.path + "/t.gguf"
        try write(file.bytes + [UInt8](repeating: 0, count: 64), to: path)
        #expect(failure { _ = try GGUFFile(path: path) }
                == "\(path) is not a usable GGUF file: its tensors up to b need 128 bytes, but its data section has only 64: the file is truncated or its offsets are wrong")
    }

    @Test("GGUF: a sparse file whose header promises a 5 GB Q4_1 tensor (32 GiB as float32) is refused before anything is dequantized")
    func ggufPromise() throws {
        let scratch = ScratchDirectory("gguf-promise")
        defer { scratch.remove() }
        var file = GGUFBytes()
        file.header(tensors: 1, metadata: GGUFBytes.llamaMetadataCount)
        file.llamaMetadata()
        file.tensor("token_embd.weight", dimensions: [64, 1 << 27], type: .q4_1, offset: 0)
        file.pad()
        let path = scratch.path + "/big.gguf"
        try write(file.bytes, to: path)
        #expect(truncate(path, off_t(file.bytes.count + (1 << 33) / 32 * 20)) == 0)
        let message = "\(path) describes 32768 MB of float32 weights, more than the 4096 MB attn allows one model: use a smaller model"
        #expect(failure { _ = try Llama(path: path) } == message)
        let gguf = try GGUFFile(path: path)
        #expect(failure { _ = try gguf.floats("token_embd.weight") } == message)
    }

    @Test("GGUF metadata: every Llama number out of its range is named with the range",
          arguments: [("llama.block_count", 0.0, "llama.block_count is 0, outside 1…256"),
                      ("llama.embedding_length", 1_048_576, "llama.embedding_length is 1048576, outside 1…16384"),
                      ("llama.attention.head_count", 1000, "llama.attention.head_count is 1000, outside 1…256"),
                      ("llama.attention.head_count_kv", 0, "llama.attention.head_count_kv is 0, outside 1…256"),
                      ("llama.feed_forward_length", 1_073_741_824, "llama.feed_forward_length is 1073741824, outside 1…131072"),
                      ("llama.context_length", 2_097_152, "llama.context_length is 2097152, outside 1…1048576"),
                      ("llama.attention.layer_norm_rms_epsilon", 0, "llama.attention.layer_norm_rms_epsilon is 0.0, outside 0 < ε < 1"),
                      ("llama.attention.layer_norm_rms_epsilon", Double.nan, "llama.attention.layer_norm_rms_epsilon is nan, outside 0 < ε < 1"),
                      ("llama.rope.freq_base", Double.infinity, "llama.rope.freq_base is inf, outside 1 < θ ≤ 1e9"),
                      ("llama.rope.freq_base", 0.5, "llama.rope.freq_base is 0.5, outside 1 < θ ≤ 1e9"),
                      ("llama.attention.head_count", 3, "embedding length 64 does not split into 3 heads of even size")])
    func llamaRanges(key: String, value: Double, reason: String) throws {
        let scratch = ScratchDirectory("llama-range")
        defer { scratch.remove() }
        var file = GGUFBytes()
        file.header(tensors: 0, metadata: GGUFBytes.llamaMetadataCount)
        file.llamaMetadata([key: value])
        let path = scratch.path + "/m.gguf"
        try write(file.bytes, to: path)
        #expect(failure { _ = try LlamaConfiguration(gguf: GGUFFile(path: path)) }
                == "\(path) is not a usable model configuration: \(reason)")
    }

    @Test("GGUF metadata: every Gemma 3 number out of its range, or a shape attn cannot compute, is named",
          arguments: [("gemma3.block_count", 0.0, "gemma3.block_count is 0, outside 1…256"),
                      ("gemma3.attention.key_length", 4096, "gemma3.attention.key_length is 4096, outside 2…1024"),
                      ("gemma3.attention.key_length", 15, "gemma3.attention.key_length 15 and value_length 16 must be equal and even"),
                      ("gemma3.attention.head_count_kv", 3, "2 query heads do not divide into 3 key/value groups"),
                      ("gemma3.attention.sliding_window", 0, "gemma3.attention.sliding_window is 0, outside 1…1048576"),
                      ("gemma3.attention.layer_norm_rms_epsilon", Double.nan, "gemma3.attention.layer_norm_rms_epsilon is nan, outside 0 < ε < 1"),
                      ("gemma3.rope.freq_base", 0.5, "gemma3.rope.freq_base is 0.5, outside 1 < θ ≤ 1e9")])
    func gemmaRanges(key: String, value: Double, reason: String) throws {
        let scratch = ScratchDirectory("gemma-range")
        defer { scratch.remove() }
        var file = GGUFBytes()
        file.header(tensors: 0, metadata: GGUFBytes.gemmaMetadataCount)
        file.gemmaMetadata([key: value])
        let path = scratch.path + "/m.gguf"
        try write(file.bytes, to: path)
        #expect(failure { _ = try Gemma3Configuration(gguf: GGUFFile(path: path)) }
                == "\(path) is not a usable model configuration: \(reason)")
    }

    @Test("GGUF metadata: a Gemma 3 with RoPE scaling (the 4B and larger) or a Llama opened as Gemma 3 is refused in one line")
    func gemmaKinds() throws {
        let scratch = ScratchDirectory("gemma-kind")
        defer { scratch.remove() }
        var file = GGUFBytes()
        file.header(tensors: 0, metadata: GGUFBytes.gemmaMetadataCount + 1)
        file.gemmaMetadata(extra: ("gemma3.rope.scaling.type", "linear"))
        let path = scratch.path + "/m.gguf"
        try write(file.bytes, to: path)
        #expect(failure { _ = try Gemma3Configuration(gguf: GGUFFile(path: path)) }
                == "\(path) is not a usable model configuration: gemma3.rope.scaling.type is linear; attn reads Gemma 3 without RoPE scaling (270M, 1B)")
        var llama = GGUFBytes()
        llama.header(tensors: 0, metadata: GGUFBytes.llamaMetadataCount)
        llama.llamaMetadata()
        try write(llama.bytes, to: path)
        #expect(failure { _ = try Gemma3Configuration(gguf: GGUFFile(path: path)) }
                == "\(path) is not a usable model configuration: general.architecture is llama; attn reads gemma3 decoders")
    }

    @Test("GGUF metadata: a vocabulary of more than 2²⁰ tokens is refused, naming the count and the range")
    func llamaVocabulary() throws {
        let scratch = ScratchDirectory("llama-vocab")
        defer { scratch.remove() }
        var file = GGUFBytes()
        file.header(tensors: 0, metadata: GGUFBytes.llamaMetadataCount)
        file.llamaMetadata(tokens: (1 << 20) + 1)
        let path = scratch.path + "/m.gguf"
        try write(file.bytes, to: path)
        #expect(failure { _ = try LlamaConfiguration(gguf: GGUFFile(path: path)) }
                == "\(path) is not a usable model configuration: tokenizer.ggml.tokens is 1048577, outside 1…1048576")
    }
}
