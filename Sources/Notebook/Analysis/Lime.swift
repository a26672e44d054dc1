import AttnCore
import Foundation

/// LIME for text (Ribeiro, Singh & Guestrin 2016, "Why should I trust you?") as the `lime`
/// package's `LimeTextExplainer` computes it (lime_text.py, lime_base.py), with every word kept
/// as a feature (its `feature_selection='none'`):
/// ```
/// words     the sentence's distinct words, in the order they first come (a bag of words: a word
///           that comes twice is one feature, removed everywhere at once)
/// samples   m₀ = 1 (the whole sentence); mᵢ removes k words, k uniform in 1…d, the k chosen at
///           random without repeats                                         (N × d, 0 or 1)
/// distance  Dᵢ = 100 · (1 − cos(mᵢ, m₀)) = 100 · (1 − √(kᵢ / d)),   kᵢ = Σ mᵢ (the words kept)
/// kernel    πᵢ = √exp(−Dᵢ² / 25²)                                         kernel_width 25
/// ridge     β, b = argmin Σᵢ πᵢ (yᵢ − b − mᵢ·β)² + α ‖β‖²,   α = 1        sklearn's Ridge(alpha=1)
/// score     R² = 1 − Σ πᵢ (yᵢ − ŷᵢ)² / Σ πᵢ (yᵢ − ȳ)²,   ȳ = Σ πᵢ yᵢ / Σ πᵢ
/// ```
/// Words are the sentence's whitespace-separated pieces (Python's `str.split()`), punctuation
/// included; the package's default splits at `\W+` instead. A sample's text is its kept words
/// joined by one space (the package keeps the separators, which leaves two spaces where a word
/// was, and a byte-level BPE reads two spaces as another token).
enum Lime {
    /// The lime package's defaults: kernel width and ridge penalty.
    static let kernelWidth = 25.0
    static let ridgePenalty = 1.0

    /// A sentence as LIME's features: its distinct words.
    struct Words: Sendable, Equatable {
        /// The distinct words, in the order they first come: the features, d of them.
        let features: [String]
        /// For each word of the sentence in turn, its feature.
        let sequence: [Int]

        /// Splits `sentence` at whitespace.
        init(_ sentence: String) {
            var index: [String: Int] = [:]
            var features: [String] = [], sequence: [Int] = []
            for piece in sentence.split(whereSeparator: \.isWhitespace) {
                let word = String(piece)
                if let i = index[word] {
                    sequence.append(i)
                } else {
                    index[word] = features.count
                    sequence.append(features.count)
                    features.append(word)
                }
            }
            self.features = features
            self.sequence = sequence
        }

        var count: Int { features.count }

        /// The sentence with the words `mask` removes left out (every occurrence), the rest
        /// joined by one space.
        func text(keeping mask: [Bool]) -> String {
            sequence.filter { mask[$0] }.map { features[$0] }.joined(separator: " ")
        }
    }

    /// N samples of d features: the first keeps everything, each other removes k features, k drawn
    /// uniformly from `removable` (1…d in the package), the features drawn without repeats.
    /// ```
    /// k = removable.lowerBound + u(count of removable)       u(n) = ⌊x · n / 2⁶⁴⌋, x from SplitMix64
    /// the k removed: the first k of a Fisher–Yates shuffle of 0…d−1, step j swapping j and j + u(d − j)
    /// ```
    /// - Precondition: `removable` lies within 1…d.
    static func masks(features d: Int, samples n: Int, removable: ClosedRange<Int>,
                      generator: inout SplitMix64) -> [[Bool]] {
        var masks = [[Bool](repeating: true, count: d)]
        for _ in 1..<max(n, 1) {
            let k = removable.lowerBound + uniform(removable.count, &generator)
            var order = Array(0..<d)
            var mask = [Bool](repeating: true, count: d)
            for j in 0..<k {
                order.swapAt(j, j + uniform(d - j, &generator))
                mask[order[j]] = false
            }
            masks.append(mask)
        }
        return masks
    }

    /// A whole number in 0..<n from the top of a 64-bit draw (Lemire's multiply-shift, without the
    /// rejection step: the bias is below n / 2⁶⁴).
    static func uniform(_ n: Int, _ generator: inout SplitMix64) -> Int {
        Int(generator.next().multipliedFullWidth(by: UInt64(n)).high)
    }

    /// The cosine distance of a sample from the whole sentence, × 100, as the package computes it
    /// (sklearn's cosine distance; a sample without any word is at distance 100).
    /// ```
    /// D = 100 · (1 − m · 1 / (‖m‖ ‖1‖)) = 100 · (1 − k / (√k √d))
    /// ```
    static func distance(_ mask: [Bool]) -> Double {
        let k = Double(mask.filter { $0 }.count), d = Double(mask.count)
        guard k > 0 else { return 100 }
        return 100 * (1 - k / (k.squareRoot() * d.squareRoot()))
    }

