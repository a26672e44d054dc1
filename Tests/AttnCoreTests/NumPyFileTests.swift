import Foundation
import Testing
import AttnCore

// The .npy reader and writer: round trips, the exact header NumPy writes, and refusing files attn
// cannot read. The fixture numpy-2x3.npy was written once by NumPy itself:
//     np.save("numpy-2x3.npy", np.arange(6, dtype='<f4').reshape(2, 3) / 4)
// so no Python runs at test time.

private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/numpy-2x3.npy").path

/// The header of an encoded file: its text (padding included) and where the data starts.
private func header(of data: Data) throws -> (text: String, dataStart: Int) {
    let bytes = [UInt8](data)
    try #require(bytes.count >= 10)
    let length = Int(bytes[8]) | Int(bytes[9]) << 8
    try #require(bytes.count >= 10 + length)
    return (String(decoding: bytes[10..<(10 + length)], as: UTF8.self), 10 + length)
}

/// `data` with its header text replaced by `edit(text)`, re-padded so that the length stays valid.
private func editingHeader(_ data: Data, _ edit: (String) -> String) throws -> Data {
    let (text, dataStart) = try header(of: data)
    var edited = edit(text.trimmingCharacters(in: .whitespacesAndNewlines))
    edited += String(repeating: " ", count: max(0, text.utf8.count - edited.utf8.count - 1)) + "\n"
    var out = Data(data.prefix(8))
    let length = UInt16(edited.utf8.count)
    out.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
    out.append(contentsOf: Array(edited.utf8))
    out.append(data.suffix(from: dataStart))
    return out
}

