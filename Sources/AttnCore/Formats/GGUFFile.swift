import Foundation

/// A reader for GGUF, the single-file format of llama.cpp: metadata and tensors, little-endian.
///
/// ```
/// ┌──────────────────────────────────────────────────────────────────────────────────┐
/// │ "GGUF" │ version: u32 │ tensor count: u64 │ metadata count: u64   (24 bytes)     │
/// │ metadata:     (key: string, value type: u32, value)          × metadata count   │
/// │ tensor infos: (name: string, n_dims: u32, ne: u64 × n_dims,                      │
/// │                type: u32, offset: u64)                       × tensor count     │
/// │ zero padding up to a multiple of general.alignment (32 unless the metadata says) │
/// ├──────────────────────────────────────────────────────────────────────────────────┤
/// │ data: tensor t at data start + offset(t); every offset a multiple of alignment   │
/// └──────────────────────────────────────────────────────────────────────────────────┘
/// string = length: u64, then that many bytes of UTF-8
/// array  = element type: u32, count: u64, then count values (arrays of arrays allowed)
/// ```
/// Like ``SafeTensors``, the file is memory-mapped and everything is validated when it is opened,
/// against the size of the file and before anything is allocated for it, so that a corrupt file
/// gives an error that names its problem and reading a tensor later cannot read outside the file.
public struct GGUFFile: Sendable {
    /// The GGUF version, 2 or 3 (they lay files out alike; 3 allowed big-endian files).
    public let version: Int
    /// Every metadata key and its value.
    public let metadata: [String: GGUFValue]
    /// Every tensor, by name.
    public let tensors: [String: GGUFTensorInfo]
    /// The tensor names in the order the file lists them.
    public let tensorNames: [String]
    /// Where the file came from (for error messages).
    public var path: String { file.path }
    /// `general.alignment`, or 32: the data section and every tensor offset are multiples of it.
    public let alignment: Int
    /// The absolute offset of the data section.
    public let dataOffset: Int
    private let file: MappedFile
    /// The file's mapping, for tensors read in place (``Q8Matrix``).
    var mapping: MappedFile { file }

    /// Arrays nested deeper than this are refused: real files nest none, and a file of nothing
    /// but array headers could otherwise recurse deep enough to overflow the stack.
    public static let maximumArrayDepth = 8
    /// The most metadata values (array elements included) one file may hold. Real files hold a
    /// few hundred thousand (a vocabulary, its scores, its merges); each value costs about 24
    /// bytes in memory, so this bounds what a hostile file can make attn allocate.
    public static let maximumMetadataValues = 1 << 24
    /// The most dimensions a tensor may have (ggml's `GGML_MAX_DIMS`).
    public static let maximumDimensions = 4

    /// Opens and validates a GGUF file.
    ///
    /// - Throws: `AttnError.fileUnreadable` when the file cannot be opened;
    ///   `.ggufInvalid` naming the first problem (empty or truncated file, wrong magic, a version
    ///   other than 2 or 3, a string, array or count larger than the file, an unknown value type,
    ///   arrays nested too deep, a duplicate key or tensor, more than 4 dimensions, a tensor whose
    ///   bytes are misaligned or run past the end of the file);
    ///   `.ggufUnsupportedType` for a tensor type id that ggml does not define.
    ///   A tensor of a known type that attn cannot dequantize (say Q5_K) opens fine, so its
    ///   metadata can be read; `floats(_:)` throws for it.
    public init(path: String) throws {
        let file = try MappedFile(path: path)
        self.file = file
        var reader = Reader(bytes: file.bytes(0..<file.size), path: path)
        version = try reader.version()
        let counts = try reader.counts()
        metadata = try reader.metadata(count: counts.metadata)
        alignment = try reader.alignment(in: metadata)
        let listed = try reader.tensorListing(count: counts.tensors)
        dataOffset = try reader.dataOffset(alignment: alignment)
        tensors = try reader.placed(listed, dataOffset: dataOffset, alignment: alignment)
        tensorNames = listed.map(\.name)
    }

