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

/// Writing files so that a failure never leaves half a file behind.
public enum AtomicFile {
    /// Writes `data` to a temporary file beside `path`, then renames it into place.
    /// - Throws: `.fileUnwritable` with the system's reason (a directory, no permission, disk full).
    public static func write(_ data: Data, to path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw AttnError.fileUnwritable(path: path, reason: "it is a directory")
        }
        // A device or pipe (say /dev/full or /dev/stdout) is written in place: renaming over it
        // would replace the device with a file.
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            return try writeAll(data, to: path, flags: O_WRONLY, final: path)
        }
        let directory = (path as NSString).deletingLastPathComponent
        // The name is cut short if need be: a file name has at most 255 bytes, and the target's
        // own may already have all of them.
        var name = Substring((path as NSString).lastPathComponent)
        while name.utf8.count > 200 { name.removeLast() }
        let temporary = (directory.isEmpty ? "." : directory) + "/.\(name).\(getpid()).tmp"
        // Whatever has that name (a file left by an earlier run, or a symbolic link planted to
        // someone else's file) is removed, and O_EXCL refuses to follow one that appears meanwhile:
        // the data only ever goes into a file this call creates.
        unlink(temporary)
        try writeAll(data, to: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, final: path)
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AttnError.fileUnwritable(path: path, reason: reason)
        }
    }

    /// Writes every byte to `target` and flushes it; on failure removes a regular file it created.
    private static func writeAll(_ data: Data, to target: String, flags: Int32, final path: String) throws {
        let fd = open(target, flags, 0o644)
        guard fd >= 0 else {
            throw AttnError.fileUnwritable(path: path, reason: String(cString: strerror(errno)))
        }
        var failure = data.withUnsafeBytes { writeFully(fd, $0) }.map { String(cString: strerror($0)) }
        if failure == nil, fsync(fd) != 0, errno != EINVAL { failure = String(cString: strerror(errno)) }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if let failure {
            if target != path { unlink(target) }
            throw AttnError.fileUnwritable(path: path, reason: failure)
        }
    }
}
