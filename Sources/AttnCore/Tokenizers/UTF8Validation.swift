/// The UTF-8 rules the decoders need: where a character ends, and whether bytes at the end could
/// still become one.
enum UTF8Validation {
    /// The length of the valid character at `start`, or 0 if the bytes there are not one.
    static func characterLength(_ bytes: [UInt8], at start: Int) -> Int {
        let lead = bytes[start]
        let length = expectedLength(lead)
        guard length > 0, start + length <= bytes.count else { return 0 }
        for offset in 1..<length where !continues(lead, bytes[start + offset], offset: offset) {
            return 0
        }
        return length
    }

    /// Where an incomplete but so far valid character at the end of `bytes` starts, or
    /// `bytes.count` if there is none. Decoding `bytes[..<result]` on its own then gives the same
    /// text as it does as part of all the bytes, because such a suffix starts with a lead byte,
    /// which no earlier sequence can take as its continuation.
    static func incompleteSuffixStart(_ bytes: [UInt8]) -> Int {
        // A lead byte within the last 3 bytes, followed only by continuation bytes.
        var start = bytes.count - 1
        while start >= 0, start >= bytes.count - 3, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0, start >= bytes.count - 3 else { return bytes.count }
        let lead = bytes[start]
        let length = expectedLength(lead)
        guard length > bytes.count - start else { return bytes.count }  // ASCII, invalid or whole
        for offset in 1..<(bytes.count - start) where !continues(lead, bytes[start + offset], offset: offset) {
            return bytes.count
        }
        return start
    }

    /// The length of the sequence `lead` starts: 1…4, or 0 for a byte that starts none
    /// (a continuation byte, 0xC0, 0xC1, 0xF5…0xFF).
    static func expectedLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0x00...0x7F: 1
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: 0
        }
    }

    /// Whether `byte` may follow `lead` at `offset` (1…3). The second byte is narrower after
    /// E0, ED, F0 and F4, which rules out overlong forms, surrogates and code points past U+10FFFF.
    private static func continues(_ lead: UInt8, _ byte: UInt8, offset: Int) -> Bool {
        guard offset == 1 else { return (0x80...0xBF).contains(byte) }
        switch lead {
        case 0xE0: return (0xA0...0xBF).contains(byte)
        case 0xED: return (0x80...0x9F).contains(byte)
        case 0xF0: return (0x90...0xBF).contains(byte)
        case 0xF4: return (0x80...0x8F).contains(byte)
        default: return (0x80...0xBF).contains(byte)
        }
    }
}
