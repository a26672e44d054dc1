import Foundation
import Testing
import AttnCore

// Tiny safetensors files and tiny BERT checkpoints that the tests write themselves, one edge case
// each: every bad file must be refused with the error that names its problem, and every good one
// must read back exactly the numbers that were written.

// MARK: - Writing test files

/// A directory of its own for one test; `remove()` it when done.
private struct Scratch {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("attn-safetensors-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes `data` to `name` in the directory and returns its path.
    func write(_ data: Data, _ name: String) throws -> String {
        let target = file(name)
        try data.write(to: URL(fileURLWithPath: target))
        return target
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A safetensors file as bytes: `N` (u64, little-endian), `N` bytes of header, then the data.
private func safetensorsFile(headerText: String, data: [UInt8] = []) -> Data {
    let header = Array(headerText.utf8)
    var out = Data()
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: header)
    out.append(contentsOf: data)
    return out
}

/// A safetensors file from a header dictionary (serialized as JSON) and the data section.
private func safetensorsFile(header: [String: Any], data: [UInt8] = []) throws -> Data {
    let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    return safetensorsFile(headerText: String(decoding: json, as: UTF8.self), data: data)
}

/// One tensor to write: its header fields and its raw little-endian bytes.
private struct Tensor {
    var name: String
    var dtype: String
    var shape: [Any]
    var bytes: [UInt8]

    init(_ name: String, _ dtype: String, _ shape: [Any], _ bytes: [UInt8]) {
        (self.name, self.dtype, self.shape, self.bytes) = (name, dtype, shape, bytes)
    }

    /// An F32 tensor.
    init(_ name: String, shape: [Int], values: [Float]) {
        self.init(name, "F32", shape, float32Bytes(values))
    }
}

/// A well-formed file holding `tensors` back to back, in the order given.
private func safetensorsFile(_ tensors: [Tensor], metadata: [String: String]? = nil) throws -> Data {
    var header: [String: Any] = [:]
    var data: [UInt8] = []
    for tensor in tensors {
        header[tensor.name] = [
            "dtype": tensor.dtype, "shape": tensor.shape,
            "data_offsets": [data.count, data.count + tensor.bytes.count],
        ] as [String: Any]
        data += tensor.bytes
    }
    if let metadata { header["__metadata__"] = metadata }
    return try safetensorsFile(header: header, data: data)
}

private func float32Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
}

private func float16Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: Float16($0).bitPattern.littleEndian, Array.init) }
}

/// bfloat16 is the top half of a float32; the values used here are exact in it.
private func bfloat16Bytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: UInt16($0.bitPattern >> 16).littleEndian, Array.init) }
}

private func int64Bytes(_ values: [Int64]) -> [UInt8] {
    values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
}

/// The tensor and reason of a `.safetensorsBadEntry`, `nil` for any other error.
private func badEntry(_ error: AttnError?) -> (path: String, tensor: String, reason: String)? {
    if case let .safetensorsBadEntry(path, tensor, reason) = error { (path, tensor, reason) } else { nil }
}

// MARK: - The safetensors reader

