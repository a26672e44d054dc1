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

/// A session with a case's model, sentence and target.
private func session(for c: LimeFixture.Case) throws -> ScriptedSession {
    let s = ScriptedSession()
    let output = s.run((["model \(c.model)", "sentence \(c.sentence)"] + c.commands).joined(separator: "\n"))
    #expect(!output.contains("error:"), "\(output)")
    return s
}

@Suite("LIME against the lime package and transformers")
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

    @Test("attn's texts, ids and targets for the package's masks are transformers', on the real MiniLM and SmolLM2; its fit on them is the package's",
          arguments: ["minilm-classify", "minilm-like", "smollm2-classify", "smollm2-difference"])
    func targetsMatchTransformers(name: String) throws {
        let c = try #require(try LimeFixture.shared.get().cases.first { $0.name == name })
        let s = try session(for: c)
        let measure = try s.session.targetMeasure(s.session.explanationTarget)
        let words = Lime.Words(c.sentence)
        var targets: [Double] = []
        var worst = 0.0
        for (k, mask) in c.boolMasks.enumerated() {
            let text = words.text(keeping: mask)
            #expect(text == c.texts[k], "\(name) sample \(k)")
            let ids = try measure.input(text).ids
            #expect(ids == c.ids[k], "\(name) sample \(k): \(text)")
            let value = measure.value(ids)
            targets.append(value)
            worst = max(worst, abs(value - c.targets[k]) / max(abs(c.targets[k]), 1e-2))
        }
        // float32 forward passes that add in another order: 1e-4 of the value (of 0.01 for values
        // near 0); measured 7e-7 and 3e-6 on MiniLM, 9e-6 for SmolLM2's two-label softmax. A
        // probability of the whole 49152-token softmax moves with every logit's last bits (the
        // parity tests allow 2e-3 of the largest logit): 1.5e-4 measured, 3e-4 allowed.
        let tolerance = name == "smollm2-difference" ? 3e-4 : 1e-4
        #expect(worst < tolerance, "\(name): largest relative difference \(worst)")
        // The batched passes lime runs (an encoder's inputs side by side) give the same targets.
        let batched = measure.values(c.ids)
        let worstBatched = zip(batched, c.targets).map { abs($0 - $1) / max(abs($1), 1e-2) }.max() ?? 0
        #expect(worstBatched < tolerance, "\(name): batched, largest relative difference \(worstBatched)")
        if name.hasPrefix("minilm") { #expect(measure.batchValues != nil) }
        let fit = Lime.ridge(c.doubleMasks, targets, weights: c.weights)
        let difference = largest(fit.coefficients, c.coefficients)
        #expect(difference < 1e-4, "\(name): coefficients differ by \(difference)")
        #expect(close(fit.intercept, c.intercept, 1e-4) && close(fit.score, c.score, 1e-3), "\(name)")
    }
}

@Suite("An encoder's inputs side by side in one pass")
struct BatchedEncoderTests {
    @Test("each input's last layer out equals its own trace's, however the batch is cut; no input sees another")
    func sideBySide() throws {
        let bert = try Bert(directory: ModelStore.directory(for: .minilm))
        let inputs = ["the cat sat on the mat", "a quiet film about grief that left me in tears", "hello", "the plot was thin"]
            .map { try! bert.tokenizer.encode($0) }
        let alone = inputs.map { bert.trace(ids: $0).layers[5].out }
        let together = bert.finalHiddenStates(batch: inputs)
        #expect(together.count == inputs.count)
        for (a, b) in zip(alone, together) {
            #expect(a.rows == b.rows && a.columns == b.columns)
            #expect((a.maxAbsoluteDifference(b) ?? 1) < 2e-5, "\(a.maxAbsoluteDifference(b) ?? -1)")
        }
        // Another neighbour changes nothing beyond float32's last bits: the mask keeps inputs apart.
        let swapped = bert.finalHiddenStates(batch: [inputs[2], inputs[0]])
        #expect((swapped[1].maxAbsoluteDifference(alone[0]) ?? 1) < 2e-5)
        // With a head ablated, the batch follows the trace.
        let ablated: Set<Attention.HeadIndex> = [.init(layer: 2, head: 7)]
        let ablatedAlone = bert.trace(ids: inputs[1], ablating: ablated).layers[5].out
        #expect((bert.finalHiddenStates(batch: inputs, ablating: ablated)[1].maxAbsoluteDifference(ablatedAlone) ?? 1) < 2e-5)
        #expect((ablatedAlone.maxAbsoluteDifference(alone[1]) ?? 0) > 1e-3)
    }

