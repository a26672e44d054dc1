/// Which layer or head: a number, or a move from the current one.
public enum Selection: Equatable, Sendable {
    case absolute(Int)
    case relative(Int)

    /// The index this selects, given the current one. A move past the ends of `Int` stops there
    /// (`layer +9223372036854775807` selects 9223372036854775807, which no model has) rather than
    /// overflowing.
    public func resolve(from current: Int) -> Int {
        switch self {
        case let .absolute(n):
            return n
        case let .relative(delta):
            let (sum, overflow) = current.addingReportingOverflow(delta)
            return overflow ? (delta > 0 ? .max : .min) : sum
        }
    }

    /// The index this selects among `0..<count`, or the error `outOfRange` makes of it.
    func index(from current: Int, count: Int, outOfRange: (Int) -> Error) throws -> Int {
        let n = resolve(from: current)
        guard (0..<count).contains(n) else { throw outOfRange(n) }
        return n
    }
}