    /// A tensor's elements as `Float`, in file order (`ne0` fastest), dequantized exactly as ggml does.
    ///
    /// ```
    /// F32:  x = the stored float            F16, BF16:  x = Float(half)
    /// Q8_0: x = d · q                       Q4_1: x = d · q + m      (per block of 32)
    /// Q4_K: x = (d · scale) · q − dmin · min                         (per group of 32 in 256)
    /// ```
    /// `Dequantization` draws every type's block.
    /// - Throws: `.tensorMissing` if the file has no such tensor, `.ggufUnsupportedType` if it is
    ///   stored in a type attn cannot read, `.tensorNotFinite` for a NaN or ±∞ among the values
    ///   when `requiringFinite` (a model's weights; the format itself allows them).
    public func floats(_ name: String, requiringFinite: Bool = false) throws -> [Float] {
        guard let info = tensors[name] else { throw AttnError.tensorMissing(name: name, path: path) }
        guard info.type.isReadable else {
            throw AttnError.ggufUnsupportedType(path: path, tensor: name, type: info.type.name)
        }
        try ModelBudget.check([info.dimensions], path: path)
        let source = file.bytes(info.byteRange)
        let values = [Float](unsafeUninitializedCapacity: info.count) { buffer, initialized in
            Dequantization.run(info.type, source: source, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<info.count]))
            initialized = info.count
        }
        // A scale of inf or nan in a block (or such an F32 or F16 element) makes a weight that is not a number.
        if requiringFinite {
            try values.withUnsafeBufferPointer {
                try FiniteCheck.require($0, shape: info.dimensions.reversed(), tensor: name, path: path)
            }
        }
        return values
    }

    /// A tensor as a matrix with `rows = ne1` and `columns = ne0`, so that a PyTorch-layout weight
    /// `[out × in]` (stored `ne0 = in`, `ne1 = out`) comes back as `out × in`; 1-D tensors are one row.
    /// - Throws: as `floats(_:)`, and `.tensorShape` for a tensor with more than two dimensions
    ///   larger than 1.
    public func matrix(_ name: String, requiringFinite: Bool = false) throws -> Matrix {
        guard let info = tensors[name] else { throw AttnError.tensorMissing(name: name, path: path) }
        let dimensions = info.dimensions
        guard dimensions.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw AttnError.tensorShape(name: name, expected: [-1, -1], found: dimensions)
        }
        let columns = dimensions.first ?? 1
        let rows = dimensions.count > 1 ? dimensions[1] : 1
        return Matrix(rows: rows, columns: columns, values: try floats(name, requiringFinite: requiringFinite))
    }
}

/// A tensor as its info lists it, before its offset is checked against the data section.
private struct ListedTensor {
    let name: String
    let dimensions: [Int]
    let type: GGMLType
    /// From the start of the data section.
    let offset: UInt64
}

