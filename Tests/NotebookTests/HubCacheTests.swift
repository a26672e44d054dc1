import AttnCore
import Foundation
@testable import Notebook
import Testing

/// A Hugging Face hub cache as huggingface_hub writes it (blobs, a snapshot of links into them,
/// refs/main), holding the real MiniLM files under a repository id.
struct HubCacheFixture {
    let scratch = ScratchDirectory("hub")
    var cache: String { scratch.path + "/hub" }
    static let commit = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"

    /// Caches MiniLM's real files as the repository `id` (`ORG/NAME`), its config's model_type
    /// replaced when `modelType` is given.
    func add(_ id: String, modelType: String? = nil, ref: String = HubCacheFixture.commit, prefixed: Bool = false) throws {
        let repository = cache + "/models--" + id.replacingOccurrences(of: "/", with: "--")
        let snapshot = repository + "/snapshots/" + Self.commit
        for directory in [repository + "/blobs", snapshot, repository + "/refs"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let minilm = ModelStore.directory(for: .minilm)
        for (index, file) in ["config.json", "model.safetensors", "vocab.txt"].enumerated() {
            let blob = repository + "/blobs/blob\(index)"
            if file == "model.safetensors", prefixed {
                try Self.prefixedCheckpoint(from: minilm + "/" + file).write(to: URL(fileURLWithPath: blob))
            } else if file == "config.json", let modelType {
                let config = try String(contentsOfFile: minilm + "/" + file, encoding: .utf8)
                    .replacingOccurrences(of: "\"model_type\": \"bert\"", with: "\"model_type\": \"\(modelType)\"")
                try config.write(toFile: blob, atomically: true, encoding: .utf8)
            } else {
                try FileManager.default.createSymbolicLink(atPath: blob, withDestinationPath: minilm + "/" + file)
            }
            try FileManager.default.createSymbolicLink(atPath: snapshot + "/" + file, withDestinationPath: "../../blobs/blob\(index)")
        }
        try ref.write(toFile: repository + "/refs/main", atomically: true, encoding: .utf8)
    }

    /// MiniLM's safetensors as BertForMaskedLM saves a BERT: every name under `bert.`, and a
    /// masked-LM head's bias beside them; each weight's bytes unchanged.
    static func prefixedCheckpoint(from path: String) throws -> Data {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = Int(UInt64(littleEndian: data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }))
        let header = try #require(try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        let body = data.subdata(in: (8 + headerLength)..<data.count)
        var renamed: [String: Any] = [:]
        for (name, entry) in header { renamed[name == "__metadata__" ? name : "bert." + name] = entry }
        let vocabulary = 30522
        renamed["cls.predictions.bias"] = ["dtype": "F32", "shape": [vocabulary], "data_offsets": [body.count, body.count + 4 * vocabulary]]
        var json = try JSONSerialization.data(withJSONObject: renamed, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var length = UInt64(json.count).littleEndian
        return Data(bytes: &length, count: 8) + json + body + Data(count: 4 * vocabulary)
    }

    func session() -> Session {
        Session(renderer: MatrixRenderer(width: 80), environment: ["HF_HUB_CACHE": cache, "HOME": scratch.path, "ATTN_MODELS": ModelStore.root()],
                workingDirectory: scratch.path)
    }
}

@Suite("The Hugging Face cache: model NAME opens a checkpoint a learner already has")
struct HubCacheTests {
    @Test("the cache directory follows huggingface_hub's precedence")
    func directory() {
        #expect(HubCache.directory(environment: ["HF_HUB_CACHE": "/a", "HF_HOME": "/b", "XDG_CACHE_HOME": "/c", "HOME": "/d"]) == "/a")
        #expect(HubCache.directory(environment: ["HF_HOME": "/b", "XDG_CACHE_HOME": "/c", "HOME": "/d"]) == "/b/hub")
        #expect(HubCache.directory(environment: ["XDG_CACHE_HOME": "/c", "HOME": "/d"]) == "/c/huggingface/hub")
        #expect(HubCache.directory(environment: ["HF_HUB_CACHE": "", "HOME": "/d"]) == "/d/.cache/huggingface/hub")
    }

    @Test("repository ids: the hub's moved names both ways, and nothing that is a path", arguments: [
        ("gpt2", true), ("openai-community/gpt2", true), ("sentence-transformers/all-MiniLM-L6-v2", true),
        ("../etc", false), ("a/b/c", false), ("..", false), ("a/..", false), ("/abs", false), ("a b", false), ("", false),
    ])
    func repositoryIds(id: String, valid: Bool) {
        #expect(HubCache.isRepositoryId(id) == valid)
        #expect(HubCache.repositoryIds(for: "gpt2") == ["gpt2", "openai-community/gpt2"])
        #expect(HubCache.repositoryIds(for: "google-bert/bert-base-uncased") == ["google-bert/bert-base-uncased", "bert-base-uncased"])
    }