@Suite("safetensors: refusing bad files")
struct SafeTensorsErrorTests {
    @Test("a file shorter than the 8-byte header length is too small")
    func tooSmall() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(Data([1, 2, 3, 4, 5]), "short.safetensors")
        #expect(throws: AttnError.safetensorsTooSmall(path: path, size: 5)) { try SafeTensors(path: path) }
    }

    @Test("an empty file is too small")
    func empty() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(Data(), "empty.safetensors")
        #expect(throws: AttnError.safetensorsTooSmall(path: path, size: 0)) { try SafeTensors(path: path) }
    }

    @Test("a header length beyond the end of the file")
    func headerLongerThanFile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var bytes = Data()
        withUnsafeBytes(of: UInt64(100).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array("{\"a\": 1}".utf8))  // 8 of the 100 bytes claimed
        let path = try scratch.write(bytes, "cut.safetensors")
        #expect(throws: AttnError.safetensorsHeaderLength(path: path, length: 100, fileSize: 16)) {
            try SafeTensors(path: path)
        }
    }

    @Test("a header length one byte past the file is refused, the exact length is not")
    func headerLengthBoundary() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let header = Array("{}".utf8)
        var bytes = Data()
        withUnsafeBytes(of: UInt64(header.count + 1).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: header)
        let path = try scratch.write(bytes, "off-by-one.safetensors")
        #expect(throws: AttnError.safetensorsHeaderLength(path: path, length: 3, fileSize: 10)) {
            try SafeTensors(path: path)
        }

        let exact = try scratch.write(safetensorsFile(headerText: "{}"), "exact.safetensors")
        let file = try SafeTensors(path: exact)
        #expect(file.names.isEmpty)
        #expect(file.metadata.isEmpty)
    }

    @Test("a huge header length (UInt64.max) is refused without allocating it",
          arguments: [UInt64.max, UInt64(Int64.max), SafeTensors.maximumHeaderLength + 1])
    func hugeHeaderLength(length: UInt64) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        var bytes = Data()
        withUnsafeBytes(of: length.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array("{}".utf8))
        let path = try scratch.write(bytes, "huge.safetensors")
        #expect(throws: AttnError.safetensorsHeaderLength(path: path, length: length, fileSize: 10)) {
            try SafeTensors(path: path)
        }
    }

    @Test("a header that is not JSON", arguments: ["not json at all", "{\"a\": ", "\u{FEFF}\u{0}\u{1}garbage"])
    func garbageHeader(text: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(safetensorsFile(headerText: text), "garbage.safetensors")
        let error = #expect(throws: AttnError.self) { try SafeTensors(path: path) }
        guard case let .safetensorsHeaderNotJSON(errorPath, reason) = error else {
            Issue.record("expected .safetensorsHeaderNotJSON, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(!reason.isEmpty)
    }

    @Test("a JSON header whose top level is not an object", arguments: ["[1, 2, 3]", "\"F32\"", "42", "null"])
    func headerNotObject(text: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(safetensorsFile(headerText: text), "array.safetensors")
        let error = #expect(throws: AttnError.self) { try SafeTensors(path: path) }
        guard case let .safetensorsHeaderNotJSON(errorPath, _) = error else {
            Issue.record("expected .safetensorsHeaderNotJSON, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
    }

    @Test("a dtype attn cannot read is named", arguments: ["F8_E4M3", "U8", "F64", "I32", "BOOL", "f32"])
    func unsupportedDType(dtype: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // Four bytes of data, so that the entry is otherwise plausible for a 1- or 4-byte type.
        let data = try safetensorsFile([Tensor("t", dtype, [4], [0, 0, 0, 0])])
        let path = try scratch.write(data, "dtype.safetensors")
        #expect(throws: AttnError.safetensorsUnsupportedDType(path: path, tensor: "t", dtype: dtype)) {
            try SafeTensors(path: path)
        }
    }

    @Test("data_offsets outside the data section", arguments: [
        (begin: 0, end: 32),    // past the end of 16 bytes
        (begin: 16, end: 20),   // starts at the end
        (begin: 8, end: 4),     // backwards
        (begin: -4, end: 12),   // before the start
    ])
    func offsetsOutOfRange(begin: Int, end: Int) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let header: [String: Any] = ["t": ["dtype": "F32", "shape": [4], "data_offsets": [begin, end]]]
        let path = try scratch.write(safetensorsFile(header: header, data: [UInt8](repeating: 0, count: 16)),
                                     "range.safetensors")
        #expect(throws: AttnError.safetensorsOutOfRange(path: path, tensor: "t", begin: begin, end: end, dataSize: 16)) {
            try SafeTensors(path: path)
        }
    }

    @Test("offsets whose length is not shape × dtype size")
    func offsetsLengthMismatch() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // [2, 2] of F32 needs 16 bytes; the entry spans 8 (inside a 16-byte data section).
        let header: [String: Any] = ["t": ["dtype": "F32", "shape": [2, 2], "data_offsets": [0, 8]]]
        let path = try scratch.write(safetensorsFile(header: header, data: [UInt8](repeating: 0, count: 16)),
                                     "length.safetensors")
        let error = #expect(throws: AttnError.self) { try SafeTensors(path: path) }
        let entry = try #require(badEntry(error), "expected .safetensorsBadEntry, got \(String(describing: error))")
        #expect(entry.path == path)
        #expect(entry.tensor == "t")
        #expect(entry.reason.contains("8 bytes"))
        #expect(entry.reason.contains("16"))

        // Same shape in F16 needs 8 bytes: the same offsets are then right.
        let f16 = try scratch.write(
            safetensorsFile(header: ["t": ["dtype": "F16", "shape": [2, 2], "data_offsets": [0, 8]]],
                            data: [UInt8](repeating: 0, count: 16)),
            "f16.safetensors")
        #expect(try SafeTensors(path: f16).entries["t"]?.count == 4)
    }

    /// Each shape is paired with the offsets a lax reader would accept for it (a boolean read as 1,
    /// a fraction truncated), so that only checking the shape itself refuses the entry.
    @Test("a shape that is not a list of non-negative integers", arguments: [
        (shape: "[-1, 4]", bytes: 16),
        (shape: "[2.5, 2]", bytes: 16),
        (shape: "[2, true]", bytes: 8),
        (shape: "[true, 2]", bytes: 8),
        (shape: "[2, false]", bytes: 0),
        (shape: "[\"2\", 2]", bytes: 16),
        (shape: "[null]", bytes: 0),
        (shape: "[[2], 2]", bytes: 16),
        (shape: "[1e300]", bytes: 16),
        (shape: "4", bytes: 16),
    ])
    func badShape(shape: String, bytes: Int) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let text = "{\"t\": {\"dtype\": \"F32\", \"shape\": \(shape), \"data_offsets\": [0, \(bytes)]}}"
        let path = try scratch.write(safetensorsFile(headerText: text, data: [UInt8](repeating: 0, count: 16)),
                                     "shape.safetensors")
        let error = #expect(throws: AttnError.self) { try SafeTensors(path: path) }
        let entry = try #require(badEntry(error), "shape \(shape): expected .safetensorsBadEntry, got \(String(describing: error))")
        #expect(entry.tensor == "t")
        #expect(entry.path == path)
    }

    @Test("a shape whose element count overflows Int")
    func shapeOverflow() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let header: [String: Any] = ["t": ["dtype": "F32", "shape": [4_294_967_296, 4_294_967_296, 4], "data_offsets": [0, 0]]]
        let path = try scratch.write(safetensorsFile(header: header), "overflow.safetensors")
        let error = #expect(throws: AttnError.self) { try SafeTensors(path: path) }
        let entry = try #require(badEntry(error), "expected .safetensorsBadEntry, got \(String(describing: error))")
        #expect(entry.tensor == "t")
    }

    @Test("an entry that is not an object, or lacks dtype, shape or data_offsets", arguments: [
        "[1, 2]",
        "{\"shape\": [1], \"data_offsets\": [0, 4]}",
        "{\"dtype\": \"F32\", \"data_offsets\": [0, 4]}",
        "{\"dtype\": \"F32\", \"shape\": [1]}",
        "{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}",
        "{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}",
        "{\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4.5]}",
        "{\"dtype\": 1, \"shape\": [1], \"data_offsets\": [0, 4]}",
    ])
    func malformedEntry(entry: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(safetensorsFile(headerText: "{\"t\": \(entry)}", data: [0, 0, 0, 0, 0, 0, 0, 0]),
                                     "entry.safetensors")
        let error = #expect(throws: AttnError.self) { try SafeTensors(path: path) }
        let bad = try #require(badEntry(error), "entry \(entry): expected .safetensorsBadEntry, got \(String(describing: error))")
        #expect(bad.tensor == "t")
    }

    @Test("a directory is not a weight file")
    func directory() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        #expect(throws: AttnError.fileUnreadable(path: scratch.path, reason: "not a regular file")) {
            try SafeTensors(path: scratch.path)
        }
    }

    @Test("a missing file says so")
    func missingFile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.file("nowhere.safetensors")
        #expect(throws: AttnError.fileUnreadable(path: path, reason: String(cString: strerror(ENOENT)))) {
            try SafeTensors(path: path)
        }
    }

    /// `open(O_RDONLY)` on a FIFO waits for a writer; a weight reader must refuse it instead of
    /// hanging. The wait below only matters when that is broken: then the test fails after 10 s
    /// and unblocks the reader itself.
    @Test("a FIFO is refused at once instead of waiting for a writer")
    func fifo() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.file("pipe.safetensors")
        try #require(mkfifo(path, 0o600) == 0)

        final class Outcome: @unchecked Sendable {  // written by the thread before it signals
            var error: AttnError?
            var other: String?
        }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            do { _ = try SafeTensors(path: path) } catch let error as AttnError { outcome.error = error } catch {
                outcome.other = "\(error)"
            }
            done.signal()
        }
        if done.wait(timeout: .now() + 10) == .timedOut {
            // Give the blocked reader a writer so that its thread can finish.
            let writer = open(path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            done.wait()
            Issue.record("opening a FIFO blocked until a writer appeared")
        }
        #expect(outcome.error == .fileUnreadable(path: path, reason: "not a regular file"))
        #expect(outcome.other == nil)
    }
}

