import AttnCore
import Foundation
import Testing

/// The real SmolLM2-135M-Instruct, loaded once (about 540 MB of float32 weights).
enum RealDecoder {
    static let path = ModelStore.directory(for: .smollm2) + "/" + Llama.fileName

    static let llama: Result<Llama, Error> = Result { try Llama(path: path) }

    static func load() throws -> Llama {
        switch llama {
        case let .success(llama): return llama
        case let .failure(error):
            Issue.record("the real SmolLM2 weights are needed (run `make test`, which fetches them, or `attn fetch smollm2`): \(error)")
            throw error
        }
    }
}

/// Reference data produced once by transformers from the same GGUF (Tests/Reference/smollm2_steps.py).
struct ReferencePrompt: Decodable {
    struct Candidate: Decodable { let id: Int; let prob: Float }
    let name: String
    let text: String
    let ids: [Int]
    let top5: [Candidate]
    let greedy_ids: [Int]
    let argmax12_ids: [Int]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/smollm2").path

    struct File: Decodable { let layers: [Int]; let prompts: [ReferencePrompt] }
    static let file: File? = {
        guard let data = FileManager.default.contents(atPath: directory + "/prompts.json") else { return nil }
        return try? JSONDecoder().decode(File.self, from: data)
    }()
    static var all: [ReferencePrompt] { file?.prompts ?? [] }

    func array(_ name: String) throws -> (shape: [Int], values: [Float]) {
        try NumPyFile.read(path: "\(Self.directory)/\(self.name)/\(name).npy")
    }
}

@Suite("SmolLM2 matches Hugging Face transformers: causal mask, RoPE, grouped-query attention, next token")
struct LlamaParityTests {
    @Test("the fixtures are present: three prompts")
    func fixtures() {
        #expect(ReferencePrompt.all.count == 3)
    }

    @Test("token ids equal the reference", arguments: ReferencePrompt.all.map(\.name))
    func tokens(name: String) throws {
        let llama = try RealDecoder.load()
        let prompt = try #require(ReferencePrompt.all.first { $0.name == name })
        #expect(llama.tokenizer.encode(prompt.text) == prompt.ids)
    }

    @Test("every recorded step of layers 0, 1, 14 and 29 is within 2e-3", arguments: ReferencePrompt.all.map(\.name))
    func steps(name: String) throws {
        let llama = try RealDecoder.load()
        let prompt = try #require(ReferencePrompt.all.first { $0.name == name })
        let layers = try #require(ReferencePrompt.file?.layers)
        let trace = llama.trace(ids: prompt.ids)
        let c = llama.configuration

        let layerSteps: [(String, Step)] = [
            ("x", .x), ("rmsnorm", .rmsnorm), ("attn_out", .attentionOutput), ("attn_residual", .attentionResidual),
            ("ffn_norm", .feedForwardInput), ("gate", .feedForwardGate), ("up", .feedForwardUp),
            ("ffn_act", .feedForwardActivation), ("ffn_out", .feedForwardOutput), ("out", .out),
        ]
        for (file, step) in layerSteps {
            let reference = try prompt.array(file)
            for (index, layer) in layers.enumerated() {
                let mine = try #require(trace.matrix(step, layer: layer, head: 0))
                let error = relativeError(mine, slice(reference, layer: index))
                #expect(error <= 2e-3, "\(name) \(file) layer \(layer): relative error \(error)")
            }
        }
        // Query-head steps (4, 9, T, ·), and key/value-head steps (4, 3, T, 64) checked through
        // the first query head of each group.
        let headSteps: [(String, Step)] = [
            ("q_prerope", .queriesBeforeRotation), ("q", .q), ("scores", .scores), ("scaled", .scaled),
            ("masked", .masked), ("weights", .weights), ("z", .z),
        ]
        for (file, step) in headSteps {
            let reference = try prompt.array(file)
            for (index, layer) in layers.enumerated() {
                for head in 0..<c.attentionHeads {
                    let mine = try #require(trace.matrix(step, layer: layer, head: head))
                    let error = relativeError(mine, slice(reference, layer: index, head: head))
                    #expect(error <= 2e-3, "\(name) \(file) layer \(layer) head \(head): relative error \(error)")
                }
            }
        }
        for (file, step) in [("k_prerope", Step.keysBeforeRotation), ("k", .k), ("v", .v)] {
            let reference = try prompt.array(file)
            for (index, layer) in layers.enumerated() {
                for group in 0..<c.keyValueHeads {
                    let mine = try #require(trace.matrix(step, layer: layer, head: group * c.groupSize))
                    let error = relativeError(mine, slice(reference, layer: index, head: group))
                    #expect(error <= 2e-3, "\(name) \(file) layer \(layer) kv head \(group): relative error \(error)")
                }
            }
        }
        // Attention weights of every head of every layer, and every layer's output.
        let weightsAll = try prompt.array("weights_all"), outAll = try prompt.array("out_all")
        for layer in 0..<c.hiddenLayers {
            for head in 0..<c.attentionHeads {
                let error = relativeError(trace.layers[layer].heads[head].weights, slice(weightsAll, layer: layer, head: head))
                #expect(error <= 2e-3, "\(name) weights layer \(layer) head \(head): \(error)")
            }
            let error = relativeError(trace.layers[layer].out, slice(outAll, layer: layer))
            #expect(error <= 2e-3, "\(name) out layer \(layer): \(error)")
        }
    }

