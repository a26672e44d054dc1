import Foundation

/// One axis of a slice, as in NumPy: `i` (one index), `a:b`, `a:`, `:b`, `:`; negative counts from the end.
public struct Slice: Equatable, Sendable {
    public var start: Int?
    public var end: Int?
    public var single: Bool

    init(_ spec: String, text: String) throws {
        func index(_ s: Substring) throws -> Int? {
            let t = s.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { return nil }
            guard let n = Int(t) else { throw NotebookError.math("show \(text): '\(t)' is not an index") }
            return n
        }
        if let colon = spec.firstIndex(of: ":") {
            start = try index(spec[..<colon])
            end = try index(spec[spec.index(after: colon)...])
            single = false
        } else {
            guard let i = try index(spec[...]) else { throw NotebookError.math("show \(text): an empty index") }
            start = i
            end = nil
            single = true
        }
    }

    /// The rows (or columns) it selects of `count`: one position must exist, a range is clamped
    /// and may be empty (`5:2`), as the learner's math and NumPy do.
    /// - Throws: an error naming the axis when one position is outside it.
    public func range(in count: Int, axis: String) throws -> Range<Int> {
        guard single else { return Self.clamped(start: start, end: end, count: count) }
        guard let i = Self.position(start ?? 0, count: count) else {
            throw NotebookError.math("index \(start ?? 0) is out of range: the \(axis) are 0…\(count - 1)")
        }
        return i..<(i + 1)
    }

    /// The slice as typed: `2`, `5:2`, `:`.
    public var text: String {
        single ? "\(start ?? 0)" : "\(start.map(String.init) ?? ""):\(end.map(String.init) ?? "")"
    }

    /// NumPy's rule for one position on an axis of `count`: a negative one counts from the end;
    /// nil when it is outside.
    static func position(_ i: Int, count: Int) -> Int? {
        let resolved = i < 0 ? count + i : i
        return (0..<count).contains(resolved) ? resolved : nil
    }

    /// NumPy's rule for `start:end` on an axis of `count`: negative ends count from the end, both
    /// are clamped to the axis, so `0:100` is all of it and `5:2` is empty.
    static func clamped(start: Int?, end: Int?, count: Int) -> Range<Int> {
        func resolve(_ i: Int) -> Int { min(max(i < 0 ? count + i : i, 0), count) }
        let lower = resolve(start ?? 0)
        return lower..<max(lower, resolve(end ?? count))
    }
}