@Suite("safetensors: reading good files")
struct SafeTensorsReadingTests {
    @Test("F32 values read back exactly, as floats and as a matrix")
    func float32() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let values: [Float] = [1, -2, 0.5, .pi, -0.0, 1e-30]
        let path = try scratch.write(safetensorsFile([Tensor("w", shape: [2, 3], values: values)]), "f32.safetensors")
        let file = try SafeTensors(path: path)
        #expect(file.path == path)
        #expect(file.names == ["w"])
        let entry = try #require(file.entries["w"])
        #expect(entry.dtype == .f32)
        #expect(entry.shape == [2, 3])
        #expect(entry.count == 6)
        let floats = try file.floats("w")
        #expect(floats.map(\.bitPattern) == values.map(\.bitPattern))
        #expect(try file.matrix("w") == Matrix(rows: 2, columns: 3, values: values))
    }

    @Test("F16 values are widened to Float exactly")
    func float16() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let values: [Float] = [1, -2, 0.5, 65504, 0.000061035156, -0.333251953125]  // all exact in binary16
        let path = try scratch.write(safetensorsFile([Tensor("h", "F16", [6], float16Bytes(values))]), "f16.safetensors")
        let file = try SafeTensors(path: path)
        #expect(file.entries["h"]?.dtype == .f16)
        #expect(try file.floats("h") == values)
        #expect(try file.matrix("h") == Matrix(rows: 1, columns: 6, values: values))
    }

    @Test("BF16 values are the top half of a Float")
    func bfloat16() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let values: [Float] = [1.5, -2.5, 0.15625, 256, -Float.leastNormalMagnitude, 3.3895314e38]
        let bytes = bfloat16Bytes(values)
        let path = try scratch.write(safetensorsFile([Tensor("b", "BF16", [3, 2], bytes)]), "bf16.safetensors")
        let file = try SafeTensors(path: path)
        // What the file holds: each value with its low 16 bits cleared.
        let expected = values.map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }
        #expect(try file.floats("b") == expected)
        #expect(try file.matrix("b") == Matrix(rows: 3, columns: 2, values: expected))
        #expect(expected[0...3] == [1.5, -2.5, 0.15625, 256])
    }

    @Test("several tensors, each at its own offset, with __metadata__")
    func severalTensorsAndMetadata() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let a: [Float] = [1, 2, 3, 4]
        let b: [Float] = [-1, -2]
        let c: [Float] = [0.25, 0.5, 0.75]
        let data = try safetensorsFile(
            [Tensor("layer.a", shape: [2, 2], values: a), Tensor("b", "F16", [2], float16Bytes(b)),
             Tensor("c", shape: [3], values: c), Tensor("ids", "I64", [3], int64Bytes([0, 1, 511]))],
            metadata: ["format": "pt", "note": "written by a test"])
        let path = try scratch.write(data, "many.safetensors")
        let file = try SafeTensors(path: path)
        #expect(file.metadata == ["format": "pt", "note": "written by a test"])
        #expect(file.names == ["b", "c", "ids", "layer.a"])
        #expect(try file.floats("layer.a") == a)
        #expect(try file.floats("b") == b)
        #expect(try file.floats("c") == c)
        #expect(file.entries["ids"]?.dtype == .i64)
        #expect(throws: AttnError.tensorDType(name: "ids", expected: "F32", found: "I64")) { try file.floats("ids") }
        #expect(throws: AttnError.tensorMissing(name: "d", path: path)) { try file.floats("d") }
        #expect(throws: AttnError.tensorMissing(name: "d", path: path)) { try file.matrix("d") }
    }

    @Test("data that is not 4-byte aligned in the file still reads correctly")
    func unalignedData() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        // A header of odd length puts the data section at an odd file offset.
        let values: [Float] = [1.25, -7, 1024, 3e-5]
        var text = "{\"t\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [1, 17]}}"
        if (text.utf8.count + 8) % 2 == 0 { text += " " }
        let path = try scratch.write(safetensorsFile(headerText: text, data: [0xAB] + float32Bytes(values)), "odd.safetensors")
        let file = try SafeTensors(path: path)
        #expect(try file.floats("t") == values)
        let f16Path = try scratch.write(
            safetensorsFile(headerText: "{\"h\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [1, 5]}}",
                            data: [0xCD] + float16Bytes([0.5, -3])),
            "odd16.safetensors")
        #expect(try SafeTensors(path: f16Path).floats("h") == [0.5, -3])
    }

    @Test("0-size tensors are empty, in any dtype, even with no data section")
    func zeroSize() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = try safetensorsFile([
            Tensor("empty-rows", "F32", [0, 4], []), Tensor("empty", "F16", [0], []), Tensor("bf", "BF16", [3, 0], []),
        ])
        let path = try scratch.write(data, "zero.safetensors")
        let file = try SafeTensors(path: path)
        #expect(file.entries["empty-rows"]?.count == 0)
        #expect(try file.floats("empty-rows").isEmpty)
        #expect(try file.floats("empty").isEmpty)
        #expect(try file.floats("bf").isEmpty)
        let matrix = try file.matrix("empty-rows")
        #expect(matrix.rows == 0 && matrix.columns == 4)
        let columns = try file.matrix("bf")
        #expect(columns.rows == 3 && columns.columns == 0)

        // A 0-size tensor beside a real one, placed at the very end of the data section.
        let mixed = try scratch.write(
            safetensorsFile([Tensor("w", shape: [2], values: [5, 6]), Tensor("z", "F32", [0], [])]), "mixed.safetensors")
        let mixedFile = try SafeTensors(path: mixed)
        #expect(try mixedFile.floats("w") == [5, 6])
        #expect(try mixedFile.floats("z").isEmpty)
    }

    @Test("a scalar and a 3-D tensor read as floats but are not matrices")
    func notMatrices() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(
            safetensorsFile([Tensor("scalar", shape: [], values: [42]),
                             Tensor("cube", shape: [2, 1, 2], values: [1, 2, 3, 4])]),
            "dims.safetensors")
        let file = try SafeTensors(path: path)
        #expect(try file.floats("scalar") == [42])
        #expect(try file.floats("cube") == [1, 2, 3, 4])
        #expect(throws: AttnError.self) { try file.matrix("scalar") }
        let error = #expect(throws: AttnError.self) { try file.matrix("cube") }
        guard case let .tensorShape(name, _, found) = error else {
            Issue.record("expected .tensorShape, got \(String(describing: error))")
            return
        }
        #expect(name == "cube" && found == [2, 1, 2])
    }
}

