import Foundation

/// Compares printed output with a committed copy the way pytest-doctestplus's `FLOAT_CMP` does:
/// every word, token and symbol exactly, every number within float32 rounding.
///
/// Float sums depend on the BLAS kernel (Haswell, SkylakeX, Cooperlake, Zen…) and on how a product
/// is split, so `5917.2720` on one CPU is `5917.2495` on another and `max|Δ| = 0` becomes
/// `max|Δ| = 2.4e-06`. What must not change across machines is everything else: token ids and
/// strings, rankings, ✓ and ✗, the words of every notice.
///
/// The rules, for a number in the golden text `g` and the replay's `r`:
/// - integers (no `.`, no exponent: token ids, counts, shapes, indices) are equal or differ;
/// - decimals are equal when |r − g| ≤ max(1e-4 · max(1, |g|), one unit of the last printed digit);
/// - an error figure (a number right after `|Δ|`, as in `max|Δ| = 2.4e-06`) below 1e-4 equals any
///   other below 1e-4: both say "the same up to float rounding".
/// Spaces next to a number may differ in length (a column widens when a number gains a digit);
/// all other spaces are exact.
public enum NumericText {
    public enum Piece: Equatable, Sendable {
        case text(String)
        case spaces(Int)
        case number(String)
    }

    /// Splits a line into numbers, runs of spaces and the text between them.
    ///
    /// A number starts at a digit, or at `-` before a digit, and is not glued to a word on either
    /// side: `L2`, `W_1`, `<0xE6>` and `Q4_1` are text.
    public static func pieces(_ line: String) -> [Piece] {
        let scalars = Array(line.unicodeScalars)
        var pieces: [Piece] = []
        var text = ""
        func flushText() { if !text.isEmpty { pieces.append(.text(text)); text = "" } }
        func isDigit(_ i: Int) -> Bool { i >= 0 && i < scalars.count && ("0"..."9").contains(scalars[i]) }
        func isWordy(_ i: Int) -> Bool {
            guard i >= 0 && i < scalars.count else { return false }
            let s = scalars[i]
            return s == "_" || s.properties.isAlphabetic || ("0"..."9").contains(s)
        }
        var i = 0
        while i < scalars.count {
            if scalars[i] == " " {
                flushText()
                var j = i
                while j < scalars.count && scalars[j] == " " { j += 1 }
                pieces.append(.spaces(j - i))
                i = j
                continue
            }
            let startsNumber = (isDigit(i) || (scalars[i] == "-" && isDigit(i + 1))) && !isWordy(i - 1)
                && !(text.last.map { $0 == "." } ?? false && isDigit(i - 2))
            if startsNumber, let end = numberEnd(scalars, from: i), !isWordy(end) {
                flushText()
                pieces.append(.number(String(String.UnicodeScalarView(scalars[i..<end]))))
                i = end
                continue
            }
            text.unicodeScalars.append(scalars[i])
            i += 1
        }
        flushText()
        return pieces
    }

    /// The end of `-?digits(.digits)?(e[+-]?digits)?` starting at `start`.
    private static func numberEnd(_ s: [Unicode.Scalar], from start: Int) -> Int? {
        func isDigit(_ i: Int) -> Bool { i < s.count && ("0"..."9").contains(s[i]) }
        var i = start
        if s[i] == "-" { i += 1 }
        guard isDigit(i) else { return nil }
        while isDigit(i) { i += 1 }
        if i + 1 < s.count, s[i] == ".", isDigit(i + 1) {
            i += 1
            while isDigit(i) { i += 1 }
        }
        if i < s.count, s[i] == "e" || s[i] == "E" {
            var j = i + 1
            if j < s.count, s[j] == "+" || s[j] == "-" { j += 1 }
            if isDigit(j) {
                while isDigit(j) { j += 1 }
                i = j
            }
        }
        return i
    }

    public static func isInteger(_ number: String) -> Bool { !number.contains(".") && !number.lowercased().contains("e") }

    /// One unit of the last printed digit: `0.0045` → 0.0001, `2.4e-06` → 1e-07, `12` → 1.
    public static func unit(_ number: String) -> Double {
        let lower = number.lowercased()
        let mantissa = lower.split(separator: "e").first.map(String.init) ?? lower
        let exponent = lower.split(separator: "e").dropFirst().first.flatMap { Int($0) } ?? 0
        let decimals = mantissa.split(separator: ".").dropFirst().first?.count ?? 0
        return pow(10, Double(exponent - decimals))
    }

