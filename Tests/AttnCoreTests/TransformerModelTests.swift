import AttnCore
import Foundation
import Testing

/// What the notebook asks of every model (``TransformerModel``), checked on the real MiniLM and
/// SmolLM2 the same way: a new architecture passes these or is not done.
@Suite("The model protocol: both real models and the tiny GPT-2 answer it alike")
struct TransformerModelTests {
    static let sentence = "The cat sat on the mat."

    static func models() throws -> [any TransformerModel] {
        [try RealModel.load(), try RealDecoder.load(), try RealGemma.load(), try TinyCheckpoint.open("gpt2")]
    }

    @Test("each source opens its own architecture, and the sizes are the configuration's")
    func sourcesAndSizes() throws {
        #expect(ModelSource.all.map(\.name) == ["minilm", "smollm2", "gemma3"])
        let bert = try RealModel.load(), llama = try RealDecoder.load(), gemma = try RealGemma.load()
        #expect(ModelSource.all.map { $0.architecture.architecture } == ["BERT encoder", "Llama decoder", "Gemma 3 decoder"])
        #expect(gemma.sizes == ModelSizes(layers: 18, heads: 4, keyValueHeads: 1, headDimension: 256, modelDimension: 640,
                                          feedForwardDimension: 2048, vocabulary: 262_144, context: 32_768))
        #expect(gemma.sizes.groupSize == 4 && gemma.isCausal && gemma.normalizationEpsilon == 1e-6)
        #expect((gemma.attentionWindow(layer: 4), gemma.attentionWindow(layer: 5), llama.attentionWindow(layer: 4)) == (512, nil, nil))
        #expect((gemma.ropeBase(layer: 4), gemma.ropeBase(layer: 5), llama.ropeBase(layer: 4)) == (10_000, 1_000_000, 100_000))
        #expect(bert.sizes == ModelSizes(layers: 6, heads: 12, keyValueHeads: 12, headDimension: 32, modelDimension: 384,
                                         feedForwardDimension: 1536, vocabulary: 30522, context: 512))
        #expect(llama.sizes == ModelSizes(layers: 30, heads: 9, keyValueHeads: 3, headDimension: 64, modelDimension: 576,
                                          feedForwardDimension: 1536, vocabulary: 49152, context: 8192))
        #expect(bert.sizes.groupSize == 1 && llama.sizes.groupSize == 3)
        #expect(!bert.isCausal && llama.isCausal)
        #expect(bert.normalizationEpsilon == 1e-12 && llama.normalizationEpsilon == 1e-5)
        // Opening checks what the location is before reading it.
        #expect(throws: AttnError.self) { try Bert(opening: "/nonexistent/minilm") }
        #expect(throws: AttnError.self) { try Llama(opening: "/nonexistent/smollm2.gguf") }
        #expect(throws: AttnError.self) { try ModelSource.minilm.open(RealDecoder.path) }  // a file, not a directory
    }

    @Test("a trace holds exactly the steps the model lists, each with its provenance where it reads a tensor")
    func stepsAndProvenance() throws {
        for model in try Self.models() {
            let trace = try model.trace(Self.sentence, ablating: [])
            #expect(trace.isCausal == model.isCausal)
            for step in Step.allCases {
                // Nothing else: GPT-2's ln_1 fills the field Llama's rmsnorm does, and neither
                // answers to the other's name.
                #expect((trace.matrix(step, layer: 1, head: 2) != nil) == model.steps.contains(step), "\(model.architecture): \(step)")
            }
            for step in [Step.q, .k, .v] {
                let lines = model.provenance(of: step, layer: 1, head: 2)
                let tensor = ["Llama decoder": "blk.1.attn_", "Gemma 3 decoder": "blk.1.attn_", "BERT encoder": "encoder.layer.1.attention.self.",
                              "GPT-2 decoder": "transformer.h.1.attn.c_attn.weight[:, "][model.architecture] ?? "?"
                #expect(lines.joined().contains(tensor),
                        "\(model.architecture) \(step): \(lines)")
            }
        }
    }

    @Test("provenance names how the GGUF stores a tensor, from the file, not from a constant")
    func storedTypes() throws {
        let llama = try RealDecoder.load()
        #expect(llama.storedTypes["token_embd.weight"] == .q8_0)
        #expect(llama.storedTypes["blk.0.attn_q.weight"] == .q4_1)
        #expect(llama.provenance(of: .embeddings, layer: 0, head: 0).first?.hasSuffix(", Q8_0") == true)
        #expect(llama.provenance(of: .q, layer: 3, head: 1).joined().contains("(Q4_1; rows put back"))
    }

    @Test("every name a model binds for the math resolves, in the math's orientation: X @ W_Q (+ b_Q) is Q")
    func boundNames() throws {
        for model in try Self.models() {
            let trace = try model.trace(Self.sentence, ablating: [])
            let (layer, head) = (1, 2)
            for name in model.boundNames {
                #expect(model.weight(named: name, layer: layer, head: head, trace: trace) != nil || traceNames.contains(name),
                        "\(model.architecture): \(name)")
            }
            #expect(Set(traceNames).isSubset(of: model.boundNames))
            #expect(model.weight(named: "no_such_name", layer: layer, head: head, trace: trace) == nil)
            let h = trace.layers[layer].heads[head]
            // The projection the model computed, recomputed from the bound weight.
            let input = model.weight(named: "H", layer: layer, head: head, trace: trace) ?? trace.layers[layer].x
            var q = input.multiplied(by: try #require(model.weight(named: "W_Q", layer: layer, head: head, trace: trace)))
            if let bias = model.weight(named: "b_Q", layer: layer, head: head, trace: trace) {
                for r in 0..<q.rows { for c in 0..<q.columns { q[r, c] += bias[0, c] } }
            }
            let expected = h.queriesBeforeRotation ?? h.q
            #expect((q.maxAbsoluteDifference(expected) ?? .infinity) < 1e-3, "\(model.architecture)")
        }
    }

    @Test("a decoder generates through the protocol: the logits of forward are the trace's last row")
    func decoder() throws {
        for decoder in [try RealDecoder.load(), try RealGemma.load()] as [any DecoderModel] {
            try expectGenerates(decoder)
        }
    }

    func expectGenerates(_ decoder: any DecoderModel) throws {
        let trace = try decoder.trace(Self.sentence, ablating: [])
        var cache = KeyValueCache(layers: decoder.sizes.layers)
        let logits = decoder.forward(trace.tokenIds, cache: &cache, ablating: [])
        let last = try #require(trace.logits).row(trace.count - 1)
        #expect(zip(logits, last).map { abs($0 - $1) }.max() ?? .infinity < 1e-3)
        #expect(cache.count == trace.count)
        let greedy = decoder.generate(prompt: trace.tokenIds, count: 3) { _ in }
        #expect(greedy.first == topTokens(logits: last, count: 1, temperature: 1).first?.id)
        // Gemma's input starts with <bos>, which is no part of the text.
        let bos = decoder.tokenizer.addsBeginningToken ? 1 : 0
        #expect(trace.tokenIds.first == (bos == 1 ? decoder.tokenizer.bosId : trace.tokenIds.first))
        #expect(decoder.text(of: Array(trace.tokenIds.dropFirst(bos))) == Self.sentence)
    }
}