    @Test("the causal mask: −∞ above the diagonal before the softmax, exactly 0 after")
    func causal() throws {
        let llama = try RealDecoder.load()
        let trace = llama.trace(ids: try #require(ReferencePrompt.all.first).ids)
        for layer in trace.layers {
            for head in layer.heads.map({ $0.tokenByToken() }) {
                for i in 0..<head.masked.rows {
                    for j in (i + 1)..<head.masked.columns {
                        #expect(head.masked[i, j] == -.infinity)
                        #expect(head.weights[i, j] == 0)
                    }
                }
            }
        }
    }

    @Test("RoPE's frequencies and angles equal the model's")
    func rope() throws {
        let llama = try RealDecoder.load()
        let prompt = try #require(ReferencePrompt.all.first)
        let rotation = Rotation(headDimension: 64, base: llama.configuration.ropeBase, positions: 0..<prompt.ids.count)
        let frequencies = try prompt.array("rope_inv_freq").values
        #expect(relativeError(Matrix(rows: 1, columns: 32, values: rotation.frequencies),
                              Matrix(rows: 1, columns: 32, values: frequencies)) <= 1e-6)
        let cos = try prompt.array("rope_cos")
        let reference = Matrix(rows: cos.shape[0], columns: cos.shape[1], values: cos.values).columns(0..<32)
        #expect(rotation.cosines.maxAbsoluteDifference(reference) ?? 1 <= 1e-5)
    }

    @Test("the last position's logits, top-5 and greedy continuation equal the reference", arguments: ReferencePrompt.all.map(\.name))
    func nextToken(name: String) throws {
        let llama = try RealDecoder.load()
        let prompt = try #require(ReferencePrompt.all.first { $0.name == name })
        let trace = llama.trace(ids: prompt.ids)
        let logits = try #require(trace.logits)
        let last = logits.rows((logits.rows - 1)..<logits.rows)
        let reference = try prompt.array("logits_last")
        #expect(relativeError(last, Matrix(rows: 1, columns: reference.values.count, values: reference.values)) <= 2e-3)
        let top = topTokens(logits: last.values, count: 5, temperature: 1)
        #expect(top.map(\.id) == prompt.top5.map(\.id))
        for (mine, theirs) in zip(top, prompt.top5) { #expect(abs(mine.probability - theirs.prob) <= 2e-3) }
        // Greedy decoding with the KV cache, without stopping at end-of-sequence.
        var produced: [Int] = []
        var cache = KeyValueCache(layers: llama.configuration.hiddenLayers)
        var next = llama.forward(prompt.ids, cache: &cache)
        for _ in 0..<12 {
            let id = next.indices.max { next[$0] < next[$1] } ?? 0
            produced.append(id)
            next = llama.forward([id], cache: &cache)
        }
        #expect(produced == prompt.argmax12_ids)
        // And the cached path's logits equal the full forward pass's.
        var fresh = KeyValueCache(layers: llama.configuration.hiddenLayers)
        let cached = llama.forward(prompt.ids, cache: &fresh)
        #expect(Matrix(rows: 1, columns: cached.count, values: cached).maxAbsoluteDifference(last) ?? 1 <= 1e-3)
    }
}
