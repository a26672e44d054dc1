/// `x` rounded to the nearest whole number and kept within `range`; `nil` for NaN.
///
/// `Int(x)` traps on NaN, ±∞ and on anything beyond `Int`'s range, and such numbers are what a
/// model computes when its scores overflow (a huge bias makes q·k infinite, and the softmax of an
/// infinite row NaN). Bars, shades and percentages go through this instead.
func roundedInt<F: BinaryFloatingPoint>(_ x: F, in range: ClosedRange<Int>) -> Int? {
    guard !x.isNaN else { return nil }
    let r = x.rounded()
    if r <= F(range.lowerBound) { return range.lowerBound }
    if r >= F(range.upperBound) { return range.upperBound }
    return Int(r)
}

/// `share` as a whole percentage, e.g. `"86"`, or `"nan"` when it is not a number.
func percentText<F: BinaryFloatingPoint>(_ share: F) -> String {
    roundedInt(share * 100, in: -1_000_000...1_000_000).map(String.init) ?? "nan"
}
