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

    /// The concrete range within `count`, or an error naming the axis size.
    public func range(in count: Int, axis: String) throws -> Range<Int> {
        func resolve(_ i: Int) -> Int { i < 0 ? count + i : i }
        if single {
            let i = resolve(start ?? 0)
            guard (0..<count).contains(i) else {
                throw NotebookError.math("index \(start ?? 0) is out of range: the \(axis) are 0…\(count - 1)")
            }
            return i..<(i + 1)
        }
        let lower = min(max(resolve(start ?? 0), 0), count)
        let upper = min(max(resolve(end ?? count), 0), count)
        guard lower < upper else { throw NotebookError.math("the slice \(start.map(String.init) ?? ""):\(end.map(String.init) ?? "") of \(count) \(axis) is empty") }
        return lower..<upper
    }
}
