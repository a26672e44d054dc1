import AttnCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML  // XMLParser lives here on Linux
#endif
@testable import Notebook
import Testing

/// Tests/AttnCoreTests/Fixtures/lime-reference.json, made once by Tests/Reference/lime_reference.py:
/// per case, masks drawn by the lime package's own sampler, the texts and ids they make, the
/// targets transformers computes for them on the real models, and the package's own ridge step
/// (`LimeBase.explain_instance_with_data`) on those masks, distances and targets.
struct LimeFixture: Decodable {
    struct Case: Decodable {
        let name: String
        let model: String
        let sentence: String
        let commands: [String]
        let words: [String]
        let masks: [[Int]]
        let texts: [String]
        let ids: [[Int]]
        let distances: [Double]
        let weights: [Double]
        let targets: [Double]
        let intercept: Double
        let coefficients: [Double]
        let score: Double
        let local_prediction: Double

        var boolMasks: [[Bool]] { masks.map { $0.map { $0 == 1 } } }
        var doubleMasks: [[Double]] { masks.map { $0.map(Double.init) } }
    }
    let lime: String
    let kernel_width: Double
    let cases: [Case]

    static let shared = Result {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("AttnCoreTests/Fixtures/lime-reference.json")
        return try JSONDecoder().decode(LimeFixture.self, from: Data(contentsOf: path))
    }
}

/// |a − b| ≤ tolerance · max(1, |b|).
private func close(_ a: Double, _ b: Double, _ tolerance: Double) -> Bool {
    abs(a - b) <= tolerance * max(1, abs(b))
}

/// The largest |aᵢ − bᵢ|.
private func largest(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
}

@Suite("LIME against the lime package")
struct LimeReferenceTests {
    @Test("distances and kernel weights are the package's, for its own masks")
    func distancesAndWeights() throws {
        let fixture = try LimeFixture.shared.get()
        #expect(fixture.kernel_width == Lime.kernelWidth)
        for c in fixture.cases {
            #expect(Lime.Words(c.sentence).features == c.words, "\(c.name)")
            let distances = c.boolMasks.map(Lime.distance)
            #expect(largest(distances, c.distances) < 1e-9, "\(c.name): distances")
            let weights = c.distances.map { Lime.kernel($0) }
            #expect(largest(weights, c.weights) < 1e-12, "\(c.name): kernel weights")
            #expect(c.masks[0].allSatisfy { $0 == 1 })
        }
    }

    @Test("attn's weighted ridge gives the package's intercept, coefficients, score and local prediction on the same data")
    func ridgeMatchesPackage() throws {
        for c in try LimeFixture.shared.get().cases {
            let fit = Lime.ridge(c.doubleMasks, c.targets, weights: c.weights)
            #expect(largest(fit.coefficients, c.coefficients) < 1e-9, "\(c.name): \(fit.coefficients) against \(c.coefficients)")
            #expect(close(fit.intercept, c.intercept, 1e-9), "\(c.name): intercept")
            #expect(close(fit.score, c.score, 1e-9), "\(c.name): score \(fit.score) against \(c.score)")
            #expect(close(fit.localPrediction, c.local_prediction, 1e-9), "\(c.name): local prediction")
            // The fit is not the package's by accident: other targets give other coefficients.
            let shuffled = Lime.ridge(c.doubleMasks, c.targets.reversed(), weights: c.weights)
            #expect(largest(shuffled.coefficients, c.coefficients) > 1e-3, "\(c.name)")
        }
    }

    @Test("the samples: the first keeps every word, each other removes 1…d of them; a seed gives the same samples, another seed others")
    func samples() throws {
        var generator = SplitMix64(seed: 5)
        let masks = Lime.masks(features: 7, samples: 2000, removable: 1...7, generator: &generator)
        #expect(masks.count == 2000 && masks[0] == Array(repeating: true, count: 7))
        let removed = masks.dropFirst().map { $0.filter { !$0 }.count }
        #expect(removed.allSatisfy { (1...7).contains($0) })
        // Every size comes, about equally often (1999 / 7 ≈ 286 each), and every word is removed.
        for k in 1...7 { #expect((220...350).contains(removed.filter { $0 == k }.count), "size \(k)") }
        for j in 0..<7 { #expect(masks.contains { !$0[j] }) }
        var again = SplitMix64(seed: 5), other = SplitMix64(seed: 6)
        #expect(Lime.masks(features: 7, samples: 2000, removable: 1...7, generator: &again) == masks)
        #expect(Lime.masks(features: 7, samples: 2000, removable: 1...7, generator: &other) != masks)
        var kept = SplitMix64(seed: 5)
        let decoderMasks = Lime.masks(features: 3, samples: 300, removable: 1...2, generator: &kept)
        #expect(decoderMasks.allSatisfy { $0.contains(true) })
    }

    @Test("words are split at spaces; a word that comes twice is one feature, removed everywhere")
    func words() {
        let words = Lime.Words("the cat  saw\tthe dog, the end")
        #expect(words.features == ["the", "cat", "saw", "dog,", "end"])
        #expect(words.sequence == [0, 1, 2, 0, 3, 0, 4])
        #expect(words.text(keeping: [false, true, true, true, true]) == "cat saw dog, end")
        #expect(words.text(keeping: [true, false, false, true, false]) == "the the dog, the")
        #expect(words.text(keeping: [false, false, false, false, false]) == "")
    }
}