/// The T × T steps a trace shows are computed again when asked for (a trace keeps q, k, v, the
/// mask and z): they must be the very weights the forward pass multiplied by v, bit for bit.
@Suite("The weights shown are the weights the forward pass used")
struct RecomputedStepsTests {
    /// z = weights · v exactly, for every head of every layer: a `weights` that differed in one
    /// bit from the forward pass's would give another z.
    /// The largest magnitude in a matrix, at least 1: the scale of a tolerance for float32 rounding.
    static func largest(_ matrix: Matrix) -> Float {
        matrix.values.reduce(1) { max($0, abs($1)) }
    }

    static func check(_ trace: Trace, _ name: String) {
        for (l, layer) in trace.layers.enumerated() {
            for (h, head) in layer.heads.enumerated() {
                let steps = head.tokenByToken()
                #expect(Attention.weightedSum(weights: steps.weights, values: head.v, mask: head.mask).values == head.z.values, "\(name) L\(l)H\(h)")
                #expect(Attention.weights(Attention.mask(Attention.scale(steps.scores, headDimension: head.q.columns), head.mask)).values
                        == steps.weights.values, "\(name) L\(l)H\(h)")
            }
        }
    }

    @Test("MiniLM, SmolLM2 and Gemma 3 (its local and global layers): z = weights · v to the bit")
    func zFromShownWeights() throws {
        Self.check(try RealModel.load().trace(ids: [101, 1996, 4937, 2938, 2006, 1996, 13523, 102]), "minilm")
        let llama = try RealDecoder.load()
        Self.check(llama.trace(ids: llama.inputIds("The capital of France is Paris, and the capital of Italy is")), "smollm2")
        let gemma = try RealGemma.load()
        Self.check(gemma.trace(ids: gemma.inputIds("The capital of France is Paris, and the capital of Italy is")), "gemma3")
    }

    @Test("a long sentence, computed in blocks of queries: z = weights · v to the bit, and the whole-matrix z within float rounding")
    func longSentenceInBlocks() throws {
        // 300 tokens is two blocks under SmolLM2's causal mask; 530 reach past Gemma 3's 512-token
        // window, whose later blocks start at a key after 0.
        let llama = try RealDecoder.load()
        let gemma = try RealGemma.load()
        for (decoder, count, name) in [(llama as any DecoderModel, 300, "smollm2"), (gemma, 530, "gemma3")] {
            let ids = Array(decoder.inputIds(String(repeating: "The capital of France is Paris, and the river is long. ", count: 60)).prefix(count))
            #expect(ids.count == count)
            let trace = decoder.trace(ids: ids, ablating: [])
            for l in [0, trace.layers.count - 1] {
                let layer = trace.layers[l]
                for (h, head) in layer.heads.enumerated() where h == 0 || h == layer.heads.count - 1 {
                    let steps = head.tokenByToken()
                    #expect(Attention.blocks(queries: count, keys: count, mask: head.mask).count == (count + 255) / 256)
                    #expect(Attention.weightedSum(weights: steps.weights, values: head.v, mask: head.mask).values == head.z.values, "\(name) L\(l)H\(h)")
                    #expect(Attention.weights(Attention.mask(Attention.scale(steps.scores, headDimension: head.q.columns), head.mask)).values
                            == steps.weights.values, "\(name) L\(l)H\(h)")
                    // The whole T × T in single products, as before blocks: the same numbers within
                    // float32 rounding, relative to the largest value (Gemma 3's z reach 69, where one
                    // unit in the last place is 7.6e-6; another kernel sums in another order).
                    let whole = head.q.multiplied(by: head.k, transposeB: true)
                    #expect(try #require(whole.maxAbsoluteDifference(steps.scores)) <= 4e-6 * Self.largest(whole), "\(name) L\(l)H\(h)")
                    let z = steps.weights.multiplied(by: head.v)
                    #expect(try #require(z.maxAbsoluteDifference(head.z)) <= 4e-6 * Self.largest(z), "\(name) L\(l)H\(h)")
                    // Every masked cell's weight is exactly 0, every row sums to 1.
                    for i in stride(from: 0, to: count, by: 37) {
                        let row = steps.weights.row(i)
                        #expect(row.indices.allSatisfy { head.mask.allows(query: i, key: $0) || row[$0] == 0 })
                        #expect(abs(row.reduce(0, +) - 1) < 1e-4)
                    }
                }
            }
        }
    }

    @Test("the steps a trace computes again when shown (h, q and k before RoPE, concat, ffn_norm) are the forward pass's, to the bit")
    func vectorStepsAgain() throws {
        let llama = try RealDecoder.load()
        // 300 tokens: two blocks of queries, and products past the quantized kernel's 64 rows.
        for ids in [llama.inputIds("The capital of France is"),
                    Array(llama.inputIds(String(repeating: "The capital of France is Paris. ", count: 60)).prefix(300))] {
            let trace = llama.trace(ids: ids)
            let c = llama.configuration
            let rotation = Rotation(headDimension: c.headDimension, base: c.ropeBase, positions: 0..<ids.count)
            for (l, layer) in trace.layers.enumerated() {
                let w = llama.weights.layers[l]
                let h = try #require(layer.attentionInput)
                #expect(h.values == rmsNorm(layer.x, gain: w.attentionNorm, epsilon: c.rmsNormEpsilon).values, "layer \(l)")
                for (i, head) in layer.heads.enumerated() where i % 4 == 0 {
                    #expect(head.isRotated)
                    #expect(rotation.apply(try #require(head.queriesBeforeRotation)).values == head.q.values, "layer \(l) head \(i)")
                    #expect(rotation.apply(try #require(head.keysBeforeRotation)).values == head.k.values, "layer \(l) head \(i)")
                }
                #expect(layer.concat.multiplied(byTransposeOf: w.output).values == layer.attentionOutput.values, "layer \(l)")
                let residual = try #require(layer.attentionResidual)
                #expect(try #require(layer.feedForwardInput).values
                        == rmsNorm(residual, gain: w.feedForwardNorm, epsilon: c.rmsNormEpsilon).values, "layer \(l)")
            }
        }
    }

    @Test("SmolLM2's feed-forward steps, computed again, are the ones its ffn_out came from, to the bit")
    func feedForwardAgain() throws {
        let llama = try RealDecoder.load()
        let trace = llama.trace(ids: llama.inputIds("The capital of France is"))
        for (l, layer) in trace.layers.enumerated() {
            let steps = trace.feedForwardSteps(layer: l)
            let w = llama.weights.layers[l]
            #expect(steps.activation.multiplied(byTransposeOf: w.down).values == layer.feedForwardOutput.values, "layer \(l)")
            let gate = try #require(steps.gate), up = try #require(steps.up)
            #expect(gate.columns == llama.sizes.feedForwardDimension && up.rows == trace.count)
            #expect(trace.matrix(.feedForwardActivation, layer: l, head: 0)?.values == steps.activation.values)
        }
    }

    @Test("a trace keeps the last heads shown, and gives the same steps again")
    func recentHeads() throws {
        let trace = try RealModel.load().trace(ids: [101, 1996, 4937, 2938, 2006, 1996, 13523, 102])
        let first = trace.tokenByToken(layer: 2, head: 7)
        _ = trace.tokenByToken(layer: 0, head: 0)
        let again = trace.tokenByToken(layer: 2, head: 7)
        #expect(first.weights.values == again.weights.values && first.scores.values == again.scores.values)
        #expect(trace.matrix(.weights, layer: 2, head: 7)?.values == first.weights.values)
    }
}

