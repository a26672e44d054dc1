import Foundation
import Testing
import AttnCore

// Matrix and its math against plain loops written here, in Double where rounding could hide a bug.

/// A matrix with varied, deterministic entries.
private func sample(_ rows: Int, _ columns: Int, seed: Double = 1) -> Matrix {
    Matrix(rows: rows, columns: columns,
           values: (0..<(rows * columns)).map { Float(sin(seed * 1.3 + Double($0) * 0.71) * 2) })
}

/// `a · b` with three loops, accumulated in Double.
private func loopProduct(_ a: Matrix, _ b: Matrix) -> [[Double]] {
    (0..<a.rows).map { i in
        (0..<b.columns).map { j in
            (0..<a.columns).reduce(0.0) { $0 + Double(a[i, $1]) * Double(b[$1, j]) }
        }
    }
}

/// Whether every element is within `tolerance` of the expected rows.
private func matches(_ m: Matrix, _ expected: [[Double]], tolerance: Double = 1e-5) -> Bool {
    guard m.rows == expected.count, expected.allSatisfy({ $0.count == m.columns }) else { return false }
    for i in 0..<m.rows {
        for j in 0..<m.columns where !(abs(Double(m[i, j]) - expected[i][j]) <= tolerance * max(1, abs(expected[i][j]))) {
            return false
        }
    }
    return true
}

@Suite("Matrix: layout and reshaping")
struct MatrixLayoutTests {
    @Test("element (i, j) is values[i × columns + j]; rows and columns read it back")
    func layout() {
        let m = Matrix([[1, 2, 3], [4, 5, 6]])
        #expect(m.rows == 2 && m.columns == 3)
        #expect(m.values == [1, 2, 3, 4, 5, 6])
        #expect(m[1, 0] == 4 && m[0, 2] == 3)
        #expect(m.row(1) == [4, 5, 6])
        #expect(m.column(2) == [3, 6])
        #expect(m.shapeDescription == "[2 × 3]")
        var n = m
        n[1, 2] = 60
        #expect(n.values == [1, 2, 3, 4, 5, 60])
    }

