import Foundation

/// A reader for the safetensors format, as Hugging Face writes it.
///
/// ```
/// ┌──────────────┬──────────────────────────┬──────────────────────────────┐
/// │ N: u64 (LE)  │ header: N bytes of JSON  │ data: tensors, back to back  │
/// └──────────────┴──────────────────────────┴──────────────────────────────┘
/// header = { "__metadata__": {…}, "<name>": { "dtype": "F32", "shape": [r, c],
///                                             "data_offsets": [begin, end] }, … }
/// ```
/// Offsets are relative to the start of the data section. The file is memory-mapped and every
/// entry is validated when the file is opened, so that reading a tensor later cannot fail or
/// read outside the file.
public struct SafeTensors: Sendable {
    /// The element types attn can read.
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f32: 4
            case .f16, .bf16: 2
            case .i64: 8
            }
        }
    }

    /// One tensor's header entry.
    public struct Entry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Absolute byte range in the file.
        public let byteRange: Range<Int>
        /// The number of elements, the product of the shape.
        public var count: Int { shape.reduce(1, *) }
    }

    /// Where the file came from (for error messages).
    public var path: String { file.path }
    /// Free-form `__metadata__` strings.
    public let metadata: [String: String]
    /// Every tensor, by name.
    public let entries: [String: Entry]
    private let file: MappedFile

    /// The largest header attn accepts. Real headers are tens of kilobytes; a bigger length is a
    /// corrupt file, and refusing it avoids a huge allocation.
    public static let maximumHeaderLength: UInt64 = 100 << 20

    /// Opens and validates a safetensors file.
    /// - Throws: `AttnError` naming the first problem: file too small, header length beyond the
    ///   file, header not JSON, an entry with a bad dtype, shape or offsets.
    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.file = file
        guard file.size >= 8 else { throw AttnError.safetensorsTooSmall(path: path, size: file.size) }

        // The header length, then the header itself.
        let headerLength = file.load(UInt64.self, at: 0)
        guard headerLength <= Self.maximumHeaderLength, headerLength <= UInt64(file.size - 8) else {
            throw AttnError.safetensorsHeaderLength(path: path, length: headerLength, fileSize: file.size)
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = file.size - dataStart
        let headerBytes = Data(file.bytes(8..<dataStart))
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw AttnError.safetensorsHeaderNotJSON(path: path, reason: Self.jsonReason(error))
        }
        guard let header = json as? [String: Any] else {
            throw AttnError.safetensorsHeaderNotJSON(path: path, reason: "the top level is not an object")
        }

        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (key, item) in value as? [String: Any] ?? [:] { metadata[key] = "\(item)" }
                continue
            }
            entries[name] = try Self.entry(name: name, value: value, path: path,
                                           dataStart: dataStart, dataSize: dataSize)
        }
        self.metadata = metadata
        self.entries = entries
    }

    /// Validates one header entry: dtype known, shape non-negative, offsets inside the data
    /// section and exactly as long as the shape requires.
    private static func entry(name: String, value: Any, path: String,
                              dataStart: Int, dataSize: Int) throws -> Entry {
        func bad(_ reason: String) -> AttnError { .safetensorsBadEntry(path: path, tensor: name, reason: reason) }
        guard let object = value as? [String: Any] else { throw bad("is not a JSON object") }
        guard let dtypeName = object["dtype"] as? String else { throw bad("has no dtype") }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw AttnError.safetensorsUnsupportedDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = object["shape"] as? [Any] else { throw bad("has no shape") }
        var shape: [Int] = []
        var count = 1
        for dimension in shapeValues {
            guard let n = integer(dimension), n >= 0 else { throw bad("has a shape that is not a list of sizes") }
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw bad("has a shape too large to exist") }
            shape.append(n)
            count = product
        }
        guard let offsets = object["data_offsets"] as? [Any], offsets.count == 2,
              let begin = integer(offsets[0]), let end = integer(offsets[1]) else {
            throw bad("has no data_offsets pair")
        }
        guard begin >= 0, begin <= end, end <= dataSize else {
            throw AttnError.safetensorsOutOfRange(path: path, tensor: name, begin: begin, end: end, dataSize: dataSize)
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, bytes == end - begin else {
            throw bad("has \(end - begin) bytes of data but shape \(AttnError.shape(shape)) of \(dtype.rawValue) needs \(overflow ? "more" : String(bytes))")
        }
        return Entry(name: name, dtype: dtype, shape: shape, byteRange: (dataStart + begin)..<(dataStart + end))
    }

    /// An integer from JSON (an `NSNumber`), refusing fractions and booleans.
    /// (`as? Bool` cannot tell them apart: NSNumber 1 bridges to `true`; its type code can.)
    private static func integer(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        let type = String(cString: number.objCType)
        if type == "c" || type == "B" { return nil }
        let d = number.doubleValue
        guard d == d.rounded(), abs(d) < 9e15 else { return nil }
        return Int(d)
    }

    private static func jsonReason(_ error: Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        return text ?? "unparseable"
    }

    /// The tensor names, sorted.
    public var names: [String] { entries.keys.sorted() }

    /// A floating-point tensor's elements as `Float`, converting F16 and BF16.
    /// - Throws: `.tensorMissing` if absent, `.tensorDType` if it holds integers.
    public func floats(_ name: String) throws -> [Float] {
        guard let entry = entries[name] else { throw AttnError.tensorMissing(name: name, path: path) }
        let raw = file.bytes(entry.byteRange)
        switch entry.dtype {
        case .f32:
            // Copied straight from the mapping into uninitialized storage (no zero-fill first).
            var out = [Float](unsafeUninitializedCapacity: entry.count) { buffer, count in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
                count = entry.count
            }
            #if _endian(big)
            out = out.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
            #endif
            return out
        case .f16:
            return (0..<entry.count).map {
                Dequantization.half(bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)))
            }
        case .bf16:
            // bfloat16 is the top half of a float32.
            return (0..<entry.count).map {
                Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) << 16)
            }
        case .i64:
            throw AttnError.tensorDType(name: name, expected: "F32", found: entry.dtype.rawValue)
        }
    }

    /// An F32 tensor's elements where they lie in the mapping, handed to `body` without a copy;
    /// `nil` when they cannot be read in place (another dtype, a start that is not 4-byte aligned,
    /// or a big-endian machine). The buffer is valid only inside `body`.
    public func withMappedFloats<R>(_ entry: Entry, _ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R? {
        #if _endian(big)
        return nil
        #else
        guard entry.dtype == .f32 else { return nil }
        let raw = file.bytes(entry.byteRange)
        guard let base = raw.baseAddress else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
        guard Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return try body(UnsafeBufferPointer(start: base.bindMemory(to: Float.self, capacity: entry.count), count: entry.count))
        #endif
    }

    /// A tensor as a matrix: 2-D tensors keep their shape, 1-D become one row.
    /// - Throws: as `floats(_:)`, and `.tensorShape` when the tensor is not 1-D or 2-D.
    public func matrix(_ name: String) throws -> Matrix {
        guard let entry = entries[name] else { throw AttnError.tensorMissing(name: name, path: path) }
        let values = try floats(name)
        switch entry.shape.count {
        case 1: return Matrix(rows: 1, columns: entry.shape[0], values: values)
        case 2: return Matrix(rows: entry.shape[0], columns: entry.shape[1], values: values)
        default: throw AttnError.tensorShape(name: name, expected: [-1, -1], found: entry.shape)
        }
    }
}