// MARK: - A tiny synthetic BERT

/// hidden 4, 2 heads of 2, 1 layer, intermediate 8, vocabulary 10, 16 positions, 2 types.
private let tinyConfigurationJSON = """
    {
      "architectures": ["BertModel"],
      "model_type": "bert",
      "hidden_size": 4,
      "num_hidden_layers": 1,
      "num_attention_heads": 2,
      "intermediate_size": 8,
      "hidden_act": "gelu",
      "layer_norm_eps": 1e-12,
      "vocab_size": 10,
      "max_position_embeddings": 16,
      "type_vocab_size": 2,
      "position_embedding_type": "absolute"
    }
    """

private let tinyVocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "on", "mat", "."]

private func tinyConfiguration() throws -> BertConfiguration {
    try JSONDecoder().decode(BertConfiguration.self, from: Data(tinyConfigurationJSON.utf8))
}

/// Every tensor of the tiny checkpoint, by checkpoint name: its shape and deterministic values
/// (varied enough that the attention weights are not uniform).
private func tinyTensors(_ c: BertConfiguration) -> [String: (shape: [Int], values: [Float])] {
    var tensors: [String: (shape: [Int], values: [Float])] = [:]
    var seed: Float = 1
    for field in BertWeights.Field.allCases {
        let isPerLayer = BertWeights.checkpointName(field, layer: 0).hasPrefix("encoder.layer.0.")
        for layer in 0..<(isPerLayer ? c.hiddenLayers : 1) {
            let name = BertWeights.checkpointName(field, layer: layer)
            let shape = BertWeights.expectedShape(field, c)
            let count = shape.reduce(1, *)
            let isNormScale = name.hasSuffix("LayerNorm.weight")
            let values = (0..<count).map { i -> Float in
                let wave = sin(seed * 1.7 + Float(i) * 0.61) * 0.8
                return isNormScale ? 1 + wave / 4 : wave
            }
            seed += 1
            tensors[name] = (shape, values)
        }
    }
    return tensors
}

