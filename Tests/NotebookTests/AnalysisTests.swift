import AttnCore
import Foundation
@testable import Notebook
import Testing

// The analysis in Sources/Notebook/Analysis reads a trace and plain numbers, so these tests build
// traces straight from the models, with no Session. What they expect is recomputed with
// plain loops in Double (here and in TestSupport.swift), never by calling the code under test;
// floats are compared with tolerances fit for float32.

/// The real models and one trace of each, loaded once for every test here (a model takes seconds
/// and hundreds of MB).
private enum Loaded {
    static let sentence = "The cat sat on the mat."
    static let bert = Result { try Bert(directory: ModelStore.directory(for: .minilm)) }
    static let bertTrace = Result { try bert.get().trace(sentence, ablating: []) }
    static let llama = Result { try Llama(path: ModelStore.directory(for: .smollm2) + "/" + Llama.fileName) }
    static let llamaTrace = Result { try llama.get().trace(sentence, ablating: []) }
}

/// The largest |a − b| over two equally shaped tables.
private func largestDifference(_ m: Matrix, _ expected: [[Double]]) -> Double {
    var largest = 0.0
    for i in 0..<m.rows { for j in 0..<m.columns { largest = max(largest, abs(Double(m[i, j]) - expected[i][j])) } }
    return largest
}

/// Whether a sum of the neuron view's products is the trace's score: BLAS adds the same float32
/// products in another order, so they agree to float32's precision of the score's size.
private func isScore(_ sum: Double, _ score: Float) -> Bool {
    abs(sum - Double(score)) < 1e-4 * max(1, abs(Double(score)))
}