@Suite("A key/value cache's prefix is the cache of the first tokens alone")
struct CachePrefixTests {
    @Test("SmolLM2 and Gemma 3: a pass from the prefix of a longer run gives the logits of a fresh pass")
    func prefix() throws {
        let llama = try RealDecoder.load()
        let gemma = try RealGemma.load()
        for decoder in [llama as any DecoderModel, gemma] {
            let ids = decoder.inputIds("The capital of France is Paris, and the capital of Italy is")
            var full = KeyValueCache(layers: decoder.sizes.layers)
            _ = decoder.forward(ids, cache: &full, ablating: [])
            #expect(full.count == ids.count)
            for n in [0, 1, 5, ids.count - 1] {
                var cache = try #require(full.prefix(n))
                #expect(cache.count == n)
                let resumed = decoder.forward(Array(ids[n...]), cache: &cache, ablating: [])
                var fresh = KeyValueCache(layers: decoder.sizes.layers)
                let expected = decoder.forward(ids, cache: &fresh, ablating: [])
                let scale = expected.map(abs).max() ?? 1
                #expect(zip(resumed, expected).allSatisfy { abs($0 - $1) <= 1e-4 * scale }, "\(decoder.sizes.layers) layers, prefix \(n)")
            }
            #expect(full.prefix(ids.count + 1) == nil && full.prefix(-1) == nil)
        }
    }
}