    /// Why two numbers differ, or nil when they are equal within the rules above.
    public static func numberDifference(_ mine: String, _ golden: String, isErrorFigure: Bool) -> String? {
        if mine == golden { return nil }
        guard let r = Double(mine), let g = Double(golden) else { return "\(mine) vs \(golden)" }
        if isInteger(mine) && isInteger(golden) { return "\(mine) vs \(golden) (integers must be equal)" }
        if isErrorFigure && abs(r) < 1e-4 && abs(g) < 1e-4 { return nil }
        let units = [mine, golden].filter { !isInteger($0) }.map(unit)
        let tolerance = max(1e-4 * max(1, abs(g)), units.max() ?? 0) * (1 + 1e-9)
        return abs(r - g) <= tolerance ? nil : "\(mine) vs \(golden) (|Δ| \(abs(r - g)) > \(tolerance))"
    }

    /// Why two lines differ, or nil when they are equal within the rules above.
    public static func lineDifference(_ mine: String, _ golden: String) -> String? {
        if mine == golden { return nil }
        let a = pieces(mine), b = pieces(golden)
        guard a.count == b.count else { return "the lines differ in more than numbers" }
        for k in a.indices {
            switch (a[k], b[k]) {
            case let (.number(x), .number(y)):
                // An error figure: the number right after `|Δ|` (`max|Δ| = 2.4e-06`, `(|Δ| 4.4e-06`).
                let before = b[..<k].compactMap { piece -> String? in
                    if case let .text(t) = piece { return t }
                    return nil
                }.suffix(2).joined(separator: " ")
                let isErrorFigure = before.hasSuffix("|Δ|") || before.hasSuffix("|Δ| =")
                if let why = numberDifference(x, y, isErrorFigure: isErrorFigure) { return why }
            case let (.spaces(m), .spaces(n)):
                if m == n { continue }
                let nextToNumber = [k - 1, k + 1].contains { j in
                    guard j >= 0 && j < b.count else { return false }
                    if case .number = a[j], case .number = b[j] { return true }
                    return false
                }
                if !nextToNumber { return "\(m) spaces vs \(n) at piece \(k + 1)" }
            case let (x, y):
                if x != y { return "\(describe(x)) vs \(describe(y))" }
            }
        }
        return nil
    }

    private static func describe(_ piece: Piece) -> String {
        switch piece {
        case let .text(t): "'\(t)'"
        case let .spaces(n): "\(n) spaces"
        case let .number(n): n
        }
    }

    /// The first line where two texts differ beyond float rounding: its 1-based number, both lines
    /// and why; nil when they agree.
    public static func firstDifference(_ mine: String, _ golden: String) -> (line: Int, mine: String, golden: String, why: String)? {
        let a = mine.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = golden.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for k in 0..<max(a.count, b.count) {
            let x = k < a.count ? a[k] : "<end>", y = k < b.count ? b[k] : "<end>"
            if k >= a.count || k >= b.count { return (k + 1, x, y, "one text ends first") }
            if let why = lineDifference(x, y) { return (k + 1, x, y, why) }
        }
        return nil
    }

    /// The new text with every line that equals an old one within float rounding kept as it was,
    /// so that rewriting a golden file after a change of its words changes only those lines, and
    /// never the last digits of the rest (which would only record this machine's kernels).
    ///
    /// Lines are paired by the longest common subsequence under `lineDifference == nil`.
    public static func merge(new: String, old: String) -> String {
        let a = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let n = a.count, m = b.count
        // length[i][j]: the longest common subsequence of a[i...] and b[j...].
        var length = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                length[i][j] = lineDifference(a[i], b[j]) == nil
                    ? length[i + 1][j + 1] + 1 : max(length[i + 1][j], length[i][j + 1])
            }
        }
        var merged: [String] = []
        var i = 0, j = 0
        while i < n {
            if j < m, lineDifference(a[i], b[j]) == nil, length[i][j] == length[i + 1][j + 1] + 1 {
                merged.append(b[j]); i += 1; j += 1
            } else if j < m, length[i][j + 1] >= length[i + 1][j] {
                j += 1
            } else {
                merged.append(a[i]); i += 1
            }
        }
        return merged.joined(separator: "\n")
    }
}