@Suite("Analysis of a real MiniLM trace, without a Session")
struct EncoderAnalysisTests {
    @Test("rollout: every row sums to 1, and it equals the product written out, with and without ablated heads")
    func rollout() throws {
        let trace = try Loaded.bertTrace.get()
        for ablated: Set<Attention.HeadIndex> in [[], [.init(layer: 2, head: 7), .init(layer: 0, head: 0), .init(layer: 0, head: 11)]] {
            let m = Rollout.matrix(trace, ablated: ablated)
            #expect(m.rows == trace.count && m.columns == trace.count)
            for i in 0..<m.rows { #expect(abs(m.row(i).reduce(0, +) - 1) < 1e-5, "row \(i)") }
            let difference = largestDifference(m, plainRollout(trace, ablated: ablated))
            #expect(difference < 1e-5, "max |Δ| \(difference) with \(ablated.count) ablated")
        }
        // Leaving a head out changes the result: the set is read.
        let whole = Rollout.matrix(trace, ablated: [])
        let without = Rollout.matrix(trace, ablated: [.init(layer: 0, head: 3)])
        #expect((whole.maxAbsoluteDifference(without) ?? 0) > 1e-4)
    }

    @Test("rollout's notice numbers: the diagonal and the column means of the matrix")
    func rolloutNumbers() throws {
        let m = Rollout.matrix(try Loaded.bertTrace.get(), ablated: [])
        let kept = Rollout.kept(m), means = Rollout.columnMeans(m)
        #expect(kept.count == m.rows && means.count == m.columns)
        for i in 0..<m.rows { #expect(kept[i] == m[i, i]) }
        for j in 0..<m.columns {
            let mean = (0..<m.rows).reduce(0.0) { $0 + Double(m[$1, j]) } / Double(m.rows)
            #expect(abs(Double(means[j]) - mean) < 1e-6)
        }
        // Each row is a distribution, so the column means add up to 1 as well.
        #expect(abs(means.reduce(0, +) - 1) < 1e-5)
    }

    @Test("ablating a head of layer 2 leaves out of layers 0 and 1 exactly as it was and changes layer 2")
    func ablation() throws {
        let before = try Loaded.bertTrace.get()
        let after = try Loaded.bert.get().trace(Loaded.sentence, ablating: [.init(layer: 2, head: 4)])
        let change = Ablation.outChange(before: before, after: after)
        #expect(change.count == before.layers.count)
        #expect(change[0] == 0 && change[1] == 0)
        #expect(before.layers[1].out.values == after.layers[1].out.values)
        #expect(change[2] > 1e-4)
        // The change is the largest |Δ| of any entry of out.
        let largest = zip(before.layers[2].out.values, after.layers[2].out.values).map { abs($0 - $1) }.max() ?? 0
        #expect(change[2] == largest)
        // An encoder's trace has no logits: no next-token change to show.
        #expect(NextTokenChange(before: before, after: after, temperature: 1, count: 5) == nil)
    }

    @Test("neuron view: the products q_i[d]·k_j[d] sum to the trace's score; the deciding dimensions are the largest of each sign")
    func neuron() throws {
        let trace = try Loaded.bertTrace.get()
        let head = trace.layers[3].heads[5]
        for (i, j) in [(2, 1), (0, 8), (6, 6)] {
            let view = NeuronView(head, query: i, key: j)
            #expect(view.products.count == head.q.columns)
            for d in 0..<head.q.columns { #expect(view.products[d] == head.q[i, d] * head.k[j, d]) }
            #expect(isScore(view.sum, head.scores[i, j]))
            #expect(view.score == head.scores[i, j] && view.weight == head.weights[i, j])
            #expect(!view.isMasked && !view.isRotated)  // an encoder: no mask, no RoPE

            let positives = view.products.filter { $0 > 0 }.sorted(by: >)
            #expect(view.positive.map { view.products[$0] } == Array(positives.prefix(NeuronView.top)))
            let negatives = view.products.filter { $0 < 0 }.sorted()
            #expect(view.negative.map { view.products[$0] } == Array(negatives.prefix(NeuronView.top)))
            let share = try #require(view.positiveShare)
            let expected = positives.prefix(NeuronView.top).reduce(0.0) { $0 + Double($1) } / positives.reduce(0.0) { $0 + Double($1) }
            #expect(abs(Double(share) - expected) < 1e-5)
        }
    }

    @Test("the sentence embedding is the mean of the last layer's out rows")
    func sentenceEmbedding() throws {
        let trace = try Loaded.bertTrace.get()
        let embedding = SentenceEmbedding.meanPooled(trace)
        let expected = plainMeanPooled(trace)
        #expect(embedding.count == expected.count)
        let largest = zip(embedding, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(largest < 1e-5, "max |Δ| \(largest)")
    }

    @Test("occlusion: one finite value per word piece, 1 − cos of the embeddings with and without it")
    func occlusion() throws {
        let bert = try Loaded.bert.get()
        let trace = try Loaded.bertTrace.get()
        var reported: [Int] = []
        let values = Occlusion.sentenceEmbedding(bert, trace, ablating: [], progress: { reported.append($0) }, isInterrupted: { false })
        // [CLS] and [SEP] stay: every other token is removed once, in order.
        #expect(values.map(\.index) == Array(1..<(trace.count - 1)))
        #expect(reported == Array(0..<(trace.count - 2)))
        for value in values { #expect(value.value.isFinite && value.value > -1e-6) }
        // One of them, recomputed from a forward pass without that token.
        let i = 2
        var ids = trace.tokenIds
        ids.remove(at: i)
        let expected = 1 - plainCosine(plainMeanPooled(trace), plainMeanPooled(bert.trace(ids: ids, ablating: [])))
        let value = try #require(values.first { $0.index == i }?.value)
        #expect(abs(value - expected) < 1e-5, "\(value) against \(expected)")
    }

    @Test("occlusion stops when interrupted, keeping the values of the tokens done")
    func occlusionInterrupted() throws {
        let trace = try Loaded.bertTrace.get()
        var asked = 0
        let values = Occlusion.sentenceEmbedding(try Loaded.bert.get(), trace, ablating: [], progress: { _ in }) {
            asked += 1
            return asked > 3
        }
        #expect(values.map(\.index) == [1, 2, 3])
    }

    @Test("occlusion's loop removes each candidate once, reports progress before each pass, and stops when asked")
    func removing() throws {
        let trace = try Loaded.bertTrace.get()
        let ids = trace.tokenIds
        var seen: [[Int]] = [], reported: [Int] = []
        let values = Occlusion.removing([1, 3, 4], from: trace.tokenIds, progress: { reported.append($0) }, isInterrupted: { seen.count == 2 }) { without in
            seen.append(without)
            return Double(without.count)
        }
        #expect(seen == [Array(ids[0..<1] + ids[2...]), Array(ids[0..<3] + ids[4...])])
        #expect(reported == [0, 1])
        #expect(values.map(\.index) == [1, 3] && values.map(\.value) == [Double(ids.count - 1), Double(ids.count - 1)])
    }

    @Test("a notice says what its numbers show: weights' rows sum to 1, nothing is masked in an encoder, z's share of v")
    func notices() throws {
        let trace = try Loaded.bertTrace.get()
        let (layer, head) = (1, 2)
        let h = trace.layers[layer].heads[head]
        func notice(_ step: Step) throws -> String {
            try #require(Notice.line(for: step, trace: trace, layer: layer, head: head, headDimension: h.q.columns))
        }
        #expect(try notice(.weights).hasPrefix("notice: each row sums to 1."))
        for i in 0..<h.weights.rows { #expect(abs(h.weights.row(i).reduce(0, +) - 1) < 1e-5) }

        #expect(try notice(.masked) == "notice: nothing is masked in one unpadded sentence, so masked equals scaled.")
        #expect(h.masked.values == h.scaled.values)

        // "z[i] (token) is P% v[j] (token)": P is weights[i, j] in percent.
        let z = try notice(.z)
        let i = try #require(Int(z.components(separatedBy: "z[")[1].prefix { $0.isNumber }))
        let j = try #require(Int(z.components(separatedBy: "% v[")[1].prefix { $0.isNumber }))
        let percent = try #require(Double(z.components(separatedBy: ") is ")[1].prefix { $0.isNumber }))
        #expect(abs(percent - Double(h.weights[i, j]) * 100) <= 0.5)
        #expect(h.weights.row(i).max() == h.weights.values.max())  // the row with the largest weight
    }
}

@Suite("Analysis of a real SmolLM2 trace, without a Session")
struct DecoderAnalysisTests {
    @Test("rollout under the causal mask: rows sum to 1, nothing above the diagonal, equal to the product written out")
    func rollout() throws {
        let trace = try Loaded.llamaTrace.get()
        #expect(trace.isCausal)
        let m = Rollout.matrix(trace, ablated: [])
        for i in 0..<m.rows {
            #expect(abs(m.row(i).reduce(0, +) - 1) < 1e-5)
            for j in (i + 1)..<m.columns { #expect(m[i, j] == 0) }
        }
        #expect(largestDifference(m, plainRollout(trace, ablated: [])) < 1e-5)

        // The sink: the mean weight rows 1…T−1 of every head put on token 0.
        var sum = 0.0, count = 0
        for layer in trace.layers {
            for head in layer.heads {
                for i in 1..<trace.count { sum += Double(head.weights[i, 0]) }
                count += trace.count - 1
            }
        }
        #expect(abs(Double(Rollout.firstTokenSink(trace, ablated: [])) - sum / Double(count)) < 1e-5)
    }

    @Test("neuron view after RoPE: the products sum to the score; a key after the query is masked with weight 0")
    func neuron() throws {
        let trace = try Loaded.llamaTrace.get()
        let head = trace.layers[4].heads[2]
        for (i, j) in [(3, 2), (5, 0), (1, 4)] {
            let view = NeuronView(head, query: i, key: j)
            #expect(view.isRotated)
            #expect(isScore(view.sum, head.scores[i, j]))
            #expect(view.isMasked == (j > i))
            if j > i { #expect(view.weight == 0) }
        }
    }

    @Test("next-token change after an ablation: ranked by the distribution before, the top token first")
    func nextTokenChange() throws {
        let before = try Loaded.llamaTrace.get()
        let after = try Loaded.llama.get().trace(Loaded.sentence, ablating: [.init(layer: 0, head: 1)])
        let change = try #require(NextTokenChange(before: before, after: after, temperature: 1, count: 5))
        #expect(change.rows.count >= 5 && change.rows.count <= 10)
        #expect(change.rows[0].id == change.topBefore && change.rows[0].rankBefore == 1)
        #expect(change.rows.map(\.rankBefore) == change.rows.map(\.rankBefore).sorted())
        #expect(change.rows.contains { $0.id == change.topAfter && $0.rankAfter == 1 })
        let logits = try #require(before.logits)
        let last = logits.row(logits.rows - 1).map(Double.init)
        let top = try #require(last.indices.max { last[$0] < last[$1] })
        #expect(change.topBefore == top)
    }

    @Test("occlusion on a decoder: one finite value per token, against the probability after the whole sentence")
    func occlusion() throws {
        let llama = try Loaded.llama.get()
        let trace = try Loaded.llamaTrace.get()
        let logits = try #require(trace.logits)
        let last = logits.row(logits.rows - 1).map(Double.init)
        let next = try #require(last.indices.max { last[$0] < last[$1] })
        let (baseline, values) = Occlusion.nextTokenProbability(llama, trace, next: next, temperature: 1, ablating: [],
                                                                 progress: { _ in }, isInterrupted: { false })
        // The baseline is softmax(logits of the last position)[next], which the trace holds too.
        let top = last.max() ?? 0
        let expected = exp(last[next] - top) / last.reduce(0.0) { $0 + exp($1 - top) }
        #expect(abs(baseline - expected) < 1e-4)
        #expect(values.map(\.index) == Array(0..<trace.count))
        for value in values { #expect(value.value.isFinite && abs(value.value) <= 1) }
    }

    @Test("a notice says what its numbers show: the causal mask's −∞ cells, counted")
    func notices() throws {
        let trace = try Loaded.llamaTrace.get()
        let h = trace.layers[0].heads[0]
        let line = try #require(Notice.line(for: .masked, trace: trace, layer: 0, head: 0, headDimension: h.q.columns, decoder: true))
        let t = trace.count
        #expect(line == "notice: \(t * (t - 1) / 2) cells are −∞; after the softmax they become exactly 0.")
        #expect(h.masked.values.filter { $0 == -.infinity }.count == t * (t - 1) / 2)
        for i in 0..<t { for j in (i + 1)..<t { #expect(h.weights[i, j] == 0) } }
    }
}

@Suite("Analysis of hand-made numbers")
struct HandMadeAnalysisTests {
    /// A T × T matrix with 1 where `hot(i)` says, 0 elsewhere.
    func oneHot(_ t: Int, _ hot: (Int) -> Int) -> Matrix {
        var m = Matrix(rows: t, columns: t)
        for i in 0..<t { m[i, hot(i)] = 1 }
        return m
    }

    let tokens = ["[CLS]", "the", "cat", "sat", "[SEP]"]

    @Test("HeadPattern: a previous-token diagonal, all mass on the first token, and self get their tags")
    func headPatterns() {
        // Row 0 has no previous token; it looks at itself.
        let previous = HeadPattern(weights: oneHot(5) { max($0 - 1, 0) }, causal: false, tokens: tokens)
        #expect(previous.tag == .previous(1))
        #expect(previous.topKey == "i−1 4/5")
        #expect(previous.entropy == 0)

        let first = HeadPattern(weights: oneHot(5) { _ in 0 }, causal: false, tokens: tokens)
        #expect(first.tag == .first(1))
        #expect(first.tag.description(encoder: true) == "[CLS] sink 1.00")
        #expect(first.topKey == "[CLS] 5/5")
        // The same matrix is causal (nothing above the diagonal); row 0 has no choice there.
        let sink = HeadPattern(weights: oneHot(5) { _ in 0 }, causal: true, tokens: tokens)
        #expect(sink.tag == .first(1))
        #expect(sink.tag.description(encoder: false) == "first-token sink 1.00")
        #expect(sink.topKey == "[CLS] 4/4")

        let same = HeadPattern(weights: oneHot(5) { $0 }, causal: false, tokens: tokens)
        #expect(same.tag == .same(1))
        #expect(same.topKey == "i 5/5")

        let last = HeadPattern(weights: oneHot(5) { _ in 4 }, causal: false, tokens: tokens)
        #expect(last.tag == .last(1))
    }

    @Test("HeadPattern: uniform weights are broad at the entropy's maximum; one token has no pattern")
    func broadAndNone() {
        let t = 8
        let uniform = HeadPattern(weights: Matrix(rows: t, columns: t, repeating: 1 / Float(t)), causal: false,
                                  tokens: (0..<t).map { "w\($0)" })
        #expect(abs(uniform.entropy - 3) < 1e-6)  // log₂ 8
        guard case let .broad(spread) = uniform.tag else {
            Issue.record("uniform weights are tagged \(uniform.tag)")
            return
        }
        #expect(abs(spread - 1) < 1e-5)

        let single = HeadPattern(weights: Matrix(rows: 1, columns: 1, repeating: 1), causal: true, tokens: ["Hi"])
        #expect(single.tag == .none && single.topKey == "—")
    }

    @Test("cosine: 1 for a vector with itself, 0 for orthogonal vectors, −1 for opposite ones, 0 against zeros")
    func cosine() {
        let a: [Float] = [0.3, -1.2, 2.5, 0.01]
        #expect(abs(SentenceEmbedding.cosine(a, a) - 1) < 1e-12)
        #expect(abs(SentenceEmbedding.cosine(a, a.map { $0 * 7 }) - 1) < 1e-12)
        #expect(abs(SentenceEmbedding.cosine(a, a.map { -$0 }) + 1) < 1e-12)
        #expect(abs(SentenceEmbedding.cosine([1, 2, 0, 0], [-2, 1, 0, 3])) < 1e-12)
        #expect(SentenceEmbedding.cosine(a, [0, 0, 0, 0]) == 0)
    }

    @Test("the rank of a token: 1 for the most likely; equal probabilities rank the smaller id first")
    func rank() {
        let p: [Float] = [0.1, 0.5, 0.2, 0.2]
        #expect([0, 1, 2, 3].map { NextTokenChange.rank(of: $0, in: p) } == [4, 1, 2, 3])
    }
}