private func checkpointFile(_ tensors: [String: (shape: [Int], values: [Float])]) throws -> Data {
    try safetensorsFile(tensors.keys.sorted().map { Tensor($0, shape: tensors[$0]!.shape, values: tensors[$0]!.values) })
}

@Suite("BertWeights: a checkpoint must match the configuration exactly")
struct BertWeightsLoadingTests {
    @Test("the tiny checkpoint loads, each tensor into its field")
    func loads() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let c = try tinyConfiguration()
        let tensors = tinyTensors(c)
        #expect(tensors.count == 5 + 16 * c.hiddenLayers + 2)
        let path = try scratch.write(checkpointFile(tensors), "model.safetensors")
        let weights = try BertWeights(file: SafeTensors(path: path), configuration: c)

        func values(_ field: BertWeights.Field, layer: Int = 0) -> [Float] {
            tensors[BertWeights.checkpointName(field, layer: layer)]!.values
        }
        #expect(weights.wordEmbeddings.matrix() == Matrix(rows: 10, columns: 4, values: values(.wordEmbeddings)))
        #expect(weights.wordEmbeddings.lookUp([3, 0]) == Matrix(rows: 2, columns: 4,
                                                                 values: Array(values(.wordEmbeddings)[12..<16] + values(.wordEmbeddings)[0..<4])))
        #expect(weights.positionEmbeddings == Matrix(rows: 16, columns: 4, values: values(.positionEmbeddings)))
        #expect(weights.typeEmbeddings == Matrix(rows: 2, columns: 4, values: values(.typeEmbeddings)))
        #expect(weights.embeddingNorm.gamma == values(.embeddingNormWeight))
        #expect(weights.embeddingNorm.beta == values(.embeddingNormBias))
        #expect(weights.layers.count == 1)
        let layer = try #require(weights.layers.first)
        #expect(layer.query.weight.matrix() == Matrix(rows: 4, columns: 4, values: values(.queryWeight)))
        #expect(layer.key.bias == values(.keyBias))
        #expect(layer.value.weight.matrix().values == values(.valueWeight))
        #expect(layer.attentionOutput.bias == values(.attentionOutputBias))
        #expect(layer.attentionNorm.gamma == values(.attentionNormWeight))
        #expect(layer.intermediate.weight.matrix() == Matrix(rows: 8, columns: 4, values: values(.intermediateWeight)))
        #expect(layer.output.weight.matrix() == Matrix(rows: 4, columns: 8, values: values(.outputWeight)))
        #expect(layer.outputNorm.beta == values(.outputNormBias))
        #expect(weights.pooler?.weight.matrix().values == values(.poolerWeight))
    }

    @Test("the position_ids buffer (I64) is ignored on purpose")
    func positionIdsIgnored() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let c = try tinyConfiguration()
        let tensors = tinyTensors(c)
        var list = tensors.keys.sorted().map { Tensor($0, shape: tensors[$0]!.shape, values: tensors[$0]!.values) }
        list.append(Tensor("embeddings.position_ids", "I64", [1, 16], int64Bytes((0..<16).map(Int64.init))))
        let path = try scratch.write(safetensorsFile(list), "model.safetensors")
        #expect(throws: Never.self) { try BertWeights(file: SafeTensors(path: path), configuration: c) }
    }

    @Test("a missing tensor is named", arguments: [
        "embeddings.word_embeddings.weight", "encoder.layer.0.attention.self.query.weight",
        "encoder.layer.0.output.LayerNorm.bias", "pooler.dense.bias",
    ])
    func missingTensor(name: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let c = try tinyConfiguration()
        var tensors = tinyTensors(c)
        #expect(tensors.removeValue(forKey: name) != nil)
        let path = try scratch.write(checkpointFile(tensors), "model.safetensors")
        #expect(throws: AttnError.tensorMissing(name: name, path: path)) {
            try BertWeights(file: SafeTensors(path: path), configuration: c)
        }
    }

    @Test("an extra tensor is named", arguments: [
        "encoder.layer.1.attention.self.query.weight",  // a layer the configuration does not have
        "cls.predictions.bias",
    ])
    func unexpectedTensor(name: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let c = try tinyConfiguration()
        var tensors = tinyTensors(c)
        tensors[name] = ([4], [1, 2, 3, 4])
        let path = try scratch.write(checkpointFile(tensors), "model.safetensors")
        #expect(throws: AttnError.tensorUnexpected(name: name, path: path)) {
            try BertWeights(file: SafeTensors(path: path), configuration: c)
        }
    }

    @Test("a tensor of the wrong shape is named with both shapes", arguments: [
        (name: "encoder.layer.0.attention.self.query.weight", shape: [4, 3], expected: [4, 4]),
        (name: "encoder.layer.0.intermediate.dense.weight", shape: [4, 8], expected: [8, 4]),  // transposed
        (name: "embeddings.LayerNorm.weight", shape: [1, 4], expected: [4]),
        (name: "embeddings.word_embeddings.weight", shape: [11, 4], expected: [10, 4]),
    ])
    func wrongShape(name: String, shape: [Int], expected: [Int]) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let c = try tinyConfiguration()
        var tensors = tinyTensors(c)
        tensors[name] = (shape, [Float](repeating: 0.5, count: shape.reduce(1, *)))
        let path = try scratch.write(checkpointFile(tensors), "model.safetensors")
        #expect(throws: AttnError.tensorShape(name: name, expected: expected, found: shape)) {
            try BertWeights(file: SafeTensors(path: path), configuration: c)
        }
    }

    @Test("a weight stored as integers is refused")
    func integerWeight() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let c = try tinyConfiguration()
        let tensors = tinyTensors(c)
        let name = "encoder.layer.0.attention.self.key.bias"
        let list = tensors.keys.sorted().map { key in
            key == name ? Tensor(key, "I64", [4], int64Bytes([1, 2, 3, 4]))
                : Tensor(key, shape: tensors[key]!.shape, values: tensors[key]!.values)
        }
        let path = try scratch.write(safetensorsFile(list), "model.safetensors")
        #expect(throws: AttnError.tensorDType(name: name, expected: "F32", found: "I64")) {
            try BertWeights(file: SafeTensors(path: path), configuration: c)
        }
    }

    @Test("F16 and BF16 checkpoints load too, widened to Float")
    func halfPrecision() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let c = try tinyConfiguration()
        let tensors = tinyTensors(c)
        let list = tensors.keys.sorted().enumerated().map { index, key in
            let t = tensors[key]!
            return index % 2 == 0 ? Tensor(key, "F16", t.shape, float16Bytes(t.values))
                : Tensor(key, "BF16", t.shape, bfloat16Bytes(t.values))
        }
        let path = try scratch.write(safetensorsFile(list), "model.safetensors")
        let weights = try BertWeights(file: SafeTensors(path: path), configuration: c)
        let queryName = BertWeights.checkpointName(.queryWeight)
        let original = tensors[queryName]!.values
        let loaded = try #require(weights.layers.first).query.weight.matrix().values
        for (a, b) in zip(original, loaded) { #expect(abs(a - b) <= abs(a) / 128 + 1e-6) }
    }
}

