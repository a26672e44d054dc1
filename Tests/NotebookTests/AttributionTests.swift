import AttnCore
import Foundation
@testable import Notebook
import Testing

/// Tests/AttnCoreTests/Fixtures/attribution-reference.json, made once by
/// Tests/Reference/attribution_reference.py: SmolLM2's per-layer attention and MLP parts of
/// logit(·Paris) after "The capital of France is", from transformers' forward hooks.
private struct AttributionFixture: Decodable {
    let ids: [Int]
    let target: Int
    let logit: Double
    let rms_inverse: Double
    let embedding: Double
    let attention: [Double]
    let mlp: [Double]

    static let shared = Result {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("AttnCoreTests/Fixtures/attribution-reference.json")
        return try JSONDecoder().decode(AttributionFixture.self, from: Data(contentsOf: path))
    }
}

/// The attribution the session computes for its current target.
private func attribution(_ s: ScriptedSession) throws -> LogitAttribution {
    try s.session.logitAttribution().0
}

/// |a − b| ≤ tolerance · max(1, |b|).
private func close(_ a: Double, _ b: Double, _ tolerance: Double) -> Bool {
    abs(a - b) <= tolerance * max(1, abs(b))
}

/// A dot product in Double.
private func dot(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

@Suite("attribute: direct logit attribution, the logit split into what each part wrote")
struct AttributionTests {
    static let paris = 7042, london = 4528

    @Test("SmolLM2: the parts sum to predict's logit of ·Paris, and the printed sum and logit agree")
    func smollm2Sum() throws {
        let s = ScriptedSession()
        let output = s.run("model smollm2\nsentence The capital of France is\nattribute")
        let a = try attribution(s)
        let logits = try #require(s.session.currentTrace?.logits(row: 4))
        #expect(a.tokens == [Self.paris])
        #expect(a.parts.count == 1 + 30 * 9 + 30)
        #expect(close(a.sum, Double(logits[Self.paris]), 1e-4), "\(a.sum) vs \(logits[Self.paris])")
        #expect(a.modelLogit == Double(logits[Self.paris]))
        let lines = output.split(separator: "\n").map(String.init)
        let sum = try #require(lines.first { $0.contains("sum of all parts") }.flatMap { Double($0.split(separator: " ").last ?? "") })
        let own = try #require(lines.first { $0.contains("the model's own") }.flatMap { Double($0.split(separator: " ").last ?? "") })
        #expect(abs(sum - own) <= 2e-4, "\(output)")
        #expect(output.contains("0 forward passes (reads the trace)"))
        #expect(output.replacingOccurrences(of: "\n    ", with: " ").contains("softmax is not a sum, so attribute splits its logit"), "\(output)")
        // The table: 15 parts, largest |contribution| first.
        let header = try #require(lines.firstIndex { $0.hasPrefix("  part ") })
        let shown = lines[(header + 1)...(header + 15)].compactMap { line in
            line.split(separator: " ").first { ($0.hasPrefix("+") || $0.hasPrefix("-")) && $0.contains(".") }.flatMap { Double($0) }
        }
        #expect(shown.count == 15)
        #expect(zip(shown, shown.dropFirst()).allSatisfy { abs($0) >= abs($1) }, "\(shown)")
        // The groups add up to the sum.
        #expect(close(a.groupTotals.reduce(0) { $0 + $1.total }, a.sum, 1e-9))
    }

    @Test("SmolLM2: every layer's attention and MLP part and the embedding's match transformers' hooks")
    func smollm2Reference() throws {
        let fixture = try AttributionFixture.shared.get()
        let s = ScriptedSession()
        s.run("model smollm2\nsentence The capital of France is")
        #expect(s.session.currentTrace?.tokenIds == fixture.ids)
        let a = try attribution(s)
        #expect(a.tokens == [fixture.target])
        #expect(close(Double(a.frozenInverse), fixture.rms_inverse, 1e-4))
        #expect(close(a.modelLogit, fixture.logit, 1e-4), "\(a.modelLogit) vs \(fixture.logit)")
        #expect(abs((a.parts.first?.contribution ?? .nan) - fixture.embedding) < 1e-3)
        for l in 0..<30 {
            let heads = a.parts.filter { $0.layer == l && $0.head != nil }.reduce(0) { $0 + $1.contribution }
            let mlp = try #require(a.parts.first { $0.kind == .feedForward(layer: l) }).contribution
            #expect(abs(heads - fixture.attention[l]) < 2e-3, "layer \(l) attention: \(heads) vs \(fixture.attention[l])")
            #expect(abs(mlp - fixture.mlp[l]) < 2e-3, "layer \(l) MLP: \(mlp) vs \(fixture.mlp[l])")
        }
    }

    @Test("SmolLM2: one head's part recomputed from the trace with plain matrix products")
    func smollm2OneHead() throws {
        let s = ScriptedSession()
        s.run("model smollm2\nsentence The capital of France is")
        let a = try attribution(s)
        let trace = try #require(s.session.currentTrace)
        let model = try #require(s.session.model)
        let (l, h, t) = (23, 4, 4)
        // z · W_O's 64 rows of head 4 (the math's orientation, concat @ W_O = attn_out).
        let wO = try #require(model.weight(named: "W_O", layer: l, head: h, trace: trace))
        let write = trace.layers[l].heads[h].z.rows(t..<(t + 1)).multiplied(by: wO.rows((h * 64)..<((h + 1) * 64)))
        let out = trace.layers[29].out.row(t)
        let squares: Double = out.reduce(0) { $0 + Double($1) * Double($1) }
        let rms = (squares / Double(out.count) + Double(model.normalizationEpsilon)).squareRoot()
        let g = try #require(model.weight(named: "g_final", layer: 0, head: 0, trace: trace)).values
        let e = try #require(model.weight(named: "E", layer: 0, head: 0, trace: trace)).row(Self.paris)
        var byHand = 0.0
        for j in e.indices { byHand += Double(write.values[j]) * Double(g[j]) * Double(e[j]) }
        byHand /= rms
        let part = try #require(a.parts.first { $0.kind == .head(layer: l, head: h) }).contribution
        #expect(abs(byHand - part) < 1e-5 * max(1, abs(part)), "\(byHand) vs \(part)")
        #expect(part > 1, "L23 H4 writes ·Paris: \(part)")
    }

    @Test("SmolLM2: attributing ·Paris − ·London is the difference of the two attributions, part by part")
    func smollm2Difference() throws {
        let s = ScriptedSession()
        s.run("model smollm2\nsentence The capital of France is\ntarget ·Paris")
        let paris = try attribution(s)
        s.run("target ·London")
        let london = try attribution(s)
        let output = s.run("target ·Paris - ·London\nattribute 3")
        let difference = try attribution(s)
        #expect(difference.tokens == [Self.paris, Self.london])
        #expect(difference.parts.count == paris.parts.count)
        for (d, (p, q)) in zip(difference.parts, zip(paris.parts, london.parts)) {
            #expect(d.kind == p.kind)
            #expect(abs(d.contribution - (p.contribution - q.contribution)) < 1e-4, "\(d.name)")
        }
        #expect(close(difference.modelLogit, paris.modelLogit - london.modelLogit, 1e-6))
        #expect(close(difference.sum, difference.modelLogit, 1e-4))
        #expect(output.contains("attribution of logit(·Paris) − logit(·London)"), "\(output)")
    }

    @Test("SmolLM2: ablating the head that gives ·Paris the most lowers its logit; the MLPs were what mattered most")
    func smollm2Ablation() throws {
        let s = ScriptedSession()
        s.run("model smollm2\nsentence The capital of France is\ntarget ·Paris")
        let a = try attribution(s)
        let top = try #require(a.ranked.first { $0.head != nil })
        let (l, h) = (try #require(top.layer), try #require(top.head))
        #expect(top.contribution > 0)
        s.run("ablate head \(l) \(h)")
        let after = try #require(s.session.currentTrace?.logits(row: 4))[Self.paris]
        #expect(Double(after) < a.modelLogit - 0.5, "ablating L\(l) H\(h): \(after) vs \(a.modelLogit)")
        // The ablated head's part is now 0, and the parts still sum to the logit.
        let ablated = try attribution(s)
        #expect(ablated.parts.first { $0.kind == .head(layer: l, head: h) }?.contribution == 0)
        #expect(close(ablated.sum, Double(after), 1e-4))
    }

    @Test("Gemma 3: through its post-norms and √d_model, the parts sum to the logit; one head recomputed")
    func gemma3() throws {
        let s = ScriptedSession()
        let output = s.run("model gemma3\nsentence The capital of France is\nattribute")
        let a = try attribution(s)
        let trace = try #require(s.session.currentTrace)
        let model = try #require(s.session.model as? Gemma3)
        let t = trace.count - 1
        let logits = try #require(trace.logits(row: t))
        #expect(a.parts.count == 1 + 18 * 4 + 18)
        #expect(close(a.sum, Double(logits[a.tokens[0]]), 1e-4), "\(a.sum) vs \(logits[a.tokens[0]])")
        #expect(output.contains("E[t]·√640"), "\(output)")
        // Head 1 of layer 5 by hand: z · W_O's rows, then post_attn_norm's gain over attn_out's rms.
        let (l, h) = (5, 1)
        let dh = model.sizes.headDimension
        let wO = try #require(model.weight(named: "W_O", layer: l, head: h, trace: trace))
        let write = trace.layers[l].heads[h].z.rows(t..<(t + 1)).multiplied(by: wO.rows((h * dh)..<((h + 1) * dh))).values
        func rms(_ x: [Float]) -> Double {
            (x.reduce(0) { $0 + Double($1) * Double($1) } / Double(x.count) + Double(model.normalizationEpsilon)).squareRoot()
        }
        let post = model.weights.layers[l].postAttentionNorm
        let final = model.weights.outputNorm
        let e = model.weights.tokenEmbeddings.rows(at: [a.tokens[0]]).values
        let attnOut = trace.layers[l].attentionOutput.row(t), out = trace.layers[17].out.row(t)
        var byHand = 0.0
        for j in write.indices { byHand += Double(write[j]) * Double(post[j]) / rms(attnOut) * Double(final[j]) / rms(out) * Double(e[j]) }
        let part = try #require(a.parts.first { $0.kind == .head(layer: l, head: h) }).contribution
        #expect(abs(byHand - part) < 1e-4 * max(1, abs(part)), "\(byHand) vs \(part)")
        // The heads of a layer add up to post_attn_norm's part (the frozen norm is linear).
        let heads = a.parts.filter { $0.layer == l && $0.head != nil }.reduce(0) { $0 + $1.contribution }
        let postRow = trace.layers[l].attentionPostNorm?.row(t) ?? []
        var whole = 0.0
        for j in postRow.indices { whole += Double(postRow[j]) * Double(final[j]) / rms(out) * Double(e[j]) }
        #expect(abs(heads - whole) < 1e-4 * max(1, abs(whole)), "\(heads) vs \(whole)")
    }

    @Test("GPT-2 (tiny): token, position, attention biases and the final LayerNorm's β are parts, and they sum to the logit")
    func gpt2() throws {
        let tiny = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Lessons/models/tiny-gpt2").path
        let s = ScriptedSession()
        let output = s.run("model gpt2 \(tiny)\nsentence the cat sat\nattribute all")
        let a = try attribution(s)
        let trace = try #require(s.session.currentTrace)
        let logits = try #require(trace.logits(row: trace.count - 1))
        let layers = trace.layers.count, heads = trace.layers[0].heads.count
        #expect(a.parts.count == 2 + layers * (heads + 2) + 1, "\(output)")
        #expect(a.parts.contains { $0.kind == .normShift })
        #expect(a.parts.contains { $0.kind == .attentionBias(layer: 0) })
        #expect(close(a.sum, Double(logits[a.tokens[0]]), 1e-4), "\(a.sum) vs \(logits[a.tokens[0]])")
        #expect(output.contains("(part − mean(part))"), "\(output)")
        #expect(!output.contains("of \(a.parts.count) parts"), "attribute all lists every part")
    }

    @Test("dla_ names: their sum is dla_logit; export attribute writes every part; plot attribute draws the heads")
    func namesExportPlot() throws {
        let s = ScriptedSession()
        let output = s.run("""
            model smollm2
            sentence The capital of France is
            dla_heads.shape
            dla_mlp.shape
            check sum(dla_heads) + sum(dla_mlp) + dla_embedding + dla_bias dla_logit
            export attribute a.csv
            plot attribute a.svg
            """)
        #expect(output.contains("(30, 9)"), "\(output)")
        #expect(output.contains("(30, 1)"), "\(output)")
        #expect(output.contains("✓"), "\(output)")
        let csv = try String(contentsOfFile: s.directory + "/a.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "component,layer,head,contribution")
        #expect(csv.count == 1 + 301)
        #expect(csv[1].hasPrefix("embedding,,,"))
        #expect(csv.contains { $0.hasPrefix("head,23,4,2.8") }, "\(csv.prefix(5))")
        let total = csv.dropFirst().compactMap { Double($0.split(separator: ",", omittingEmptySubsequences: false).last ?? "") }.reduce(0, +)
        let a = try attribution(s)
        #expect(close(total, a.modelLogit, 1e-4))
        let svg = try String(contentsOfFile: s.directory + "/a.svg", encoding: .utf8)
        #expect(svg.contains("<svg") && svg.contains(">MLP<") && svg.contains(">L29<"), "\(svg.prefix(400))")
        #expect(svg.components(separatedBy: "class=\"cell\"").count - 1 == 30 * 10)
    }

    @Test("an encoder, classify, no sentence, a bad count: one line saying what to do")
    func refusals() {
        let s = ScriptedSession()
        _ = s.run("sentence the cat sat")
        let encoder = s.failure("attribute")
        #expect(encoder?.contains("encoder") == true && encoder?.contains("importance or lime") == true, "\(encoder ?? "")")
        #expect(s.failure("attribute 0") != nil)
        #expect(s.failure("attribute many") != nil)
        _ = s.run("model smollm2\nsentence Not bad at all\nclassify positive|negative")
        #expect(s.failure("attribute")?.contains("classify off") == true)
        #expect(s.failure("dla_logit")?.contains("attribute") == true)
    }
}