    @Test("transposed swaps every (i, j) with (j, i)", arguments: [(1, 1), (2, 3), (5, 1), (4, 7), (0, 3)])
    func transposed(rows: Int, columns: Int) {
        let m = sample(rows, columns)
        let t = m.transposed
        #expect(t.rows == columns && t.columns == rows)
        for i in 0..<rows {
            for j in 0..<columns { #expect(t[j, i] == m[i, j]) }
        }
        #expect(t.transposed == m)
    }

    @Test("columns(_:) cuts the same columns from every row, as a head's slice")
    func columnsRange() {
        let m = sample(3, 8)
        for range in [0..<2, 2..<4, 6..<8, 0..<8, 3..<3] {
            let cut = m.columns(range)
            #expect(cut.rows == 3 && cut.columns == range.count)
            for i in 0..<3 {
                for (c, j) in range.enumerated() { #expect(cut[i, c] == m[i, j]) }
            }
        }
    }

    @Test("rows(_:) keeps whole rows")
    func rowsRange() {
        let m = sample(5, 3)
        let cut = m.rows(1..<4)
        #expect(cut.rows == 3 && cut.columns == 3)
        for i in 0..<3 { #expect(cut.row(i) == m.row(i + 1)) }
    }

    @Test("concatenateColumns puts the parts side by side and undoes columns(_:)")
    func concatenate() {
        let a = Matrix([[1, 2], [3, 4]])
        let b = Matrix([[5], [6]])
        let c = Matrix([[7, 8, 9], [10, 11, 12]])
        let joined = Matrix.concatenateColumns([a, b, c])
        #expect(joined == Matrix([[1, 2, 5, 7, 8, 9], [3, 4, 6, 10, 11, 12]]))

        let m = sample(4, 12)
        let heads = (0..<3).map { m.columns(($0 * 4)..<(($0 + 1) * 4)) }
        #expect(Matrix.concatenateColumns(heads) == m)
        #expect(Matrix.concatenateColumns([m]) == m)
        let empty = Matrix.concatenateColumns([])
        #expect(empty.rows == 0 && empty.columns == 0)
    }

    @Test("maxAbsoluteDifference: the largest |a − b|, nil when the shapes differ")
    func maxAbsoluteDifference() {
        let a = Matrix([[1, 2, 3], [4, 5, 6]])
        let b = Matrix([[1, 2.5, 3], [4, 5, 2]])
        #expect(a.maxAbsoluteDifference(b) == 4)
        #expect(b.maxAbsoluteDifference(a) == 4)
        #expect(a.maxAbsoluteDifference(a) == 0)
        // Same number of values, other shape: not comparable.
        #expect(a.maxAbsoluteDifference(Matrix([[1, 2], [3, 4], [5, 6]])) == nil)
        #expect(a.maxAbsoluteDifference(Matrix([[1, 2, 3]])) == nil)
        // Equal infinities (masked cells) are equal; an infinity against a number is infinitely off.
        let masked = Matrix([[0, -.infinity]])
        #expect(masked.maxAbsoluteDifference(masked) == 0)
        #expect(masked.maxAbsoluteDifference(Matrix([[0, -1e30]])) == .infinity)
    }

    /// A NaN anywhere means the matrices are not close, wherever it sits among the cells.
    @Test("maxAbsoluteDifference: a NaN is the worst difference, wherever it is",
          arguments: [[Float.nan, 1, 0], [1, Float.nan, 0], [0, 1, Float.nan]])
    func maxAbsoluteDifferenceNaN(values: [Float]) {
        let a = Matrix(rows: 1, columns: 3, values: values)
        let b = Matrix(rows: 1, columns: 3, values: [0, 0, 0])
        #expect(a.maxAbsoluteDifference(b)?.isNaN == true, "got \(String(describing: a.maxAbsoluteDifference(b)))")
    }

    @Test("maxAbsolute skips the −∞ of masked cells")
    func maxAbsolute() {
        #expect(Matrix([[1, -7, 3], [-.infinity, 2, 0]]).maxAbsolute == 7)
    }
}

@Suite("Matrix: products and linear layers against loops")
struct MatrixProductTests {
    @Test("multiplied(by:) equals three loops", arguments: [(1, 1, 1), (2, 3, 4), (3, 5, 2), (7, 1, 6), (4, 16, 9)])
    func product(m: Int, k: Int, n: Int) {
        let a = sample(m, k, seed: 1)
        let b = sample(k, n, seed: 2)
        let c = a.multiplied(by: b)
        #expect(c.rows == m && c.columns == n)
        #expect(matches(c, loopProduct(a, b)))
    }

    @Test("multiplied(by:transposeB:) uses B stored as (n × k)", arguments: [(2, 3, 4), (3, 5, 2), (1, 7, 1), (5, 4, 5)])
    func productTransposed(m: Int, k: Int, n: Int) {
        let a = sample(m, k, seed: 3)
        let bStored = sample(n, k, seed: 4)
        let c = a.multiplied(by: bStored, transposeB: true)
        #expect(c.rows == m && c.columns == n)
        let expected = (0..<m).map { i in
            (0..<n).map { j in (0..<k).reduce(0.0) { $0 + Double(a[i, $1]) * Double(bStored[j, $1]) } }
        }
        #expect(matches(c, expected))
        // The same product with B transposed in memory: BLAS may add in another order
        // (one row goes through sgemv), so equal to rounding.
        let other = a.multiplied(by: bStored.transposed)
        #expect((c.maxAbsoluteDifference(other) ?? 1) <= 1e-5 * max(1, other.maxAbsolute))
    }

    @Test("products big enough to be split between two cores equal the loops, for every way of storing B",
          arguments: [(16, 384, 96), (16, 300, 70), (3, 400, 250), (1, 600, 500), (1, 500, 777)])
    func splitProducts(m: Int, k: Int, n: Int) {
        #expect(m * k * n >= 1 << 18)  // above the split threshold
        let a = sample(m, k, seed: 8)
        let b = sample(k, n, seed: 9)
        let expected = loopProduct(a, b)
        #expect(matches(a.multiplied(by: b), expected, tolerance: 1e-4))
        #expect(matches(a.multiplied(by: b.transposed, transposeB: true), expected, tolerance: 1e-4))
    }

    @Test("empty inner or outer sizes give zeros of the right shape")
    func emptyProducts() {
        let zeroInner = Matrix(rows: 2, columns: 0).multiplied(by: Matrix(rows: 0, columns: 3))
        #expect(zeroInner == Matrix(rows: 2, columns: 3, repeating: 0))
        let zeroRows = Matrix(rows: 0, columns: 4).multiplied(by: sample(4, 3))
        #expect(zeroRows.rows == 0 && zeroRows.columns == 3)
    }

    @Test("linear: y = x · Wᵀ + b, with W (out × in)")
    func linear() {
        let x = sample(3, 4, seed: 5)
        let w = sample(6, 4, seed: 6)
        let bias: [Float] = [0.5, -1, 2, 0, 3, -0.25]
        let y = x.linear(weight: w, bias: bias)
        let expected = (0..<3).map { i in
            (0..<6).map { o in Double(bias[o]) + (0..<4).reduce(0.0) { $0 + Double(x[i, $1]) * Double(w[o, $1]) } }
        }
        #expect(y.rows == 3 && y.columns == 6)
        #expect(matches(y, expected))
        #expect(x.linear(weight: w, bias: nil) == x.multiplied(by: w, transposeB: true))
    }

    @Test("+, scaled(by:), map and addRow work element by element")
    func elementwise() {
        let a = Matrix([[1, 2], [3, 4]])
        let b = Matrix([[10, 20], [30, 40]])
        #expect(a + b == Matrix([[11, 22], [33, 44]]))
        #expect(a.scaled(by: -2) == Matrix([[-2, -4], [-6, -8]]))
        #expect(a.map { $0 * $0 } == Matrix([[1, 4], [9, 16]]))
        var c = a
        c.addRow([100, 200])
        #expect(c == Matrix([[101, 202], [103, 204]]))
    }
}

@Suite("Matrix: softmax, LayerNorm and GELU")
struct MatrixNumericsTests {
    @Test("softmaxRows equals exp(s) / Σ exp(s) row by row, and each row sums to 1")
    func softmax() {
        let s = sample(4, 6, seed: 7)
        let p = s.softmaxRows()
        let expected = (0..<4).map { i -> [Double] in
            let e = s.row(i).map { exp(Double($0)) }
            let sum = e.reduce(0, +)
            return e.map { $0 / sum }
        }
        #expect(matches(p, expected, tolerance: 1e-6))
        for i in 0..<4 { #expect(abs(p.row(i).reduce(0, +) - 1) < 1e-6) }
    }

    @Test("huge scores do not overflow: the row max is subtracted first")
    func softmaxHugeValues() {
        let p = Matrix([[1000, 1000], [1000, 999], [-1000, -1001], [88.8, 89]]).softmaxRows()
        #expect(p.values.allSatisfy { $0.isFinite })
        #expect(p.row(0) == [0.5, 0.5])
        // softmax([1000, 999]) = softmax([1, 0]) = [e/(e+1), 1/(e+1)]
        let e = exp(1.0)
        #expect(abs(Double(p[1, 0]) - e / (e + 1)) < 1e-6)
        #expect(abs(Double(p[1, 1]) - 1 / (e + 1)) < 1e-6)
        #expect(abs(Double(p[2, 0]) - e / (e + 1)) < 1e-6)
        #expect(abs(Double(p[3, 1]) - 1 / (1 + exp(-0.2))) < 1e-5)
    }

    @Test("a −∞ (masked) cell gets exactly 0 and the rest still sum to 1")
    func softmaxMasked() {
        let p = Matrix([[1, -.infinity, 2], [-.infinity, -.infinity, 5]]).softmaxRows()
        #expect(p[0, 1] == 0)
        #expect(p[1, 0] == 0 && p[1, 1] == 0)
        #expect(p[1, 2] == 1)
        #expect(abs(p[0, 0] + p[0, 2] - 1) < 1e-6)
        #expect(abs(Double(p[0, 2]) - exp(1.0) / (1 + exp(1.0))) < 1e-6)
    }

    @Test("a fully −∞ row has no distribution: zeros, not NaN")
    func softmaxFullyMasked() {
        let p = Matrix([[-.infinity, -.infinity, -.infinity], [0, 0, 0]]).softmaxRows()
        #expect(p.row(0) == [0, 0, 0])
        #expect(p.row(1).allSatisfy { abs($0 - 1.0 / 3) < 1e-7 })
    }

    @Test("a row's maximum, eight cells at a time, is the largest cell wherever it lies, and nan wherever a nan lies")
    func rowMaximum() {
        for count in [1, 7, 8, 9, 16, 21, 64] {
            let base = (0..<count).map { Float(($0 * 37) % 11) - 20 }
            for place in Set([0, count / 2, count - 1]) {
                var row = base
                row[place] = 50
                let softmax = Matrix(rows: 1, columns: count, values: row).softmaxRows()
                #expect(softmax.row(0)[place] == softmax.row(0).max(), "\(count) cells, largest at \(place)")
                row[place] = .nan
                let allNaN = Matrix(rows: 1, columns: count, values: row).softmaxRows().row(0).allSatisfy { $0.isNaN }
                #expect(allNaN, "\(count) cells, nan at \(place)")
                row[place] = -.infinity
                let masked = Matrix(rows: 1, columns: count, values: row).softmaxRows().row(0)
                #expect(masked[place] == 0 && abs(masked.reduce(0, +) - 1) < 1e-5 || count == 1, "\(count) cells, −∞ at \(place)")
            }
        }
    }

    @Test("layerNormRows equals (x − mean) / √(var + ε) · γ + β with the population variance")
    func layerNorm() {
        let x = Matrix([[1, 2, 3, 4], [10, -10, 0, 5], [7, 7, 7, 7]])
        let gamma: [Float] = [1, 0.5, 2, -1]
        let beta: [Float] = [0, 1, -1, 0.25]
        let epsilon: Float = 1e-5
        let y = x.layerNormRows(gamma: gamma, beta: beta, epsilon: epsilon)
        let expected = (0..<x.rows).map { i -> [Double] in
            let row = x.row(i).map(Double.init)
            let mean = row.reduce(0, +) / Double(row.count)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(row.count)
            return row.indices.map { j in
                (row[j] - mean) / (variance + Double(epsilon)).squareRoot() * Double(gamma[j]) + Double(beta[j])
            }
        }
        #expect(matches(y, expected, tolerance: 1e-5))
        // By hand for the first row: mean 2.5, variance 1.25.
        #expect(abs(Double(y[0, 0]) - (-1.5 / (1.25 + 1e-5).squareRoot())) < 1e-5)
        // A constant row normalizes to β.
        #expect(y.row(2) == beta)
    }

    @Test("layerNormRows with γ = 1, β = 0 gives rows of mean 0 and variance ≈ 1")
    func layerNormMoments() {
        let x = sample(3, 32, seed: 9).scaled(by: 100)
        let y = x.layerNormRows(gamma: [Float](repeating: 1, count: 32), beta: [Float](repeating: 0, count: 32), epsilon: 1e-12)
        for i in 0..<3 {
            let row = y.row(i).map(Double.init)
            let mean = row.reduce(0, +) / 32
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 32
            #expect(abs(mean) < 1e-5)
            #expect(abs(variance - 1) < 1e-4)
        }
    }

    @Test("gelu at known points: x · Φ(x)", arguments: [
        (x: Float(0), expected: 0.0),
        (x: 1, expected: 0.8413447460685429),
        (x: -1, expected: -0.15865525393145707),
        (x: 2, expected: 1.9544997361036416),
        (x: -3, expected: -0.00404969409489031),
        (x: 10, expected: 10),
        (x: -10, expected: 0),
    ])
    func geluPoints(x: Float, expected: Double) {
        #expect(abs(Double(gelu(x)) - expected) < 1e-6, "gelu(\(x)) = \(gelu(x))")
    }

    @Test("gelu is within 2.5e-7 · max(1, |x|) of x · ½(1 + erf(x/√2)) everywhere on [−12, 12]: the formula's 1.5e-7, and rounding")
    func geluEverywhere() {
        var worst = 0.0
        for i in -120_000...120_000 {
            let x = Float(i) / 10_000
            let exact = Double(x) * 0.5 * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))
            worst = max(worst, abs(Double(gelu(x)) - exact) / max(1, abs(Double(x))))
        }
        #expect(worst <= 2.5e-7, "largest error \(worst)")
    }

    @Test("geluCells gives exactly gelu of every cell, for small and large matrices (one core or two)",
          arguments: [(3, 5), (16, 1536), (7, 1001)])
    func geluCells(rows: Int, columns: Int) {
        let m = Matrix(rows: rows, columns: columns, values: (0..<(rows * columns)).map { Float($0 % 2001 - 1000) / 97 })
        #expect(m.geluCells() == m.map(gelu))
    }

    @Test("gelu(0) is exactly 0")
    func geluZero() {
        #expect(gelu(0) == 0)
    }
}

@Suite("OpenBLAS's kernels: attn replaces a pre-AVX fallback with the kernels the CPU's flags allow")
struct BLASKernelChoiceTests {
    static let avx512: Set<String> = ["sse3", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]

    @Test("a CPU OpenBLAS took for a Pentium 4 gets the kernels of its flags; a recognized one, or OPENBLAS_CORETYPE, is left alone")
    func choice() {
        #expect(betterBLASKernels(current: "Prescott", flags: Self.avx512, vendor: "GenuineIntel", environment: [:]) == "SkylakeX")
        #expect(betterBLASKernels(current: "Prescott", flags: ["avx", "avx2", "fma"], vendor: "GenuineIntel", environment: [:]) == "Haswell")
        #expect(betterBLASKernels(current: "Core2", flags: ["avx", "avx2", "fma"], vendor: "AuthenticAMD", environment: [:]) == "Zen")
        #expect(betterBLASKernels(current: "Prescott", flags: ["avx"], vendor: "GenuineIntel", environment: [:]) == "Sandybridge")
        #expect(betterBLASKernels(current: "Prescott", flags: ["sse3"], vendor: "GenuineIntel", environment: [:]) == nil)
        #expect(betterBLASKernels(current: "Haswell", flags: Self.avx512, vendor: "GenuineIntel", environment: [:]) == nil)
        #expect(betterBLASKernels(current: "SkylakeX", flags: Self.avx512, vendor: "GenuineIntel", environment: [:]) == nil)
        #expect(betterBLASKernels(current: "Prescott", flags: Self.avx512, vendor: "GenuineIntel",
                                  environment: ["OPENBLAS_CORETYPE": "Prescott"]) == nil)
    }