    @Test("the sentences mask: a query's keys are its own input's, one run")
    func mask() {
        let mask = Attention.Mask.sentences(starts: [0, 3, 4, 9])
        #expect(mask.allowedKeys(query: 0, keys: 12) == 0..<3)
        #expect(mask.allowedKeys(query: 3, keys: 12) == 3..<4)
        #expect(mask.allowedKeys(query: 8, keys: 12) == 4..<9)
        #expect(mask.allowedKeys(query: 11, keys: 12) == 9..<12)
        #expect(mask.allows(query: 5, key: 4) && !mask.allows(query: 5, key: 3) && !mask.allows(query: 5, key: 9))
    }
}

@Suite("lime, target and classify in a session")
struct LimeSessionTests {
    static let sentence = "sentence the plot was thin but the acting was wonderful"

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

    @Test("lime with a seed prints the same every time; another seed draws other samples and other numbers")
    func deterministic() throws {
        let s = ScriptedSession()
        s.run(Self.sentence + "\nclassify positive|negative\nseed 7")
        let first = s.run("lime 40")
        #expect(first.hasPrefix("lime: LIME (Ribeiro et al. 2016) on y = p(positive), 40 samples"), "\(first)")
        let masks = try #require(s.session.lastLime?.masks)
        #expect(s.run("lime 40") == first)
        #expect(s.session.lastLime?.masks == masks)
        s.run("seed 8")
        let second = s.run("lime 40")
        #expect(second != first)
        #expect(s.session.lastLime?.masks != masks)
        #expect(second.contains("drawn at random (seed 8)") && first.contains("(seed 7)"))
    }