// MARK: - config.json

@Suite("BertConfiguration.load: config.json problems are named")
struct BertConfigurationTests {
    /// The tiny configuration with `edit` applied to its JSON object.
    private func configuration(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var object = try #require(JSONSerialization.jsonObject(with: Data(tinyConfigurationJSON.utf8)) as? [String: Any])
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    /// The tiny configuration with `key` set to the JSON value `json` (test arguments must be
    /// `Sendable`, so values are passed as JSON text).
    private func configuration(_ key: String, json: String) throws -> Data {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
        return try configuration { $0[key] = value }
    }

    @Test("the tiny configuration loads, with Swift names for the JSON keys")
    func loads() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(Data(tinyConfigurationJSON.utf8), "config.json")
        let c = try BertConfiguration.load(path: path)
        #expect(c.modelType == "bert")
        #expect(c.hiddenSize == 4 && c.attentionHeads == 2 && c.headDimension == 2)
        #expect(c.hiddenLayers == 1 && c.intermediateSize == 8)
        #expect(c.vocabularySize == 10 && c.maximumPositions == 16 && c.typeVocabularySize == 2)
        #expect(c.layerNormEpsilon == 1e-12)
    }

    @Test("a missing key is named", arguments: ["hidden_size", "num_attention_heads", "layer_norm_eps", "model_type"])
    func missingKey(key: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(configuration { $0[key] = nil }, "config.json")
        #expect(throws: AttnError.configInvalid(path: path, reason: "it has no \(key)")) {
            try BertConfiguration.load(path: path)
        }
    }

    @Test("position_embedding_type may be absent")
    func optionalKey() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(configuration { $0["position_embedding_type"] = nil }, "config.json")
        #expect(try BertConfiguration.load(path: path).positionEmbeddingType == nil)
    }

    @Test("a value of the wrong type is named", arguments: [
        (key: "hidden_size", json: "\"four\""),
        (key: "num_hidden_layers", json: "[1]"),
        (key: "model_type", json: "7"),
    ])
    func wrongType(key: String, json: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(configuration(key, json: json), "config.json")
        #expect(throws: AttnError.configInvalid(path: path, reason: "\(key) has the wrong type")) {
            try BertConfiguration.load(path: path)
        }
    }

    /// The JSON is valid; the reason must not say otherwise, and should name the key.
    @Test("a null or fractional value is named, not called invalid JSON", arguments: [
        (key: "hidden_size", json: "null"),
        (key: "hidden_size", json: "4.5"),
    ])
    func nullOrFraction(key: String, json: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(configuration(key, json: json), "config.json")
        let error = #expect(throws: AttnError.self) { try BertConfiguration.load(path: path) }
        guard case let .configInvalid(errorPath, reason) = error else {
            Issue.record("expected .configInvalid, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(reason.contains(key), "reason: \(reason)")
        #expect(!reason.contains("not valid JSON"), "reason: \(reason)")
    }

    @Test("a file that is not JSON", arguments: ["hidden_size = 4", "{\"hidden_size\": 4,", ""])
    func notJSON(text: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(Data(text.utf8), "config.json")
        #expect(throws: AttnError.configInvalid(path: path, reason: "it is not valid JSON")) {
            try BertConfiguration.load(path: path)
        }
    }

    @Test("hidden_size must be a multiple of the number of heads")
    func headsDoNotDivide() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(configuration { $0["hidden_size"] = 5 }, "config.json")
        #expect(throws: AttnError.configInvalid(
            path: path, reason: "hidden_size 5 is not a multiple of num_attention_heads 2")) {
            try BertConfiguration.load(path: path)
        }
    }

    @Test("model_type must be bert")
    func notBert() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(configuration { $0["model_type"] = "gpt2" }, "config.json")
        #expect(throws: AttnError.configInvalid(path: path, reason: "model_type is gpt2, expected bert")) {
            try BertConfiguration.load(path: path)
        }
    }

    @Test("sizes that are zero or negative, and an activation attn does not compute", arguments: [
        (key: "num_attention_heads", json: "0"),
        (key: "hidden_size", json: "-4"),
        (key: "vocab_size", json: "0"),
        (key: "hidden_act", json: "\"swish\""),
        (key: "layer_norm_eps", json: "0"),
        (key: "position_embedding_type", json: "\"relative_key\""),
    ])
    func unusableValues(key: String, json: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = try scratch.write(configuration(key, json: json), "config.json")
        let error = #expect(throws: AttnError.self) { try BertConfiguration.load(path: path) }
        guard case let .configInvalid(errorPath, reason) = error else {
            Issue.record("expected .configInvalid, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(reason.contains(key), "reason: \(reason)")
    }

    @Test("a missing config.json is unreadable")
    func missingFile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.file("config.json")
        #expect(throws: AttnError.fileUnreadable(path: path, reason: "no such file")) {
            try BertConfiguration.load(path: path)
        }
    }
}

