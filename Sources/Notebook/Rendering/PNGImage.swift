import Foundation

/// A palette PNG, written by hand: a large heatmap's pixels, one byte each, inside its SVG.
///
/// The format, as far as attn needs it (PNG specification, ISO/IEC 15948): the signature, then
/// chunks of `length, type, data, CRC-32`: `IHDR` (width, height, 8-bit palette colour), `PLTE`
/// (the colours), `IDAT` (the rows, each after a filter byte 0, in a zlib stream) and `IEND`. The
/// zlib stream stores its data uncompressed (deflate's stored blocks of at most 65,535 bytes):
/// no compression library is needed, and a 1024 × 1024 image is 1 MB.
struct PNGImage {
    let width: Int, height: Int
    /// One palette index per pixel, row by row.
    let pixels: [UInt8]
    /// The palette's colours, at most 256.
    let palette: [(UInt8, UInt8, UInt8)]

    /// The file's bytes.
    func encoded() -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = Self.bigEndian(UInt32(width)) + Self.bigEndian(UInt32(height))
        header += [8, 3, 0, 0, 0]  // 8 bits, palette colour, deflate, filter method 0, no interlace
        png += Self.chunk("IHDR", header)
        png += Self.chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] })
        // Each row after its filter type, 0 (none).
        var raw: [UInt8] = []
        raw.reserveCapacity((width + 1) * height)
        for y in 0..<height {
            raw.append(0)
            raw += pixels[(y * width)..<((y + 1) * width)]
        }
        png += Self.chunk("IDAT", Self.zlibStored(raw))
        png += Self.chunk("IEND", [])
        return png
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    /// `length, type, data, CRC-32 of type and data`.
    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
    }

    /// A zlib stream of stored (uncompressed) deflate blocks, then the Adler-32 of the data.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]  // deflate, 32 KB window, no dictionary; 0x7801 is a multiple of 31
        var start = 0
        repeat {
            let count = min(65_535, data.count - start)
            let last: UInt8 = start + count == data.count ? 1 : 0
            out += [last, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
            out += data[start..<(start + count)]
            start += count
        } while start < data.count
        return out + bigEndian(adler32(data))
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var (a, b): (UInt32, UInt32) = (1, 0)
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }
}
