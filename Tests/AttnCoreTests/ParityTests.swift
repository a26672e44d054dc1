import AttnCore
import Foundation
import Testing

/// The real all-MiniLM-L6-v2, loaded once for every test that needs it.
///
/// `make test` fetches the weights first; without them these tests fail and say how to get them.
enum RealModel {
    static let directory = ModelStore.directory(for: .minilm)

    static let bert: Result<Bert, Error> = Result { try Bert(directory: directory) }

    static func load() throws -> Bert {
        switch bert {
        case let .success(bert): return bert
        case let .failure(error):
            Issue.record("the real MiniLM weights are needed (run `make test`, which fetches them, or `attn fetch`): \(error)")
            throw error
        }
    }
}

/// Reference data produced once by Hugging Face transformers (Tests/Reference/minilm_steps.py).
struct ReferenceSentence: Decodable {
    let name: String
    let text: String
    let ids: [Int]
    let tokens: [String]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/minilm").path

    static let all: [ReferenceSentence] = {
        struct File: Decodable { let sentences: [ReferenceSentence] }
        guard let data = FileManager.default.contents(atPath: directory + "/sentences.json"),
              let file = try? JSONDecoder().decode(File.self, from: data) else { return [] }
        return file.sentences
    }()

    /// A step's array: shape and values in C order.
    func array(_ step: String) throws -> (shape: [Int], values: [Float]) {
        try NumPyFile.read(path: "\(Self.directory)/\(name)/\(step).npy")
    }
}

/// The reference's slice for one layer (and head) of a stacked array, as a matrix.
func slice(_ array: (shape: [Int], values: [Float]), layer: Int? = nil, head: Int? = nil) -> Matrix {
    var shape = array.shape, offset = 0
    var size = shape.reduce(1, *)
    for index in [layer, head].compactMap({ $0 }) {
        size /= shape[0]
        offset += index * size
        shape.removeFirst()
    }
    return Matrix(rows: shape[0], columns: shape[1], values: Array(array.values[offset..<(offset + size)]))
}

/// The issue's measure: max |Δ| / max |reference|.
func relativeError(_ mine: Matrix, _ reference: Matrix) -> Float {
    guard let difference = mine.maxAbsoluteDifference(reference) else { return .infinity }
    return difference / max(reference.maxAbsolute, 1e-30)
}

@Suite("MiniLM matches Hugging Face transformers, step by step")
struct ParityTests {
    @Test("the fixtures are present: three sentences")
    func fixtures() {
        #expect(ReferenceSentence.all.count == 3)
    }

    @Test("token ids equal the reference", arguments: ReferenceSentence.all.map(\.name))
    func tokens(name: String) throws {
        let bert = try RealModel.load()
        let sentence = try #require(ReferenceSentence.all.first { $0.name == name })
        let trace = try bert.trace(sentence.text)
        #expect(trace.tokenIds == sentence.ids)
        #expect(trace.tokens == sentence.tokens)
    }

    @Test("every step of every layer and head is within tolerance", arguments: ReferenceSentence.all.map(\.name))
    func steps(name: String) throws {
        let bert = try RealModel.load()
        let sentence = try #require(ReferenceSentence.all.first { $0.name == name })
        let trace = bert.trace(ids: sentence.ids)
        let c = bert.configuration

        let embeddings = try sentence.array("embeddings")
        #expect(relativeError(trace.embeddings, Matrix(rows: embeddings.shape[0], columns: embeddings.shape[1],
                                                       values: embeddings.values)) <= 1e-3)

        // Layer steps: (layers, T, D).
        let layerSteps: [(String, Step)] = [
            ("x", .x), ("concat", .concat), ("attn_out", .attentionOutput), ("attn_norm", .attentionNorm),
            ("ffn_hidden", .feedForwardHidden), ("ffn_act", .feedForwardActivation),
            ("ffn_out", .feedForwardOutput), ("out", .out),
        ]
        for (file, step) in layerSteps {
            let reference = try sentence.array(file)
            for layer in 0..<c.hiddenLayers {
                let mine = try #require(trace.matrix(step, layer: layer, head: 0))
                let error = relativeError(mine, slice(reference, layer: layer))
                #expect(error <= 1e-3, "\(name) \(file) layer \(layer): relative error \(error)")
            }
        }

        // Head steps: (layers, heads, T, d); the weights have the tighter tolerance.
        let headSteps: [(String, Step, Float)] = [
            ("q", .q, 1e-3), ("k", .k, 1e-3), ("v", .v, 1e-3), ("scores", .scores, 1e-3),
            ("scaled", .scaled, 1e-3), ("masked", .masked, 1e-3), ("weights", .weights, 1e-4), ("z", .z, 1e-3),
        ]
        for (file, step, tolerance) in headSteps {
            let reference = try sentence.array(file)
            for layer in 0..<c.hiddenLayers {
                for head in 0..<c.attentionHeads {
                    let mine = try #require(trace.matrix(step, layer: layer, head: head))
                    let error = relativeError(mine, slice(reference, layer: layer, head: head))
                    #expect(error <= tolerance, "\(name) \(file) layer \(layer) head \(head): relative error \(error)")
                }
            }
        }
    }

    @Test("the forward pass gives the same bits every time, whichever thread runs it and whether or not the second core helps")
    func deterministic() async throws {
        let bert = try RealModel.load()
        let ids = try #require(ReferenceSentence.all.first).ids
        func fingerprint(_ trace: Trace) -> [Matrix] {
            trace.layers.flatMap { layer in [layer.out, layer.feedForwardActivation] + layer.heads.map(\.weights) }
        }
        let first = fingerprint(bert.trace(ids: ids))
        // Four traces at once: one of them has the second core, the others run their halves in turn.
        let others = await withTaskGroup(of: [Matrix].self) { group in
            for _ in 0..<4 { group.addTask { fingerprint(bert.trace(ids: ids)) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(others.count == 4)
        for other in others { #expect(other == first) }
    }

    @Test("the mean-pooled sentence embedding equals the reference")
    func pooled() throws {
        let bert = try RealModel.load()
        let sentence = try #require(ReferenceSentence.all.first)
        let out = bert.trace(ids: sentence.ids).layers.last!.out
        let mean = (0..<out.columns).map { j in out.column(j).reduce(0, +) / Float(out.rows) }
        let reference = try sentence.array("pooled_mean")
        let error = relativeError(Matrix(rows: 1, columns: mean.count, values: mean),
                                  Matrix(rows: 1, columns: reference.values.count, values: reference.values))
        #expect(error <= 1e-3)
    }

    @Test("the real checkpoint holds 103 F32 tensors and the I64 position ids, all accounted for")
    func checkpoint() throws {
        let file = try SafeTensors(path: RealModel.directory + "/model.safetensors")
        #expect(file.entries.values.filter { $0.dtype == .f32 }.count == 103)
        #expect(file.entries["embeddings.position_ids"]?.dtype == .i64)
        #expect(file.entries["encoder.layer.2.attention.self.query.weight"]?.shape == [384, 384])
    }

    @Test("a sentence of more than 512 tokens is a clear error")
    func tooLong() throws {
        let bert = try RealModel.load()
        #expect(throws: AttnError.sequenceTooLong(tokens: 602, limit: 512, context: 512)) {
            try bert.trace(String(repeating: "cat ", count: 600))
        }
    }
}