// MARK: - The whole model

@Suite("Bert: the tiny model loads from a directory and attends")
struct TinyBertTests {
    /// Writes config.json, model.safetensors and vocab.txt.
    private func writeModel(in scratch: Scratch, vocabulary: [String] = tinyVocabulary) throws
        -> [String: (shape: [Int], values: [Float])] {
        let tensors = tinyTensors(try tinyConfiguration())
        _ = try scratch.write(Data(tinyConfigurationJSON.utf8), "config.json")
        _ = try scratch.write(checkpointFile(tensors), "model.safetensors")
        _ = try scratch.write(Data((vocabulary.joined(separator: "\n") + "\n").utf8), "vocab.txt")
        return tensors
    }

    @Test("Bert(directory:) loads the three files")
    func loads() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        _ = try writeModel(in: scratch)
        let bert = try Bert(directory: scratch.path)
        #expect(bert.directory == scratch.path)
        #expect(try bert.configuration == tinyConfiguration())
        #expect(bert.tokenizer.vocabulary == tinyVocabulary)
        #expect(try bert.tokenizer.encode("The cat sat.") == [2, 4, 5, 6, 9, 3])
    }

    @Test("a vocabulary of the wrong size is refused")
    func vocabularySize() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        _ = try writeModel(in: scratch, vocabulary: tinyVocabulary + ["dog"])
        let error = #expect(throws: AttnError.self) { try Bert(directory: scratch.path) }
        guard case let .vocabularyInvalid(path, _) = error else {
            Issue.record("expected .vocabularyInvalid, got \(String(describing: error))")
            return
        }
        #expect(path == scratch.file("vocab.txt"))
    }

    @Test("a directory without the weights names the missing file")
    func missingWeights() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        _ = try writeModel(in: scratch)
        try FileManager.default.removeItem(atPath: scratch.file("model.safetensors"))
        let error = #expect(throws: AttnError.self) { try Bert(directory: scratch.path) }
        guard case let .fileUnreadable(path, _) = error else {
            Issue.record("expected .fileUnreadable, got \(String(describing: error))")
            return
        }
        #expect(path == scratch.file("model.safetensors"))
    }

    @Test("trace(ids:): each weights row sums to 1 and z = weights · v, checked with plain loops")
    func attentionSteps() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let tensors = try writeModel(in: scratch)
        let bert = try Bert(directory: scratch.path)
        let ids = [2, 4, 5, 6, 7, 4, 8, 9, 3]  // [CLS] the cat sat on the mat . [SEP]
        let trace = bert.trace(ids: ids)
        let t = ids.count, d = 4, dh = 2

        #expect(trace.tokenIds == ids)
        #expect(trace.tokens == ids.map { tinyVocabulary[$0] })
        #expect(trace.layers.count == 1)
        let layer = try #require(trace.layers.first)
        #expect(layer.heads.count == 2)
        #expect(layer.x == trace.embeddings)

        let x = layer.x
        func weight(_ field: BertWeights.Field) -> [Float] { tensors[BertWeights.checkpointName(field)]!.values }

        // embeddings = LN(word[id] + position[i] + type[0]), from the raw tensors, in Double.
        let expectedEmbeddings = ids.enumerated().map { i, id -> [Float] in
            let sum = (0..<d).map { j in
                Double(weight(.wordEmbeddings)[id * d + j]) + Double(weight(.positionEmbeddings)[i * d + j])
                    + Double(weight(.typeEmbeddings)[j])
            }
            let mean = sum.reduce(0, +) / Double(d)
            let variance = sum.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
            return (0..<d).map { j in
                Float((sum[j] - mean) / (variance + 1e-12).squareRoot() * Double(weight(.embeddingNormWeight)[j])
                    + Double(weight(.embeddingNormBias)[j]))
            }
        }
        #expect(isClose(trace.embeddings, expectedEmbeddings, tolerance: 1e-4))

        for (h, head) in layer.heads.enumerated() {
            // q, k, v: this head's columns of x · Wᵀ + b, with W stored (out × in).
            func project(_ w: [Float], _ b: [Float]) -> [[Float]] {
                (0..<t).map { i in
                    (0..<dh).map { c in
                        let out = h * dh + c
                        var sum = b[out]
                        for k in 0..<d { sum += x[i, k] * w[out * d + k] }
                        return sum
                    }
                }
            }
            let q = project(weight(.queryWeight), weight(.queryBias))
            let k = project(weight(.keyWeight), weight(.keyBias))
            let v = project(weight(.valueWeight), weight(.valueBias))
            #expect(head.q.rows == t && head.q.columns == dh)
            #expect(isClose(head.q, q), "head \(h): q")
            #expect(isClose(head.k, k), "head \(h): k")
            #expect(isClose(head.v, v), "head \(h): v")

            // scores = q · kᵀ, scaled by 1/√dₕ; nothing is masked in one unpadded sentence.
            let scores = (0..<t).map { i in (0..<t).map { j in (0..<dh).reduce(Float(0)) { $0 + q[i][$1] * k[j][$1] } } }
            #expect(isClose(head.scores, scores), "head \(h): scores")
            let scaled = scores.map { $0.map { $0 / Float(dh).squareRoot() } }
            #expect(isClose(head.scaled, scaled), "head \(h): scaled")
            #expect(head.masked == head.scaled)

            // weights: a softmax over each row, computed in Double.
            let weights = scaled.map { row -> [Float] in
                let m = Double(row.max()!)
                let e = row.map { exp(Double($0) - m) }
                let s = e.reduce(0, +)
                return e.map { Float($0 / s) }
            }
            #expect(isClose(head.weights, weights), "head \(h): weights")
            for i in 0..<t {
                let row = head.weights.row(i)
                #expect(abs(row.reduce(0, +) - 1) < 1e-5, "head \(h) row \(i) sums to \(row.reduce(0, +))")
                #expect(row.allSatisfy { $0 > 0 && $0 < 1 })
            }

            // z = weights · v, from the library's own weights and v.
            var z = [[Float]](repeating: [Float](repeating: 0, count: dh), count: t)
            let headWeights = head.weights
            for i in 0..<t {
                for c in 0..<dh {
                    for j in 0..<t { z[i][c] += headWeights[i, j] * head.v[j, c] }
                }
            }
            #expect(isClose(head.z, z), "head \(h): z")
        }

        // The heads side by side, then the rest of the block has the right shapes.
        for i in 0..<t {
            #expect(layer.concat.row(i) == layer.heads[0].z.row(i) + layer.heads[1].z.row(i))
        }
        #expect(layer.out.rows == t && layer.out.columns == d)
        #expect(layer.feedForwardHidden?.columns == 8)
        #expect(layer.out.values.allSatisfy { $0.isFinite })
    }

    @Test("trace(_:) tokenizes, then runs the same forward pass")
    func traceText() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        _ = try writeModel(in: scratch)
        let bert = try Bert(directory: scratch.path)
        let fromText = try bert.trace("the cat sat on the mat.")
        let fromIds = bert.trace(ids: [2, 4, 5, 6, 7, 4, 8, 9, 3])
        #expect(fromText.tokenIds == fromIds.tokenIds)
        #expect(fromText.layers.first?.out == fromIds.layers.first?.out)
        // 16 positions: [CLS] + 15 words + [SEP] is one too many.
        #expect(throws: AttnError.sequenceTooLong(tokens: 17, limit: 16, context: 16)) {
            try bert.trace(Array(repeating: "the", count: 15).joined(separator: " "))
        }
    }
}

/// Whether `matrix` equals the nested rows within a tolerance for Float rounding.
private func isClose(_ matrix: Matrix, _ rows: [[Float]], tolerance: Float = 1e-5) -> Bool {
    guard matrix.rows == rows.count, rows.allSatisfy({ $0.count == matrix.columns }) else { return false }
    for i in 0..<matrix.rows {
        for j in 0..<matrix.columns where !(abs(matrix[i, j] - rows[i][j]) <= tolerance * max(1, abs(rows[i][j]))) {
            return false
        }
    }
    return true
}
