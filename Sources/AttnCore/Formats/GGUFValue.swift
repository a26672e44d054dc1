/// One metadata value of a GGUF file: a number, a flag, a string, or an array of values.
///
/// The cases are GGUF's thirteen value types, numbered as in the file (`uint8` = 0 … `float64` = 12).
/// The accessors read a value without caring which width the writer chose: `llama.block_count`
/// is a `uint32` in one file and a `uint64` in another, and `.int` reads both.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue])
    case uint64(UInt64), int64(Int64), float64(Double)

    /// The string, if this is one.
    public var string: String? {
        if case let .string(text) = self { text } else { nil }
    }

    /// Any integer type as `Int`; nil for other types and for a `uint64` above `Int.max`.
    public var int: Int? {
        switch self {
        case let .uint8(v): Int(v)
        case let .int8(v): Int(v)
        case let .uint16(v): Int(v)
        case let .int16(v): Int(v)
        case let .uint32(v): Int(v)
        case let .int32(v): Int(v)
        case let .uint64(v): Int(exactly: v)
        case let .int64(v): Int(v)
        default: nil
        }
    }

    /// A `float32`, a `float64` (rounded to `Float`) or any integer, as `Float`.
    public var float: Float? {
        switch self {
        case let .float32(v): v
        case let .float64(v): Float(v)
        default: int.map(Float.init)
        }
    }

    /// An array whose elements are all strings.
    public var strings: [String]? { elements(\.string) }

    /// An array whose elements are all integers.
    public var ints: [Int]? { elements(\.int) }

    /// An array whose elements are all numbers.
    public var floats: [Float]? { elements(\.float) }

    private func elements<T>(_ read: (GGUFValue) -> T?) -> [T]? {
        guard case let .array(items) = self else { return nil }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let value = read(item) else { return nil }
            out.append(value)
        }
        return out
    }
}
