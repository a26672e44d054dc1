import AttnCore
import Foundation
import Testing

/// The real Gemma 3 270M, loaded once (about 1.1 GB of float32 weights).
enum RealGemma {
    static let path = ModelStore.directory(for: .gemma3) + "/" + Gemma3.fileName

    static let gemma: Result<Gemma3, Error> = Result { try Gemma3(path: path) }

    /// Each reference prompt's trace, computed once for the suite (p2's 648 tokens take seconds).
    nonisolated(unsafe) private static var traces: [String: Trace] = [:]
    private static let lock = NSLock()

    static func trace(_ prompt: GemmaReference) throws -> Trace {
        let gemma = try load()
        lock.lock()
        defer { lock.unlock() }
        if let trace = traces[prompt.name] { return trace }
        let trace = gemma.trace(ids: prompt.ids)
        traces[prompt.name] = trace
        return trace
    }

    static func load() throws -> Gemma3 {
        switch gemma {
        case let .success(gemma): return gemma
        case let .failure(error):
            Issue.record("the real Gemma 3 weights are needed (run `make test`, which fetches them, or `attn fetch gemma3`): \(error)")
            throw error
        }
    }
}

/// Reference data produced once by transformers from the same GGUF (Tests/Reference/gemma3_steps.py).
/// p2 is longer than the 512-token window and keeps only some query rows (`rows`).
struct GemmaReference: Decodable {
    struct Candidate: Decodable { let id: Int; let prob: Float }
    let name: String
    let text: String
    let ids: [Int]
    let rows: [Int]
    let files: [String]
    let top5: [Candidate]
    let greedy_ids: [Int]
    let argmax12_ids: [Int]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/gemma3").path

    struct File: Decodable { let layers: [Int]; let prompts: [GemmaReference] }
    static let file: File? = {
        guard let data = FileManager.default.contents(atPath: directory + "/prompts.json") else { return nil }
        return try? JSONDecoder().decode(File.self, from: data)
    }()
    static var all: [GemmaReference] { file?.prompts ?? [] }
    static func named(_ name: String) throws -> GemmaReference { try #require(all.first { $0.name == name }) }

    func has(_ name: String) -> Bool { files.contains(name + ".npy") }

    func array(_ name: String) throws -> (shape: [Int], values: [Float]) {
        try NumPyFile.read(path: "\(Self.directory)/\(self.name)/\(name).npy")
    }
}

@Suite("Gemma 3 matches Hugging Face transformers: QK-norm, sliding windows, one key/value head, sandwich norms")
struct Gemma3ParityTests {
    @Test("the fixtures are present: three prompts, one longer than the window")
    func fixtures() {
        #expect(GemmaReference.all.count == 3)
        #expect(GemmaReference.all.contains { $0.ids.count > 600 })
    }

    @Test("the configuration: 18 layers, 4 heads of 256 sharing 1 key/value head, layers 5, 11, 17 global")
    func configuration() throws {
        let c = try RealGemma.load().configuration
        #expect((c.hiddenLayers, c.attentionHeads, c.keyValueHeads, c.headDimension, c.hiddenSize) == (18, 4, 1, 256, 640))
        #expect((0..<18).filter(c.isGlobal) == [5, 11, 17])
        #expect(c.window(layer: 0) == 512 && c.window(layer: 5) == nil)
        #expect((c.ropeBase(layer: 0), c.ropeBase(layer: 5)) == (10_000, 1_000_000))
    }