    @Test("what lime prints is its fit: bars by |β|, b and R² as lime_coef, lime_intercept and a refit of lime_masks and lime_targets")
    func printedNumbers() throws {
        let s = ScriptedSession()
        let output = s.run(Self.sentence + "\nlime 60")
        let r = try #require(s.session.lastLime)
        #expect(r.masks.count == 60 && r.words.count == 7)
        let refit = Lime.ridge(r.masks.map { $0.map { $0 ? 1 : 0 } }, r.targets, weights: r.masks.map { Lime.kernel(Lime.distance($0)) })
        #expect(refit == r.fit)
        // The bars: one per word, largest |β| first, each with its coefficient.
        let bars = output.split(separator: "\n").filter { line in
            let parts = line.split(separator: " ")
            return parts.count >= 3 && Int(parts[0]) != nil && Double(parts[2]) != nil
        }
        #expect(bars.count == 7)
        let printed = bars.map { Double($0.split(separator: " ")[2])! }
        #expect(printed.map(abs) == printed.map(abs).sorted(by: >))
        for line in bars {
            let parts = line.split(separator: " ")
            let j = Int(parts[0])!
            #expect(String(parts[1]) == r.words.features[j])
            #expect(abs(Double(parts[2])! - r.fit.coefficients[j]) <= 5e-5)
        }
        #expect(output.contains(String(format: "intercept b = %.4f   weighted R² = %.4f", r.fit.intercept, r.fit.score)))
        // The encoder's default target: the cosine with the sentence itself, 1 for m₀.
        #expect(r.targets[0] == 1 && r.formula == "cos(e(x), e(sentence))")
        // Forward passes: one per distinct sample but m₀, whose cosine is 1 without one.
        #expect(r.forwardPasses == Set(r.masks).count - 1)
        let words = output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("\(r.forwardPasses) of the 60 samples through the model"))
        // An encoder runs them side by side: a few passes of at most 512 tokens.
        let batches = try #require(r.batches)
        #expect(batches >= 1 && batches < r.forwardPasses && words.contains("in \(batches) forward pass"), "\(output)")
        // The math's names hold the same numbers.
        #expect(s.run("lime_coef").contains(String(format: "%.4f", r.fit.coefficients[0])))
        #expect(s.run("check lime_intercept + 0 * lime_coef[0, 0] lime_intercept").hasPrefix("✓"))
        #expect(s.run("D = 100 * (1 - sqrt(sum(lime_masks, axis=1) / 7))\ncheck sqrt(exp(-D ** 2 / 25 ** 2)) lime_weights").contains("✓ matches lime_weights [60 × 1]"))
        #expect(s.run("check exp(-D ** 2 / 25 ** 2) lime_weights").contains("✗"))
    }

    @Test("export lime writes word,coefficient in the sentence's order; plot lime an SVG with one bar per word")
    func exportAndPlot() throws {
        let s = ScriptedSession()
        #expect(s.run("export lime l.csv") == "error: export lime writes the coefficients of the last lime, and there is none yet: lime first\n")
        s.run("sentence the plot, \"thin\" but the acting was wonderful\nlime 30")
        let r = try #require(s.session.lastLime)
        #expect(s.run("export lime l.csv") == "wrote 7 words with their coefficients (the sentence's order) to l.csv\n")
        let csv = try String(contentsOfFile: s.directory + "/l.csv", encoding: .utf8)
        let lines = csv.split(separator: "\n").map(String.init)
        #expect(lines[0] == "word,coefficient" && lines.count == 8)
        #expect(lines[2] == "\"plot,\"," + String(format: "%.9g", r.fit.coefficients[1]))
        #expect(lines[3] == "\"\"\"thin\"\"\"," + String(format: "%.9g", r.fit.coefficients[2]))
        #expect(s.run("export lime l.npy").hasPrefix("error: export lime writes .csv files"))
        #expect(s.run("plot lime l.svg") == "wrote lime's 7 coefficients as an SVG bar chart to l.svg\n")
        let svg = try Data(contentsOf: URL(fileURLWithPath: s.directory + "/l.svg"))
        final class Bars: NSObject, XMLParserDelegate {
            var count = 0
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                if name == "rect", attributes["class"] == "bar" { count += 1 }
            }
        }
        let bars = Bars()
        let parser = XMLParser(data: svg)
        parser.delegate = bars
        #expect(parser.parse() && bars.count == 7)
    }

    @Test("target: shows and names the number explained; importance follows it, its default unchanged")
    func target() throws {
        let s = ScriptedSession()
        s.run("model smollm2\nsentence The capital of France is")
        let shown = s.run("target")
        #expect(shown.hasPrefix("target: p(·Paris) = 0.77"), "\(shown)")
        #expect(s.run("target ·Paris - ·London").hasPrefix("target: p(·Paris) − p(·London) = 0.76"))
        let importance = s.run("importance")
        #expect(importance.hasPrefix("importance = y − y(without token i),   y = p(·Paris) − p(·London)   (occlusion)"))
        // One bar against two full forward passes written out.
        let llama = try #require(s.session.model as? Llama)
        func difference(_ ids: [Int]) -> Double {
            let logits = llama.trace(ids: ids, ablating: []).logits!
            let last = logits.row(logits.rows - 1).map(Double.init)
            let top = last.max()!
            let total = last.reduce(0) { $0 + exp($1 - top) }
            return (exp(last[7042] - top) - exp(last[4528] - top)) / total
        }
        let ids = try #require(s.session.currentTrace?.tokenIds)
        let without = Array(ids[0..<2] + ids[3...])
        let bar = try #require(importance.split(separator: "\n").first { $0.hasPrefix("2  ·of") })
        // 4 decimals printed, and float32 softmaxes over 49152 logits in another order.
        #expect(abs(Double(bar.split(separator: " ")[2])! - (difference(ids) - difference(without))) < 3e-4)
        #expect(s.run("target top\nimportance").contains("importance = p(·Paris) − p(·Paris without token i)   (occlusion)"))
    }

    @Test("classify on SmolLM2: the template's prompt, each label's first token, renormalized; label_p and class_p hold them")
    func classifyDecoder() throws {
        let s = ScriptedSession()
        let output = s.run("model smollm2\nsentence I loved this movie\nclassify positive|negative")
        #expect(output.contains("  prompt: the template \"Review: {sentence}\\nSentiment:\"\n"), "\(output)")
        #expect(output.contains("  10 tokens: Review : ·I ·loved ·this ·movie ↵ Sent iment :\n"), "\(output)")
        let llama = try #require(s.session.model as? Llama)
        let prompt = llama.tokenizer.encode("Review: I loved this movie\nSentiment:")
        let logits = llama.trace(ids: prompt, ablating: []).logits!
        let last = logits.row(logits.rows - 1).map(Double.init)
        let (positive, negative) = (llama.tokenizer.encode(" positive")[0], llama.tokenizer.encode(" negative")[0])
        let expected = exp(last[positive]) / (exp(last[positive]) + exp(last[negative]))
        #expect(output.contains(String(format: "positive  ·positive    %.4f    %.4f", exp(last[positive] - last.max()!) / last.reduce(0) { $0 + exp($1 - last.max()!) }, expected)), "\(output)")
        #expect(s.run("check label_p / sum(label_p) class_p").hasPrefix("✓ matches class_p [1 × 2]"))
        #expect(s.run("target").hasPrefix("target: p(positive) = " + String(format: "%.4f", expected)))
        #expect(s.run("target class negative").hasPrefix("target: p(negative) = " + String(format: "%.4f", 1 - expected)))
        let importance = s.run("importance")
        // The sentence's tokens only: the template stays.
        #expect(importance.split(separator: "\n").filter { $0.first?.isNumber == true }.map { $0.split(separator: " ")[1] } == ["·I", "·loved", "·this", "·movie"])
        #expect(s.run("classify off").hasPrefix("classify off: no classifier; target: p("))
        #expect(s.run("class_p") == "error: class_p holds what classify LABELS computes, and there is nothing yet: classify LABELS first\n")
    }

    @Test("classify on MiniLM: softmax of 20 · cos with \"this is LABEL\"")
    func classifyEncoder() throws {
        let s = ScriptedSession()
        let output = s.run("sentence what a wonderful day\nclassify happy|sad|angry")
        let bert = try #require(s.session.model as? Bert)
        func embedding(_ text: String) -> [Double] { plainMeanPooled(try! bert.trace(text, ablating: [])) }
        let e = embedding("what a wonderful day")
        let cosines = ["happy", "sad", "angry"].map { plainCosine(e, embedding("this is \($0)")) }
        let exps = cosines.map { exp(20 * $0) }
        for (k, label) in ["happy", "sad", "angry"].enumerated() {
            let line = "  " + label.padding(toLength: 5, withPad: " ", startingAt: 0)
                + String(format: "  %16.4f  %8.4f", cosines[k], exps[k] / exps.reduce(0, +))
            #expect(output.contains(line), "\(line)\n\(output)")
        }
        #expect(s.run("label_p") == "error: label_p is a decoder's: the probabilities of its labels' first tokens; minilm classifies by cosines, and class_p holds its probabilities\n")
    }

    @Test("what the learner types is checked: one-line errors that say what to do")
    func untrusted() throws {
        let s = ScriptedSession()
        func error(_ line: String) -> String { s.failure(line) ?? "(accepted)" }
        #expect(error("lime 0") == "lime 0 is out of range: lime [N] with 1 ≤ N ≤ 5000 samples (default 500)")
        #expect(error("lime 5001").hasPrefix("lime 5001 is out of range"))
        #expect(error("lime 99999999999999999999999").hasPrefix("lime 99999999999999999999999 is out of range"))
        #expect(error("lime many") == "lime takes a whole number, not 'many'")
        #expect(error("classify positive") == "usage: classify takes 2 to 10 labels, not 1: classify positive|negative (2 to 10 labels, separated by | or spaces), classify (shows it) or classify off")
        #expect(error("classify " + (1...11).map { "l\($0)" }.joined(separator: "|")).hasPrefix("usage: classify takes 2 to 10 labels, not 11"))
        #expect(error("classify a||b").hasPrefix("usage: a label is empty"))
        #expect(error("classify yes|yes").hasPrefix("usage: each label once"))
        #expect(error("classify yes|" + String(repeating: "n", count: 41)).hasPrefix("usage: a label has at most 40 characters"))
        #expect(error("classify yes|n\u{1b}[2Jo").contains("holds a control character") && !error("classify yes|n\u{1b}[2Jo").contains("\u{1b}"))
        #expect(error("target a b") == "usage: " + TargetCommand.usage)
        #expect(error("target like") .hasPrefix("usage: target like \"a sad story\""))
        #expect(error("target like \"unclosed") == "the quoted sentence has no closing \": add one at the end")
        #expect(error("target class") .hasPrefix("usage: target class LABEL"))
        #expect(error("lime") == "no sentence yet: type, for example, sentence the cat sat on the mat")
        s.run("sentence the cat sat")
        #expect(error("target ·Paris").hasPrefix("minilm is an encoder and predicts no next token"))
        #expect(error("target class positive") == "target class positive names a label of classify, and there is no classifier: classify positive|negative first")
        s.run("classify yes|no")
        #expect(error("target class maybe") == "maybe is not a label of the classifier: its labels are yes, no")
        s.run("model smollm2")
        #expect(error("target ·Parisian") == "·Parisian is not one token of smollm2 (it is 2 tokens, ·Paris ian): target takes one token as predict shows it, with · for a leading space")
        #expect(error("target like \"x\"").hasPrefix("target like compares sentence embeddings"))
        #expect(error("classify unbelievable|unbelievably") == "unbelievable and unbelievably begin with the same token, ·unbelie, so the classifier cannot tell them apart: choose labels whose first tokens differ")
        s.run("classify off\nsentence cat")
        #expect(error("lime").hasPrefix("lime removes words, and smollm2 predicts nothing after an empty text"))
        // A failed command changes nothing.
        #expect(s.session.classifier == nil && s.session.explanationTarget == .top)
        for line in ["lime 0", "classify positive", "target ·Parisian", "target a b"] { #expect(!error(line).contains("\n")) }
    }

    @Test("lesson 20 resumed at its last exercise sets up the classifier, the target and lime's numbers again")
    func lessonResumes() throws {
        let directory = NSTemporaryDirectory() + "attn-lime-lesson-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(#"{"20-lime": 5}"#.utf8).write(to: URL(fileURLWithPath: directory + "/progress.json"))
        let session = LessonLintTests.session()
        session.progressPath = directory + "/progress.json"
        let text = try session.execute("lesson 20").replacingOccurrences(of: "\n  ", with: " ")
        #expect(text.contains("set up for lesson 20: model smollm2; sentence Not a bad film at all; classify positive|negative; target class positive"), "\(text)")
        #expect(session.lastLime?.masks.count == 500 && session.lastLime?.seed == 0)
        let check = try session.execute("check sqrt(exp(-(100 * (1 - sqrt(sum(lime_masks, axis=1) / 6))) ** 2 / 25 ** 2)) lime_weights")
        #expect(check.hasPrefix("✓ matches lime_weights [500 × 1]"), "\(check)")
        // Starting again from the top sets none of it up.
        _ = try session.execute("lesson stop")
        try Data(#"{"20-lime": 0}"#.utf8).write(to: URL(fileURLWithPath: directory + "/progress.json"))
        _ = try session.execute("lesson 20")
        #expect(session.classifier == nil && session.explanationTarget == .top && session.lastLime == nil)
    }
}