    @Test("model ORG/NAME opens the cached BERT, and its numbers are MiniLM's to the bit")
    func opensByName() throws {
        let fixture = HubCacheFixture()
        defer { fixture.scratch.remove() }
        try fixture.add("sentence-transformers/all-MiniLM-L6-v2")
        let session = fixture.session()
        let reply = try session.execute("model sentence-transformers/all-MiniLM-L6-v2").split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(reply.contains("BERT encoder from the Hugging Face cache (sentence-transformers/all-MiniLM-L6-v2): 6 layers, 12 heads"), "\(reply)")
        #expect(session.prompt.hasPrefix("sentence-transformers/all-MiniLM-L6-v2 L0 H0"))
        _ = try session.execute("sentence the cat sat on the mat")
        let hub = try #require(session.currentTrace)
        let own = try Bert(directory: ModelStore.directory(for: .minilm)).trace("the cat sat on the mat", ablating: [])
        #expect(hub.tokenIds == own.tokenIds)
        #expect(hub.layers[5].heads[3].weights.values == own.layers[5].heads[3].weights.values)
        #expect(try session.execute("weights").contains("[8 × 8]"))
        #expect(HubCache.repositories(environment: ["HF_HUB_CACHE": fixture.cache]) == ["sentence-transformers/all-MiniLM-L6-v2"])
        #expect(session.completions(before: "model ", word: "sent") == .words(["sentence-transformers/all-MiniLM-L6-v2"]))
    }

    @Test("a bare name finds the repository under its moved name")
    func movedName() throws {
        let fixture = HubCacheFixture()
        defer { fixture.scratch.remove() }
        try fixture.add("google-bert/bert-base-uncased")
        let session = fixture.session()
        let reply = try session.execute("model bert-base-uncased").split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(reply.contains("Hugging Face cache (google-bert/bert-base-uncased)"), "\(reply)")
    }

    @Test("a BERT saved with its pre-training head (bert.-prefixed names, a cls. head) opens, its provenance naming the file's tensors")
    func preTrainingCheckpoint() throws {
        let fixture = HubCacheFixture()
        defer { fixture.scratch.remove() }
        try fixture.add("google-bert/bert-base-uncased", prefixed: true)
        let session = fixture.session()
        _ = try session.execute("model bert-base-uncased")
        _ = try session.execute("sentence the cat sat on the mat")
        let shown = try session.execute("q")
        #expect(shown.contains("W_Q = bert.encoder.layer.0.attention.self.query.weight[0…31]ᵀ"), "\(shown)")
        let own = try Bert(directory: ModelStore.directory(for: .minilm)).trace("the cat sat on the mat", ablating: [])
        #expect(try #require(session.currentTrace).layers[5].out.values == own.layers[5].out.values)
    }

    @Test("a refs/main that is a FIFO is refused without being opened, not waited on")
    func fifoRef() throws {
        let fixture = HubCacheFixture()
        defer { fixture.scratch.remove() }
        try fixture.add("sentence-transformers/all-MiniLM-L6-v2")
        let ref = fixture.cache + "/models--sentence-transformers--all-MiniLM-L6-v2/refs/main"
        try FileManager.default.removeItem(atPath: ref)
        #expect(mkfifo(ref, 0o600) == 0)
        #expect(throws: NotebookError.self) { try fixture.session().execute("model sentence-transformers/all-MiniLM-L6-v2") }
    }

    @Test("models lists attn's own models and the cache's checkpoints, with sizes read from their files, and says what it cannot open")
    func models() throws {
        let fixture = HubCacheFixture()
        defer { fixture.scratch.remove() }
        try fixture.add("sentence-transformers/all-MiniLM-L6-v2")
        try fixture.add("google-t5/t5-small", modelType: "t5")
        let listing = try fixture.session().execute("models").split(separator: "\n").map(String.init)
        #expect(listing.first == "models here (model NAME opens one):")
        #expect(listing.contains { $0.hasPrefix("  minilm: BERT encoder, 6 layers × 12 heads, ") && $0.hasSuffix(" MB, the attn cache") })
        #expect(listing.contains { $0.hasPrefix("  smollm2: Llama decoder, 30 layers × 9 heads, ") })
        #expect(listing.contains { $0.hasPrefix("  sentence-transformers/all-MiniLM-L6-v2: BERT encoder, 6 layers × 12 heads, ") })
        #expect(listing.joined(separator: " ").contains("google-t5/t5-small (Hugging Face cache):"))
        #expect(listing.joined(separator: " ").contains("model_type is t5"))
        // Without attn's own files, it says how to fetch them.
        let empty = Session(environment: ["ATTN_MODELS": fixture.scratch.path + "/none", "HF_HUB_CACHE": fixture.scratch.path + "/none"])
        let none = try empty.execute("models").split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(none.contains("minilm is not fetched: attn fetch fetches all-MiniLM-L6-v2"), "\(none)")
        #expect(none.contains("the Hugging Face cache (\(fixture.scratch.path)/none) holds no checkpoints"), "\(none)")
    }

    @Test("what the cache holds badly is one error line, and the previous model stays", arguments: [
        ("t5-small", "t5", HubCacheFixture.commit, "its model_type is t5, and attn opens bert, gpt2 (config.json); gemma3, llama (GGUF)"),
        ("bad-ref", "bert", "../../../../etc", "it does not hold a commit hash"),
        ("missing-snapshot", "bert", "0123456789abcdef0123456789abcdef01234567", "refs/main names a snapshot the cache does not hold"),
    ])
    func badCache(id: String, modelType: String, ref: String, reason: String) throws {
        let fixture = HubCacheFixture()
        defer { fixture.scratch.remove() }
        try fixture.add(id, modelType: modelType, ref: ref)
        let session = fixture.session()
        _ = try session.execute("model minilm")
        do {
            _ = try session.execute("model \(id)")
            Issue.record("model \(id) should fail")
        } catch {
            #expect("\(error)".contains(reason), "\(error)")
        }
        #expect(session.modelName == "minilm")
        #expect(throws: (any Error).self) { try session.execute("model ../\(id)") }
        #expect(session.modelName == "minilm")
    }
}