    @Test("every recorded step of layers 0, 1, 5, 6, 11 and 17 is within 2e-3 (p2: its recorded rows)",
          arguments: GemmaReference.all.map(\.name))
    func steps(name: String) throws {
        let gemma = try RealGemma.load()
        let prompt = try GemmaReference.named(name)
        let layers = try #require(GemmaReference.file?.layers)
        let trace = try RealGemma.trace(prompt)
        let c = gemma.configuration
        func rows(_ m: Matrix) -> Matrix { m.rows(at: prompt.rows) }
        func compare(_ mine: Matrix, _ reference: Matrix, _ what: String) {
            let error = relativeError(rows(mine), reference)
            #expect(error <= 2e-3, "\(name) \(what): relative error \(error)")
        }

        if prompt.has("embeddings") {
            let reference = try prompt.array("embeddings")
            compare(trace.embeddings, Matrix(rows: reference.shape[0], columns: reference.shape[1], values: reference.values), "embeddings")
        }
        let layerSteps: [(String, Step)] = [
            ("x", .x), ("attn_norm_in", .rmsnorm), ("attn_out", .attentionOutput), ("post_attn_norm", .attentionPostNorm),
            ("attn_residual", .attentionResidual), ("ffn_norm", .feedForwardInput), ("gate", .feedForwardGate),
            ("up", .feedForwardUp), ("ffn_act", .feedForwardActivation), ("ffn_out", .feedForwardOutput),
            ("post_ffn_norm", .feedForwardPostNorm), ("out", .out),
        ]
        for (file, step) in layerSteps where prompt.has(file) {
            let reference = try prompt.array(file)
            for (index, layer) in layers.enumerated() {
                compare(try #require(trace.matrix(step, layer: layer, head: 0)), slice(reference, layer: index), "\(file) layer \(layer)")
            }
        }
        let headSteps: [(String, Step)] = [
            ("q_prerope", .queriesBeforeRotation), ("q_normed", .queriesNormalized), ("q", .q), ("scores", .scores),
            ("scaled", .scaled), ("masked", .masked), ("weights", .weights), ("z", .z),
        ]
        for (file, step) in headSteps where prompt.has(file) {
            let reference = try prompt.array(file)
            for (index, layer) in layers.enumerated() {
                for head in 0..<c.attentionHeads {
                    compare(try #require(trace.matrix(step, layer: layer, head: head)),
                            slice(reference, layer: index, head: head), "\(file) layer \(layer) head \(head)")
                }
            }
        }
        // The one key/value head, through query head 0.
        for (file, step) in [("k_prerope", Step.keysBeforeRotation), ("k_normed", .keysNormalized), ("k", .k), ("v", .v)]
        where prompt.has(file) {
            let reference = try prompt.array(file)
            for (index, layer) in layers.enumerated() {
                compare(try #require(trace.matrix(step, layer: layer, head: 0)), slice(reference, layer: index, head: 0),
                        "\(file) layer \(layer)")
            }
        }
        let outAll = try prompt.array("out_all")
        for layer in 0..<c.hiddenLayers {
            compare(trace.layers[layer].out, slice(outAll, layer: layer), "out layer \(layer)")
        }
        if prompt.has("weights_all") {
            let weightsAll = try prompt.array("weights_all")
            for layer in 0..<c.hiddenLayers {
                for head in 0..<c.attentionHeads {
                    compare(trace.layers[layer].heads[head].weights, slice(weightsAll, layer: layer, head: head),
                            "weights layer \(layer) head \(head)")
                }
            }
        }
    }

    @Test("the sliding window: in a local layer query i sees keys i − 511 … i, in a global one 0 … i")
    func window() throws {
        let gemma = try RealGemma.load()
        let prompt = try #require(GemmaReference.all.first { $0.ids.count > 600 })
        let trace = try RealGemma.trace(prompt)
        for (l, layer) in trace.layers.enumerated() {
            let w = gemma.configuration.window(layer: l)
            let head = layer.heads[0].tokenByToken()
            for i in [0, 511, 512, 600, prompt.ids.count - 1] {
                let first = w.map { max(0, i - $0 + 1) } ?? 0
                let visible = (0..<head.masked.columns).filter { head.masked[i, $0] != -.infinity }
                #expect(visible == Array(first...i), "layer \(l) query \(i)")
                #expect((0..<first).allSatisfy { head.weights[i, $0] == 0 })
            }
        }
    }

    @Test("RoPE's frequencies and angles equal the model's, local (10⁴) and global (10⁶)")
    func rope() throws {
        let gemma = try RealGemma.load()
        let prompt = try GemmaReference.named("p0")
        for (kind, layer) in [("local", 0), ("global", 5)] {
            let rotation = Rotation(headDimension: 256, base: gemma.configuration.ropeBase(layer: layer), positions: 0..<prompt.ids.count)
            let frequencies = try prompt.array("rope_inv_freq_\(kind)").values
            #expect(relativeError(Matrix(rows: 1, columns: 128, values: rotation.frequencies),
                                  Matrix(rows: 1, columns: 128, values: frequencies)) <= 1e-6)
            let cos = try prompt.array("rope_cos_\(kind)")
            let reference = Matrix(rows: cos.shape[0], columns: cos.shape[1], values: cos.values).columns(0..<128)
            #expect(rotation.cosines.maxAbsoluteDifference(reference) ?? 1 <= 1e-5)
        }
    }

    @Test("the last position's logits, top-5 and greedy continuation equal the reference",
          arguments: GemmaReference.all.map(\.name))
    func nextToken(name: String) throws {
        let gemma = try RealGemma.load()
        let prompt = try GemmaReference.named(name)
        let trace = try RealGemma.trace(prompt)
        let logits = try #require(trace.logits)
        let last = logits.rows((logits.rows - 1)..<logits.rows)
        let reference = try prompt.array("logits_last")
        #expect(relativeError(last, Matrix(rows: 1, columns: reference.values.count, values: reference.values)) <= 2e-3)
        let top = topTokens(logits: last.values, count: 5, temperature: 1)
        #expect(top.map(\.id) == prompt.top5.map(\.id))
        for (mine, theirs) in zip(top, prompt.top5) { #expect(abs(mine.probability - theirs.prob) <= 2e-3) }
        // Greedy decoding with the KV cache (whose local layers keep only the window), without
        // stopping at end-of-sequence.
        var produced: [Int] = []
        var cache = KeyValueCache(layers: gemma.configuration.hiddenLayers)
        var next = gemma.forward(prompt.ids, cache: &cache)
        for _ in 0..<12 {
            let id = next.indices.max { next[$0] < next[$1] } ?? 0
            produced.append(id)
            next = gemma.forward([id], cache: &cache)
        }
        #expect(produced == prompt.argmax12_ids)
        #expect(cache.count == prompt.ids.count + 12)
        // The generation loop stops at <eos>, as transformers' generate does.
        #expect(gemma.generate(prompt: prompt.ids, count: 12) { _ in } == prompt.greedy_ids)
    }
}