@Suite("NumPyFile: .npy round trips and headers")
struct NumPyFileTests {
    @Test("encode then decode gives back the shape and every bit", arguments: [[2, 3], [5], [1, 1, 4], [0], [3, 0]])
    func roundTrip(shape: [Int]) throws {
        let count = shape.reduce(1, *)
        let values = (0..<count).map { Float($0) * 0.37 - 1 }
        let (decodedShape, decoded) = try NumPyFile.decode(NumPyFile.encode(values: values, shape: shape))
        #expect(decodedShape == shape)
        #expect(decoded.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test("special values survive: −0, ±∞, NaN, subnormals")
    func specialValues() throws {
        let values: [Float] = [-0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        let (shape, decoded) = try NumPyFile.decode(NumPyFile.encode(values: values, shape: [6]))
        #expect(shape == [6])
        #expect(decoded.map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test("the header is padded so that the data starts on a multiple of 64",
          arguments: [[2, 3], [5], [1, 1, 4], [8, 8], [123_456_789, 0], [2, 1, 3, 1, 1, 2, 1, 1, 1, 1, 1, 1_000_000_007, 0]])
    func padding(shape: [Int]) throws {
        let count = shape.reduce(1, *)
        let data = NumPyFile.encode(values: [Float](repeating: 1, count: count), shape: shape)
        let (text, dataStart) = try header(of: data)
        #expect(data.prefix(8) == Data([0x93] + Array("NUMPY".utf8) + [1, 0]))
        #expect(dataStart % 64 == 0, "data starts at \(dataStart)")
        #expect(text.hasSuffix("\n"))
        #expect(text.dropLast().allSatisfy { $0 != "\n" })
        #expect(data.count == dataStart + 4 * count)
    }

    @Test("the header text for shape (8, 8) is NumPy's, character for character")
    func exactHeader() throws {
        let data = NumPyFile.encode(values: [Float](repeating: 0, count: 64), shape: [8, 8])
        let (text, dataStart) = try header(of: data)
        let expected = "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 8), }"
        #expect(text.hasPrefix(expected))
        let padding = text.dropFirst(expected.count)
        #expect(padding.last == "\n")
        #expect(padding.dropLast().allSatisfy { $0 == " " })
        #expect(dataStart == 128)
    }

    @Test("a 1-D shape is written as a Python 1-tuple")
    func oneDimensionalShape() throws {
        let (text, _) = try header(of: NumPyFile.encode(values: [1, 2, 3, 4, 5], shape: [5]))
        #expect(text.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"))
    }

    @Test("NumPy's own file: the decoder reads it and the encoder reproduces it byte for byte")
    func numpyFixture() throws {
        let original = try #require(FileManager.default.contents(atPath: fixture), "missing fixture \(fixture)")
        let (shape, values) = try NumPyFile.read(path: fixture)
        #expect(shape == [2, 3])
        #expect(values == [0, 0.25, 0.5, 0.75, 1, 1.25])
        #expect(NumPyFile.encode(values: values, shape: shape) == original)
    }

    @Test("NumPy's version 2.0 header (4-byte length) is read too")
    func version2() throws {
        let original = try #require(FileManager.default.contents(atPath: fixture))
        let (text, dataStart) = try header(of: original)
        // Version 2.0: the same header behind a 4-byte length; pad to keep 64-byte alignment.
        let padded = String(text.dropLast()) + String(repeating: " ", count: 62) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [2, 0])
        withUnsafeBytes(of: UInt32(padded.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: Array(padded.utf8))
        data.append(original.suffix(from: dataStart))
        let (shape, values) = try NumPyFile.decode(data)
        #expect(shape == [2, 3])
        #expect(values == [0, 0.25, 0.5, 0.75, 1, 1.25])
    }
}

@Suite("NumPyFile: refusing files attn cannot read")
struct NumPyFileErrorTests {
    private let good = NumPyFile.encode(values: [1, 2, 3, 4, 5, 6], shape: [2, 3])

    /// The reason of a `.npyInvalid` for `path`, or a recorded issue.
    private func npyReason(_ data: Data, path: String = "test.npy") -> String? {
        let error = #expect(throws: AttnError.self) { try NumPyFile.decode(data, path: path) }
        guard case let .npyInvalid(errorPath, reason) = error else {
            Issue.record("expected .npyInvalid, got \(String(describing: error))")
            return nil
        }
        #expect(errorPath == path)
        return reason
    }

    @Test("bad magic")
    func badMagic() {
        var data = good
        data[1] = UInt8(ascii: "n")
        #expect(npyReason(data)?.contains("magic") == true)
        #expect(npyReason(Data("PK\u{3}\u{4} a zip file, say".utf8)) != nil)
        #expect(npyReason(Data()) != nil)
        #expect(npyReason(good.prefix(9)) != nil)
    }

    @Test("big-endian float32 ('>f4')")
    func bigEndian() throws {
        let data = try editingHeader(good) { $0.replacingOccurrences(of: "'<f4'", with: "'>f4'") }
        #expect(npyReason(data)?.contains("<f4") == true)
    }

    @Test("other dtypes", arguments: ["'<f8'", "'<f2'", "'<i4'", "'|u1'"])
    func otherDTypes(descr: String) throws {
        let data = try editingHeader(good) { $0.replacingOccurrences(of: "'<f4'", with: descr) }
        #expect(npyReason(data) != nil)
    }

    @Test("Fortran order")
    func fortranOrder() throws {
        let data = try editingHeader(good) { $0.replacingOccurrences(of: "False", with: "True") }
        #expect(npyReason(data)?.contains("C order") == true)
    }

    @Test("truncated or overlong data", arguments: [1, 4, 24])
    func truncatedData(missing: Int) {
        #expect(npyReason(good.dropLast(missing)) != nil)
        var longer = good
        longer.append(contentsOf: [UInt8](repeating: 0, count: missing))
        #expect(npyReason(longer) != nil)
    }

    @Test("a header length beyond the file")
    func truncatedHeader() {
        #expect(npyReason(good.prefix(40))?.contains("truncated") == true)
    }

    @Test("an unsupported version")
    func version() {
        var data = good
        data[6] = 9
        #expect(npyReason(data)?.contains("version") == true)
    }

    @Test("a shape that is not a list of sizes", arguments: ["(-1, 6)", "(2, x)", "(2.5, 2)"])
    func badShape(shape: String) throws {
        let data = try editingHeader(good) { $0.replacingOccurrences(of: "(2, 3)", with: shape) }
        #expect(npyReason(data) != nil)
    }

    /// A corrupt header must be an error, not an arithmetic overflow that stops the program.
    @Test("a shape whose element count overflows Int", arguments: [
        "(4611686018427387904, 4)",             // 2⁶² × 4 = 2⁶⁴
        "(2305843009213693952,)",               // 2⁶¹ elements: 4 × 2⁶¹ bytes overflows
        "(4294967296, 4294967296, 4294967296)",
    ])
    func shapeOverflow(shape: String) throws {
        let data = try editingHeader(good) { $0.replacingOccurrences(of: "(2, 3)", with: shape) }
        #expect(npyReason(data) != nil)
    }

    @Test("read(path:) on a missing file")
    func missingFile() {
        let path = "/nonexistent-\(UUID().uuidString)/x.npy"
        #expect(throws: AttnError.fileUnreadable(path: path, reason: "no such file")) { try NumPyFile.read(path: path) }
    }
}
