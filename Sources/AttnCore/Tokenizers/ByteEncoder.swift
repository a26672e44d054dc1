/// GPT-2's byte encoder: each of the 256 byte values written as one printable character, so that
/// a byte-level BPE vocabulary, whose tokens are strings of bytes, can be stored as text.
///
/// ```
/// bytes 0x21…0x7E, 0xA1…0xAC, 0xAE…0xFF  → themselves:  "!"…"~", "¡"…"¬", "®"…"ÿ"
/// the other 68 bytes, in order            → U+0100, U+0101, …, U+0143
///
///   0x20 " "   → "Ġ" (U+0120)        "Ġthe"  is the token " the"
///   0x0A "\n"  → "Ċ" (U+010A)        "ĊĊ"    is the token "\n\n"
///   0xF0 0x9F  → "ð" "Ł"             "ðŁ"    is the first half of an emoji's four bytes
/// ```
/// The 68 bytes that move are those that would print as nothing or as whitespace: the control
/// characters, the space, DEL, the C1 controls, the no-break space and the soft hyphen.
public enum ByteEncoder {
    /// `characters[b]` is the character that stands for byte `b`.
    public static let characters: [Unicode.Scalar] = {
        var characters = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 0x100
        for byte in 0..<256 {
            if standsForItself(UInt8(byte)) {
                characters[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                // 0x100…0x143 are all valid scalars; the fallback is never taken.
                characters[byte] = Unicode.Scalar(next) ?? "\0"
                next += 1
            }
        }
        return characters
    }()

    /// `bytesByCharacter[c]` is the byte character `c` stands for, or -1; indexed by scalar value,
    /// which for the alphabet is below 0x144.
    static let bytesByCharacter: [Int16] = {
        var bytes = [Int16](repeating: -1, count: 0x144)
        for (byte, character) in characters.enumerated() { bytes[Int(character.value)] = Int16(byte) }
        return bytes
    }()

    /// Whether `byte` is printed as the Latin-1 character of the same number.
    static func standsForItself(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    /// The byte `character` stands for, or `nil` if it is not in the alphabet.
    public static func byte(for character: Unicode.Scalar) -> UInt8? {
        let value = Int(character.value)
        guard value < bytesByCharacter.count, bytesByCharacter[value] >= 0 else { return nil }
        return UInt8(bytesByCharacter[value])
    }

    /// `bytes` written in the alphabet: `encode(Array(" the".utf8))` → `"Ġthe"`.
    public static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var text = String.UnicodeScalarView()
        for byte in bytes { text.append(characters[Int(byte)]) }
        return String(text)
    }

    /// The bytes a token of the vocabulary stands for: `decode("Ġthe")` → `[0x20, 0x74, 0x68, 0x65]`.
    ///
    /// - Returns: `nil` if a character of `token` is not in the alphabet (control tokens such as
    ///   `"<|im_start|>"` are in it: printable ASCII stands for itself).
    public static func decode(_ token: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for character in token.unicodeScalars {
            guard let byte = byte(for: character) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