    @Test("the flags and vendor are read from /proc/cpuinfo's first CPU")
    func cpuinfo() throws {
        let path = NSTemporaryDirectory() + "attn-cpuinfo-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse3 avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let found = cpuFeatures(cpuinfo: path)
        #expect(found.vendor == "GenuineIntel" && found.flags == ["fpu", "sse3", "avx2", "fma"])
        #expect(cpuFeatures(cpuinfo: path + "-missing").flags.isEmpty)
    }
}

@Suite("Attention masks: the run of allowed keys is the cells allows(query:key:) allows")
struct MaskRunTests {
    @Test("causal and sliding-window masks, with and without a past, against the cell-by-cell rule")
    func runs() {
        var masks: [Attention.Mask] = []
        for past in [0, 1, 5, 40] { masks.append(.causal(past: past)) }
        for (queryStart, keyStart, size) in [(0, 0, 4), (10, 3, 4), (7, 0, 1), (30, 20, 512), (0, 0, 100)] {
            masks.append(.slidingWindow(queryStart: queryStart, keyStart: keyStart, size: size))
        }
        for mask in masks {
            for queries in [1, 3, 12] {
                for keys in [1, 7, 20, 45] {
                    let scaled = Matrix(rows: queries, columns: keys, values: (0..<(queries * keys)).map { Float($0 % 7) - 3 })
                    let masked = Attention.mask(scaled, mask)
                    for i in 0..<queries {
                        for j in 0..<keys {
                            let expected = mask.allows(query: i, key: j) ? scaled[i, j] : -.infinity
                            #expect(masked[i, j] == expected, "\(mask) \(queries)×\(keys) [\(i), \(j)]")
                        }
                    }
                }
            }
        }
        // A padding mask keeps its holes.
        let padded = Attention.mask(Matrix(rows: 2, columns: 4, values: Array(repeating: 1, count: 8)), .padding([true, false, true, false]))
        let holes: [Float] = [1, -.infinity, 1, -.infinity, 1, -.infinity, 1, -.infinity]
        #expect(padded.values == holes)
    }
}

