import AttnCore
import Foundation
import Testing

/// The tiny GPT-2 and BERT checkpoints that transformers built with random weights
/// (Tests/Reference/tiny_checkpoints.py), in the Hugging Face cache layout, with every step
/// transformers computed on three sentences each.
enum TinyCheckpoint {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    /// The hub cache the tests point `HF_HUB_CACHE` at.
    static let hubCache = fixtures + "/hub"
    static let environment = ["HF_HUB_CACHE": hubCache]

    static let gpt2Names = ["gpt2", "gpt2-bf16", "gpt2-sharded"]
    static let bertNames = ["bert", "bert-bf16", "bert-sharded"]
    static let names = gpt2Names + bertNames

    /// What transformers recorded for one checkpoint.
    struct Reference: Decodable {
        struct Sentence: Decodable {
            let name: String
            let text: String
            let ids: [Int]
            let greedy_ids: [Int]?
            let argmax10_ids: [Int]?
        }
        let repo: String
        let checkpoint_dtype: String
        let sentences: [Sentence]
    }

    static func reference(_ name: String) throws -> Reference {
        let path = "\(fixtures)/tiny/\(name)/sentences.json"
        let data = try #require(FileManager.default.contents(atPath: path), "no \(path)")
        return try JSONDecoder().decode(Reference.self, from: data)
    }

    /// The checkpoint's snapshot directory, found by its repository id as `model NAME` finds it.
    static func snapshot(_ name: String) throws -> String {
        let found = try #require(try HubCache.snapshot(of: "attn-tiny/\(name)", environment: environment))
        return found.directory
    }

    /// The model, opened as the architecture its config.json declares.
    static func open(_ name: String) throws -> any TransformerModel {
        let directory = try snapshot(name)
        return try ModelSource.hubCheckpoint(name: name, id: "attn-tiny/\(name)", directory: directory).open(directory)
    }

    /// A step's array as transformers wrote it.
    static func array(_ name: String, _ sentence: String, _ step: String) throws -> (shape: [Int], values: [Float]) {
        try NumPyFile.read(path: "\(fixtures)/tiny/\(name)/\(sentence)/\(step).npy")
    }
}

/// max |Δ| / max |reference| over the finite cells; an infinite reference cell (a masked score)
/// must be the same infinity.
func stepError(_ mine: Matrix, _ reference: Matrix) -> Float {
    guard mine.rows == reference.rows, mine.columns == reference.columns else { return .infinity }
    var difference: Float = 0, largest: Float = 0
    for (a, b) in zip(mine.values, reference.values) {
        if b.isInfinite {
            if a != b { return .infinity }
            continue
        }
        guard a.isFinite else { return .infinity }
        difference = max(difference, abs(a - b))
        largest = max(largest, abs(b))
    }
    return difference / max(largest, 1e-30)
}

@Suite("Tiny GPT-2 and BERT checkpoints match Hugging Face transformers, step by step")
struct TinyCheckpointTests {
    @Test("each checkpoint opens by name from the hub cache, as the architecture its config declares",
          arguments: TinyCheckpoint.names)
    func opens(name: String) throws {
        let model = try TinyCheckpoint.open(name)
        #expect(model.architecture == (name.hasPrefix("gpt2") ? "GPT-2 decoder" : "BERT encoder"))
        #expect(model.sizes.layers == 3)
        #expect(model.sizes.headDimension == 12)
        #expect(try TinyCheckpoint.reference(name).repo == "attn-tiny/\(name)")
    }

    @Test("token ids equal the reference", arguments: TinyCheckpoint.names)
    func tokens(name: String) throws {
        let model = try TinyCheckpoint.open(name)
        for sentence in try TinyCheckpoint.reference(name).sentences {
            #expect(try model.trace(sentence.text, ablating: []).tokenIds == sentence.ids, "\(name) \(sentence.name)")
        }
    }

    @Test("every step of every layer and head is within tolerance: 1e-4 for the weights, 1e-3 elsewhere",
          arguments: TinyCheckpoint.names)
    func steps(name: String) throws {
        let model = try TinyCheckpoint.open(name)
        let sizes = model.sizes
        for sentence in try TinyCheckpoint.reference(name).sentences {
            let trace = model.trace(ids: sentence.ids, ablating: [])
            for step in model.steps {
                let reference = try TinyCheckpoint.array(name, sentence.name, step.rawValue)
                let tolerance: Float = step == .weights ? 1e-4 : 1e-3
                let layers = step.scope == .sentence ? [nil] : (0..<sizes.layers).map(Optional.some)
                let heads = step.scope == .head ? (0..<sizes.heads).map(Optional.some) : [nil]
                for layer in layers {
                    for head in heads {
                        let mine = try #require(trace.matrix(step, layer: layer ?? 0, head: head ?? 0), "\(step)")
                        let error = stepError(mine, slice(reference, layer: layer, head: head))
                        #expect(error <= tolerance,
                                "\(name) \(sentence.name) \(step.rawValue) layer \(layer ?? 0) head \(head ?? 0): relative error \(error)")
                    }
                }
            }
        }
    }

    @Test("greedy decoding with the KV cache writes transformers' continuation", arguments: TinyCheckpoint.gpt2Names)
    func greedy(name: String) throws {
        let model = try #require(try TinyCheckpoint.open(name) as? any DecoderModel)
        for sentence in try TinyCheckpoint.reference(name).sentences {
            let expected = try #require(sentence.greedy_ids)
            let produced = model.generateGreedy(prompt: sentence.ids, count: 10) { _ in true }
            #expect(produced == expected, "\(name) \(sentence.name)")
        }
    }

    @Test("the cached forward pass gives the trace's logits, one token at a time", arguments: TinyCheckpoint.gpt2Names)
    func cache(name: String) throws {
        let model = try #require(try TinyCheckpoint.open(name) as? any DecoderModel)
        let ids = try #require(try TinyCheckpoint.reference(name).sentences.max { $0.ids.count < $1.ids.count }).ids
        let logits = try #require(model.trace(ids: ids, ablating: []).logits)
        var cache = KeyValueCache(layers: model.sizes.layers)
        for (position, id) in ids.enumerated() {
            let row = model.forward([id], cache: &cache, ablating: [])
            let expected = logits.rows(position..<(position + 1))
            #expect(stepError(Matrix(rows: 1, columns: row.count, values: row), expected) <= 1e-5, "position \(position)")
        }
    }

    @Test("a snapshot copied to a plain directory (files, not links) opens the same", arguments: TinyCheckpoint.names)
    func plainDirectory(name: String) throws {
        let snapshot = try TinyCheckpoint.snapshot(name)
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("attn-plain-\(name)-\(getpid())").path
        try? FileManager.default.removeItem(atPath: copy)
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        for file in try FileManager.default.contentsOfDirectory(atPath: snapshot) {
            let data = try #require(FileManager.default.contents(atPath: snapshot + "/" + file))
            #expect(FileManager.default.createFile(atPath: copy + "/" + file, contents: data))
        }
        let source = try ModelSource.checkpoint(name: name, title: name, location: copy, origin: .path)
        let copied = try source.open(copy), original = try TinyCheckpoint.open(name)
        let sentence = try #require(try TinyCheckpoint.reference(name).sentences.first)
        let a = copied.trace(ids: sentence.ids, ablating: []), b = original.trace(ids: sentence.ids, ablating: [])
        #expect(a.layers.last?.out == b.layers.last?.out)
    }
}
