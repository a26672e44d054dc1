import Foundation

/// NumPy's `.npy` format, version 1.0, for float32 arrays in C order.
///
/// ```
/// \x93NUMPY  1 0  HEADER_LEN (u16 LE)  {'descr': '<f4', 'fortran_order': False, 'shape': (8, 8), }␣…\n  data
/// ```
/// The magic, version and header length take 10 bytes; the header is padded with spaces so that
/// the data starts on a multiple of 64 bytes.
public enum NumPyFile {
    /// The bytes of a `.npy` file holding `values` with `shape`.
    public static func encode(values: [Float], shape: [Int]) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        // float32 is stored little-endian, as this machine holds it in memory.
        let littleEndian = values.map { Float(bitPattern: $0.bitPattern.littleEndian) }
        littleEndian.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    /// A float32 array read from `.npy` bytes: its shape and values in C order.
    /// - Throws: `.npyInvalid` for anything but a little-endian float32, C-order, version 1–3 file.
    public static func decode(_ data: Data, path: String = "<data>") throws -> (shape: [Int], values: [Float]) {
        let bytes = [UInt8](data)
        func fail(_ reason: String) -> AttnError { .npyInvalid(path: path, reason: reason) }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw fail("it does not start with the NumPy magic")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        } else if major == 2 || major == 3, bytes.count >= 12 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        } else {
            throw fail("version \(major) is not supported")
        }
        guard headerStart + headerLength <= bytes.count,
              let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .utf8) else {
            throw fail("its header is truncated")
        }
        guard header.contains("'descr': '<f4'") else { throw fail("only little-endian float32 ('<f4') is supported") }
        guard header.contains("'fortran_order': False") else { throw fail("only C order is supported") }
        guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw fail("its header has no shape")
        }
        let shape = try header[open.upperBound..<close].split(separator: ",").map {
            guard let n = Int($0.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw fail("its shape is not a list of sizes") }
            return n
        }
        // A corrupt header can claim a shape whose size overflows: that is an error, not a trap.
        var count = 1
        for n in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw fail("its shape \(AttnError.shape(shape)) is too large to exist") }
            count = product
        }
        let dataStart = headerStart + headerLength
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: 4)
        guard !overflow, bytes.count - dataStart == byteCount else {
            throw fail("it holds \(bytes.count - dataStart) data bytes, shape \(AttnError.shape(shape)) needs \(overflow ? "more" : String(byteCount))")
        }
        var values = [Float](repeating: 0, count: count)
        for i in 0..<count {
            let o = dataStart + 4 * i
            let bits = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
            values[i] = Float(bitPattern: bits)
        }
        return (shape, values)
    }

    /// Reads a `.npy` file.
    public static func read(path: String) throws -> (shape: [Int], values: [Float]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AttnError.fileUnreadable(path: path, reason: "no such file")
        }
        return try decode(data, path: path)
    }
}