@Suite("Attention's blocks of queries: every query once, in order, with every key it may see")
struct AttentionBlockTests {
    /// The blocks cover the queries in order, and each block's keys hold every key any of its
    /// queries may attend to.
    static func covers(_ blocks: [Attention.Block], queries: Int, keys: Int, _ mask: Attention.Mask) -> Bool {
        guard blocks.first?.queries.lowerBound == 0, blocks.last?.queries.upperBound == queries else { return false }
        guard zip(blocks, blocks.dropFirst()).allSatisfy({ $0.queries.upperBound == $1.queries.lowerBound }) else { return false }
        return blocks.allSatisfy { block in
            block.queries.allSatisfy { i in (0..<keys).allSatisfy { j in !mask.allows(query: i, key: j) || block.keys.contains(j) } }
        }
    }

    @Test("causal, sliding window, sentences side by side, padding; malformed starts fall back to one block")
    func blocks() {
        // At most 256 queries: one block of everything, as before blocks.
        let whole = Attention.blocks(queries: 256, keys: 256, mask: .causal(past: 0))
        #expect(whole.map(\.queries) == [0..<256] && whole.map(\.keys) == [0..<256])
        // A causal mask: each block's keys end at its last query.
        let causal = Attention.blocks(queries: 600, keys: 600, mask: .causal(past: 0))
        #expect(causal.map(\.keys) == [0..<256, 0..<512, 0..<600])
        #expect(Self.covers(causal, queries: 600, keys: 600, .causal(past: 0)))
        // With a past of 40 keys before the 300 queries.
        let past = Attention.blocks(queries: 300, keys: 340, mask: .causal(past: 40))
        #expect(past.map(\.keys) == [0..<296, 0..<340])
        #expect(Self.covers(past, queries: 300, keys: 340, .causal(past: 40)))
        // A 100-token window: the later blocks start after key 0.
        let window = Attention.Mask.slidingWindow(queryStart: 0, keyStart: 0, size: 100)
        let local = Attention.blocks(queries: 700, keys: 700, mask: window)
        #expect(local.map(\.keys) == [0..<256, 157..<512, 413..<700])
        #expect(Self.covers(local, queries: 700, keys: 700, window))
        // Sentences side by side: a block each, its own keys.
        let batch = Attention.Mask.sentences(starts: [0, 5, 12])
        let sentences = Attention.blocks(queries: 20, keys: 20, mask: batch)
        #expect(sentences.map(\.queries) == [0..<5, 5..<12, 12..<20] && sentences.map(\.keys) == [0..<5, 5..<12, 12..<20])
        #expect(Self.covers(sentences, queries: 20, keys: 20, batch))
        for starts in [[1, 5], [0, 5, 5], [0, 30], [Int]()] {
            #expect(Attention.blocks(queries: 20, keys: 20, mask: .sentences(starts: starts)).count == 1, "\(starts)")
        }
        #expect(Attention.blocks(queries: 600, keys: 600, mask: .padding(Array(repeating: true, count: 600))).count == 1)
    }
}