/// Reads little-endian fields from the front of the file, checking every read against its end.
private struct Reader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var offset = 0
    /// Values read so far, array elements included, against `GGUFFile.maximumMetadataValues`.
    var values = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - offset }

    func invalid(_ reason: String) -> AttnError { .ggufInvalid(path: path, reason: reason) }

    /// The empty, short and foreign files, then the magic; leaves the reader after the magic.
    mutating func header() throws {
        guard bytes.count > 0 else { throw invalid("the file is empty") }
        let magic: [UInt8] = Array("GGUF".utf8)
        let start = Array(bytes.prefix(4))
        guard start == Array(magic.prefix(start.count)) else {
            let shown = start.map { String(format: "%02X", $0) }.joined(separator: " ")
            throw invalid("it starts with the bytes \(shown), not \"GGUF\"; it is not a GGUF file")
        }
        guard bytes.count >= 24 else {
            throw invalid("its header is truncated: the file has \(bytes.count) bytes, fewer than the 24 of a GGUF header")
        }
        offset = magic.count
    }

    // MARK: The file's parts, in order

    /// The header up to the version, which must be 2 or 3.
    mutating func version() throws -> Int {
        try header()
        let number = try u32("the version")
        switch number {
        case 2, 3: return Int(number)
        case 1:
            throw invalid("it is GGUF version 1, the format's first release with 32-bit counts, which attn does not read (it reads versions 2 and 3); convert the model again with a current llama.cpp")
        case 0x0200_0000, 0x0300_0000:
            throw invalid("it is a big-endian GGUF file, which attn does not read; use the little-endian file")
        default:
            throw invalid("it is GGUF version \(number), which attn does not know (it reads versions 2 and 3)")
        }
    }

    /// The tensor and metadata counts, each no more than the bytes after them can describe.
    mutating func counts() throws -> (tensors: UInt64, metadata: UInt64) {
        // The counts come before what they count, so check them against the bytes that follow
        // before trusting them with anything: each key-value pair needs at least 13 bytes
        // (key length 8, type 4, a 1-byte value), each tensor info at least 24.
        let tensorCount = try u64("the tensor count")
        let metadataCount = try u64("the metadata count")
        guard metadataCount <= UInt64(remaining / 13) else {
            throw invalid("its header claims \(metadataCount) metadata entries, more than its \(bytes.count) bytes can hold")
        }
        guard tensorCount <= UInt64(remaining / 24) else {
            throw invalid("its header claims \(tensorCount) tensors, more than its \(bytes.count) bytes can hold")
        }
        return (tensorCount, metadataCount)
    }

    /// `count` key-value pairs, no key twice.
    mutating func metadata(count: UInt64) throws -> [String: GGUFValue] {
        var metadata: [String: GGUFValue] = [:]
        metadata.reserveCapacity(min(Int(count), 1024))
        for index in 0..<Int(count) {
            let key = try string("the key of metadata entry \(index)")
            let type = try u32("the value type of metadata key \(key)")
            guard metadata.updateValue(try value(type: type, key: key, depth: 0), forKey: key) == nil else {
                throw invalid("metadata key \(key) appears twice")
            }
        }
        return metadata
    }

    /// `general.alignment`, a power of two up to 2³⁰, or 32 when the metadata does not say.
    func alignment(in metadata: [String: GGUFValue]) throws -> Int {
        guard let value = metadata["general.alignment"] else { return 32 }
        guard let a = value.int, a > 0, a & (a - 1) == 0, a <= 1 << 30 else {
            let shown = value.int.map(String.init) ?? "\(value)"
            throw invalid("general.alignment is \(shown), not a power of two between 1 and 2³⁰")
        }
        return a
    }

    /// `count` tensor infos: names, shapes, types and offsets, checked for size here and for
    /// position by `placed` once the data section is known.
    mutating func tensorListing(count: UInt64) throws -> [ListedTensor] {
        guard count <= UInt64(remaining / 24) else {
            throw invalid("its header claims \(count) tensors, more than the \(remaining) bytes after the metadata can describe")
        }
        var listed: [ListedTensor] = []
        listed.reserveCapacity(min(Int(count), 1 << 16))
        var seen = Set<String>()
        for index in 0..<Int(count) {
            let name = try string("the name of tensor \(index)")
            guard seen.insert(name).inserted else { throw invalid("tensor \(name) appears twice") }
            let sizes = try dimensions(of: name)
            let typeID = try u32("the type of tensor \(name)")
            guard let type = GGMLType(rawValue: typeID) else {
                throw AttnError.ggufUnsupportedType(path: path, tensor: name, type: "type id \(typeID)")
            }
            let offset = try u64("the offset of tensor \(name)")
            listed.append(ListedTensor(name: name, dimensions: sizes, type: type, offset: offset))
        }
        return listed
    }

    /// A tensor's dimension count and sizes: at most four, their product an `Int`.
    mutating func dimensions(of name: String) throws -> [Int] {
        let dimensionCount = try u32("the dimension count of tensor \(name)")
        guard dimensionCount <= GGUFFile.maximumDimensions else {
            throw invalid("tensor \(name) has \(dimensionCount) dimensions; GGUF allows at most \(GGUFFile.maximumDimensions)")
        }
        var dimensions: [Int] = []
        var elements = 1
        for axis in 0..<Int(dimensionCount) {
            let size = try u64("dimension \(axis) of tensor \(name)")
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(clamping: size))
            guard size <= UInt64(Int.max), !overflow else {
                let shown = (dimensions.map(String.init) + [String(size)]).joined(separator: " × ")
                throw invalid("tensor \(name) has dimensions \(shown), too many elements to exist")
            }
            dimensions.append(Int(size))
            elements = product
        }
        return dimensions
    }

    /// Where the data section starts: the next multiple of the alignment after the tensor infos.
    func dataOffset(alignment: Int) throws -> Int {
        let (padded, overflow) = offset.addingReportingOverflow(alignment - 1)
        guard !overflow else { throw invalid("its data section would start past any possible file size") }
        return padded / alignment * alignment
    }

    /// Each listed tensor's bytes in the file: whole blocks, aligned, inside the data section, and
    /// not overlapping the others in total.
    func placed(_ listed: [ListedTensor], dataOffset: Int, alignment: Int) throws -> [String: GGUFTensorInfo] {
        let dataSize = max(0, bytes.count - dataOffset)
        var tensors: [String: GGUFTensorInfo] = [:]
        tensors.reserveCapacity(listed.count)
        var totalBytes = 0
        for info in listed {
            let rowLength = info.dimensions.first ?? 1
            let elements = info.dimensions.reduce(1, *)
            guard rowLength % info.type.blockSize == 0 else {
                throw invalid("tensor \(info.name) has rows of \(rowLength) elements, not a whole number of \(info.type.name) blocks of \(info.type.blockSize)")
            }
            let (byteCount, tooMany) = (elements / info.type.blockSize).multipliedReportingOverflow(by: info.type.bytesPerBlock)
            guard info.offset % UInt64(alignment) == 0 else {
                throw invalid("tensor \(info.name) starts at offset \(info.offset) of the data section, which is not a multiple of the alignment \(alignment)")
            }
            guard !tooMany, info.offset <= UInt64(dataSize), byteCount <= dataSize - Int(info.offset) else {
                let needed = tooMany ? "more bytes than can exist" : "\(byteCount) bytes"
                throw invalid("tensor \(info.name) needs \(needed) at offset \(info.offset) of the data section, which has only \(dataSize) bytes: the file is truncated or its offsets are wrong")
            }
            // Tensors do not share bytes: together they must fit in the data section too.
            totalBytes += byteCount
            guard totalBytes <= dataSize else {
                throw invalid("its tensors up to \(info.name) need \(totalBytes) bytes, but its data section has only \(dataSize): the file is truncated or its offsets are wrong")
            }
            let start = dataOffset + Int(info.offset)
            tensors[info.name] = GGUFTensorInfo(name: info.name, type: info.type, dimensions: info.dimensions,
                                                byteRange: start..<(start + byteCount))
        }
        return tensors
    }

    // MARK: Fields

    /// Claims the next `count` bytes and returns where they start.
    mutating func take(_ count: Int, _ what: @autoclosure () -> String) throws -> Int {
        guard count <= remaining else {
            throw invalid("it is truncated: the file ends at byte \(bytes.count), inside \(what())")
        }
        defer { offset += count }
        return offset
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let at = try take(MemoryLayout<T>.size, what())
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self))
    }

    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try load(UInt32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try load(UInt64.self, what()) }

    /// A GGUF string: a u64 length, then that many bytes of UTF-8.
    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let length = try u64(what())
        guard length <= UInt64(remaining) else {
            throw invalid("\(what()) claims \(length) bytes, more than the \(remaining) left in the file")
        }
        let at = try take(Int(length), what())
        let text = UnsafeRawBufferPointer(rebasing: bytes[at..<(at + Int(length))]).withMemoryRebound(to: UInt8.self) {
            String(validating: $0, as: UTF8.self)
        }
        guard let text else { throw invalid("\(what()) is not valid UTF-8") }
        return text
    }

    /// The fewest bytes a value of each type occupies: arrays and strings their headers.
    static let minimumSize: [Int] = [1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8]
    static let typeNames = ["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
                            "bool", "string", "array", "uint64", "int64", "float64"]

    /// One value of GGUF value type `type` (0…12), for metadata key `key`.
    mutating func value(type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        values += 1
        guard values <= GGUFFile.maximumMetadataValues else {
            throw invalid("its metadata holds more than \(GGUFFile.maximumMetadataValues) values, more than any model needs")
        }
        // Made only for an error: a tokenizer's arrays hold 100k values.
        func what() -> String { "the value of metadata key \(key)" }
        switch type {
        case 0: return .uint8(try load(UInt8.self, what()))
        case 1: return .int8(try load(Int8.self, what()))
        case 2: return .uint16(try load(UInt16.self, what()))
        case 3: return .int16(try load(Int16.self, what()))
        case 4: return .uint32(try load(UInt32.self, what()))
        case 5: return .int32(try load(Int32.self, what()))
        case 6: return .float32(Float(bitPattern: try load(UInt32.self, what())))
        case 7:
            // One byte, 0 or 1; anything else is "the model being invalid" says the spec.
            let byte = try load(UInt8.self, what())
            guard byte <= 1 else { throw invalid("metadata key \(key) holds the bool byte \(byte), neither 0 nor 1") }
            return .bool(byte == 1)
        case 8: return .string(try string(what()))
        case 9: return .array(try array(key: key, depth: depth + 1))
        case 10: return .uint64(try load(UInt64.self, what()))
        case 11: return .int64(try load(Int64.self, what()))
        case 12: return .float64(Double(bitPattern: try load(UInt64.self, what())))
        default:
            throw invalid("metadata key \(key) has value type \(type), which GGUF does not define (0…12)")
        }
    }

    /// An array: element type, count, elements. The count is checked against the bytes left
    /// (each element needs at least its minimum size) before any room is reserved for it.
    mutating func array(key: String, depth: Int) throws -> [GGUFValue] {
        guard depth <= GGUFFile.maximumArrayDepth else {
            throw invalid("metadata key \(key) nests arrays more than \(GGUFFile.maximumArrayDepth) deep")
        }
        let elementType = try u32("the element type of the array at metadata key \(key)")
        let count = try u64("the length of the array at metadata key \(key)")
        guard elementType < Self.minimumSize.count else {
            throw invalid("metadata key \(key) is an array of value type \(elementType), which GGUF does not define (0…12)")
        }
        let minimum = Self.minimumSize[Int(elementType)]
        guard count <= UInt64(remaining / minimum) else {
            throw invalid("metadata key \(key) claims an array of \(count) \(Self.typeNames[Int(elementType)]) values, more than the \(remaining) bytes left in the file can hold")
        }
        guard count <= UInt64(GGUFFile.maximumMetadataValues - values) else {
            throw invalid("metadata key \(key) claims an array of \(count) values: its metadata would hold more than \(GGUFFile.maximumMetadataValues) values, more than any model needs")
        }
        var items: [GGUFValue] = []
        items.reserveCapacity(Int(count))
        for _ in 0..<Int(count) {
            items.append(try value(type: elementType, key: key, depth: depth))
        }
        return items
    }
}