    /// The package's exponential kernel: a sample's weight in the fit.
    /// ```
    /// π = √exp(−D² / width²)
    /// ```
    static func kernel(_ distance: Double, width: Double = kernelWidth) -> Double {
        exp(-(distance * distance) / (width * width)).squareRoot()
    }

    /// A weighted linear fit: coefficients, intercept, its weighted R² and its value at m₀.
    struct Fit: Sendable, Equatable {
        let coefficients: [Double]
        let intercept: Double
        /// R², weighted by the kernel (sklearn's `score` with `sample_weight`).
        let score: Double
        /// b + Σ β: what the fit says for the whole sentence (the package's `local_pred`).
        let localPrediction: Double
    }

    /// sklearn's `Ridge(alpha, fit_intercept=True).fit(X, y, sample_weight=π)`, in Double: centre
    /// X and y on their weighted means, solve the penalised normal equations (Cholesky; α > 0
    /// makes them positive definite), and put the intercept back.
    /// ```
    /// x̄ = Σ πᵢ xᵢ / Σ πᵢ,   ȳ = Σ πᵢ yᵢ / Σ πᵢ
    /// (Σ πᵢ (xᵢ − x̄)(xᵢ − x̄)ᵀ + α I) β = Σ πᵢ (xᵢ − x̄)(yᵢ − ȳ)          (d × d)
    /// b = ȳ − x̄ · β
    /// ```
    /// R² follows sklearn's `r2_score`: 1 when every y is the same and so is every prediction,
    /// 0 when y is constant and the fit is not.
    static func ridge(_ x: [[Double]], _ y: [Double], weights w: [Double], alpha: Double = ridgePenalty) -> Fit {
        let n = x.count, d = x.first?.count ?? 0
        let total = w.reduce(0, +)
        var mean = [Double](repeating: 0, count: d)
        var yMean = 0.0
        for i in 0..<n {
            for j in 0..<d { mean[j] += w[i] * x[i][j] }
            yMean += w[i] * y[i]
        }
        mean = mean.map { $0 / total }
        yMean /= total
        var a = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        var c = [Double](repeating: 0, count: d)
        for i in 0..<n {
            let centred = (0..<d).map { x[i][$0] - mean[$0] }
            let dy = y[i] - yMean
            for j in 0..<d {
                c[j] += w[i] * centred[j] * dy
                for k in 0...j { a[j][k] += w[i] * centred[j] * centred[k] }
            }
        }
        for j in 0..<d {
            a[j][j] += alpha
            for k in 0..<j { a[k][j] = a[j][k] }
        }
        let beta = solveSymmetric(a, c)
        let intercept = yMean - zip(mean, beta).reduce(0) { $0 + $1.0 * $1.1 }
        var residual = 0.0, spread = 0.0
        for i in 0..<n {
            let prediction = intercept + zip(x[i], beta).reduce(0) { $0 + $1.0 * $1.1 }
            residual += w[i] * (y[i] - prediction) * (y[i] - prediction)
            spread += w[i] * (y[i] - yMean) * (y[i] - yMean)
        }
        let score = spread > 0 ? 1 - residual / spread : (residual == 0 ? 1 : 0)
        return Fit(coefficients: beta, intercept: intercept, score: score, localPrediction: intercept + beta.reduce(0, +))
    }

    /// Solves A x = c for a symmetric positive definite A by its Cholesky factor A = L Lᵀ.
    static func solveSymmetric(_ a: [[Double]], _ c: [Double]) -> [Double] {
        let d = c.count
        var l = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
        for j in 0..<d {
            var diagonal = a[j][j]
            for k in 0..<j { diagonal -= l[j][k] * l[j][k] }
            l[j][j] = diagonal.squareRoot()
            for i in (j + 1)..<max(d, j + 1) {
                var sum = a[i][j]
                for k in 0..<j { sum -= l[i][k] * l[j][k] }
                l[i][j] = sum / l[j][j]
            }
        }
        var z = [Double](repeating: 0, count: d)  // L z = c
        for i in 0..<d {
            var sum = c[i]
            for k in 0..<i { sum -= l[i][k] * z[k] }
            z[i] = sum / l[i][i]
        }
        var x = [Double](repeating: 0, count: d)  // Lᵀ x = z
        for i in stride(from: d - 1, through: 0, by: -1) {
            var sum = z[i]
            for k in (i + 1)..<max(d, i + 1) { sum -= l[k][i] * x[k] }
            x[i] = sum / l[i][i]
        }
        return x
    }
}
