import AttnCore
import Foundation
import Testing

/// A tiny checkpoint copied into a scratch directory (files, not links), to be broken on purpose.
struct CheckpointCopy {
    let path: String

    init(_ name: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("attn-broken-\(name)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let snapshot = try TinyCheckpoint.snapshot(name)
        for file in try FileManager.default.contentsOfDirectory(atPath: snapshot) {
            let data = try #require(FileManager.default.contents(atPath: snapshot + "/" + file))
            try data.write(to: URL(fileURLWithPath: path + "/" + file))
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Rewrites a JSON file of the copy.
    func edit(_ file: String, _ change: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: path + "/" + file)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    /// The error opening the copy gives, as the learner reads it.
    func failure() -> String? {
        do {
            _ = try ModelSource.checkpoint(name: "broken", title: "broken", location: path, origin: .path).open(path)
            return nil
        } catch {
            return "\(error)"
        }
    }
}

@Suite("Untrusted checkpoints: a GPT-2 config.json or a shard index that attn cannot compute is one clear line")
struct UntrustedCheckpointTests {
    @Test("GPT-2 configurations attn does not compute exactly are refused, naming the key", arguments: [
        ("activation_function", "\"swish\"", "activation_function is swish; attn computes gelu, gelu_new, relu"),
        ("scale_attn_by_inverse_layer_idx", "true", "scale_attn_by_inverse_layer_idx is true; attn does not compute that variant"),
        ("scale_attn_weights", "false", "scale_attn_weights is false; attn divides scores by √dₕ"),
        ("tie_word_embeddings", "false", "tie_word_embeddings is false; attn computes GPT-2 with the output tied to wte"),
        ("n_head", "7", "n_embd 60 is not a multiple of n_head 7"),
        ("n_layer", "0", "n_layer is 0, outside 1…256"),
        ("layer_norm_epsilon", "2.0", "layer_norm_epsilon is 2.0, outside 0 < ε < 1"),
    ])
    func configuration(key: String, json: String, reason: String) throws {
        let copy = try CheckpointCopy("gpt2")
        defer { copy.remove() }
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        try copy.edit("config.json") { $0[key] = value }
        let failure = try #require(copy.failure())
        #expect(failure == "\(copy.path)/config.json is not a usable model configuration: \(reason)", "\(failure)")
    }

    @Test("a GPT-2 whose file lacks a tensor or has one too many names it")
    func tensors() throws {
        let copy = try CheckpointCopy("gpt2")
        defer { copy.remove() }
        try copy.edit("config.json") { $0["n_layer"] = 4 }
        #expect(copy.failure() == "\(copy.path)/model.safetensors has no tensor transformer.h.3.ln_1.weight: is this the right checkpoint?", "\(copy.failure() ?? "")")
        try copy.edit("config.json") { $0["n_layer"] = 2 }
        #expect(copy.failure()?.contains("transformer.h.2.") == true, "\(copy.failure() ?? "")")
    }

    @Test("a shard index that leaves the directory, names a missing shard or disagrees with its shards is refused")
    func shardIndex() throws {
        let copy = try CheckpointCopy("gpt2-sharded")
        defer { copy.remove() }
        let index = SafeTensorsCheckpoint.indexFile
        #expect(copy.failure() == nil)

        try copy.edit(index) { object in
            var map = object["weight_map"] as? [String: Any] ?? [:]
            map["wte.weight"] = "../model-00001-of-00003.safetensors"
            object["weight_map"] = map
        }
        #expect(copy.failure() == "\(copy.path)/\(index) is not a usable model configuration: weight_map's wte.weight names \"../model-00001-of-00003.safetensors\", which is not a .safetensors file in the same directory")

        try copy.edit(index) { object in
            var map = object["weight_map"] as? [String: Any] ?? [:]
            map["wte.weight"] = "model-00002-of-00003.safetensors"  // it is in shard 1
            object["weight_map"] = map
        }
        #expect(copy.failure() == "\(copy.path)/model-00002-of-00003.safetensors has no tensor wte.weight: is this the right checkpoint?", "\(copy.failure() ?? "")")

        try copy.edit(index) { object in
            var map = object["weight_map"] as? [String: Any] ?? [:]
            map["wte.weight"] = nil
            object["weight_map"] = map
        }
        #expect(copy.failure() == "\(copy.path)/\(index) is not a usable model configuration: wte.weight is in model-00001-of-00003.safetensors but not in the weight_map")

        try copy.edit(index) { $0["weight_map"] = ["wte.weight": "model-00009-of-00009.safetensors"] }
        #expect(copy.failure()?.hasPrefix("cannot read \(copy.path)/model-00009-of-00009.safetensors") == true, "\(copy.failure() ?? "")")

        try copy.edit(index) { $0["weight_map"] = [:] as [String: Any] }
        #expect(copy.failure() == "\(copy.path)/\(index) is not a usable model configuration: it has no weight_map of tensor names to shard files")

        try FileManager.default.removeItem(atPath: copy.path + "/" + index)
        #expect(copy.failure() == "cannot read \(copy.path)/model.safetensors: there is no such file, and no \(index) beside it")
    }

    @Test("a vocab_size that disagrees with the rows of wte names the tensor")
    func vocabulary() throws {
        let copy = try CheckpointCopy("gpt2")
        defer { copy.remove() }
        try copy.edit("config.json") { $0["vocab_size"] = 999 }
        let failure = try #require(copy.failure())
        #expect(failure.contains("wte.weight"), "\(failure)")  // the table's shape no longer matches first
    }
}
