/// Finds NaN and ±∞ among weights, so that a damaged checkpoint is refused at load instead of
/// turning every step into nan.
///
/// A float32 is NaN or ±∞ exactly when its eight exponent bits are all ones. Adding one to the
/// exponent field carries into the sign bit only then:
/// ```
/// (bits & 0x7F80_0000) + 0x0080_0000  ≥ 0x8000_0000   ⇔   exponent = 255   ⇔   not finite
/// ```
/// so OR-ing that over a run of elements and testing the top bit checks the whole run with integer
/// operations the compiler turns into vector instructions (no branch per element).
public enum FiniteCheck {
    /// Elements checked between two looks at the flag: small enough to stop soon after a bad
    /// element, large enough that the look costs nothing.
    static let run = 4096

    /// The index and value of the first element of `values` that is NaN or ±∞; nil when all are finite.
    public static func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> (index: Int, value: Float)? {
        guard let base = values.baseAddress, !values.isEmpty else { return nil }
        return UnsafeRawPointer(base).withMemoryRebound(to: UInt32.self, capacity: values.count) { bits in
            var start = 0
            while start < values.count {
                let end = min(values.count, start + run)
                var flag: UInt32 = 0
                for i in start..<end { flag |= (bits[i] & 0x7F80_0000) &+ 0x0080_0000 }
                if flag & 0x8000_0000 != 0 {
                    let index = (start..<end).first { !base[$0].isFinite } ?? start
                    return (index, base[index])
                }
                start = end
            }
            return nil
        }
    }

    /// As above, for an array.
    public static func firstNonFinite(_ values: [Float]) -> (index: Int, value: Float)? {
        values.withUnsafeBufferPointer { firstNonFinite($0) }
    }

    /// Throws `.tensorNotFinite` naming the tensor and the position of its first NaN or ±∞.
    /// - Parameter shape: the tensor's shape, row-major (the last dimension varies fastest).
    static func require(_ values: UnsafeBufferPointer<Float>, shape: [Int], tensor: String, path: String) throws {
        guard let (index, value) = firstNonFinite(values) else { return }
        var position: [Int] = []
        var rest = index
        for size in shape.reversed() where size > 0 {
            position.insert(rest % size, at: 0)
            rest /= size
        }
        throw AttnError.tensorNotFinite(path: path, tensor: tensor, position: position.isEmpty ? [index] : position,
                                        value: value.isNaN ? "nan" : "\(value)")  // x86's 0 · ∞ is −nan
    }
}
