import Foundation

/// Reads a decoder's hyper-parameters from GGUF metadata, each checked before anything is
/// allocated for it: the one place ``LlamaConfiguration`` and ``Gemma3Configuration`` read
/// `ARCH.block_count`, `ARCH.attention.layer_norm_rms_epsilon` and the rest from.
struct GGUFMetadataReader {
    let file: GGUFFile
    /// The architecture prefix of the keys: `llama`, `gemma3`.
    let architecture: String

    /// Checks `general.architecture` and reads keys under its prefix.
    /// - Throws: `.configInvalid` when the file names another architecture or none.
    init(_ file: GGUFFile, architecture: String) throws {
        self.file = file
        self.architecture = architecture
        guard let found = file.metadata["general.architecture"]?.string else { throw fail("it has no general.architecture") }
        guard found == architecture else { throw fail("general.architecture is \(found); attn reads \(architecture) decoders") }
    }

    /// The error for an unusable file.
    func fail(_ reason: String) -> AttnError { .configInvalid(path: file.path, reason: reason) }

    /// The values attn accepts for the whole-number keys every decoder has (`ARCH.NAME`): wide
    /// enough for the Llama and Gemma models of the hub (Llama-3-70B has 8192, 80, 64, 8, 28672,
    /// 131072; Gemma 3 27B 5376, 62, 32, 16, 21504), narrow enough that no product of two of them
    /// overflows and a wrong file is caught here.
    static let decoderRanges: [String: ClosedRange<Int>] = [
        "embedding_length": 1...16_384, "block_count": 1...256, "attention.head_count": 1...256,
        "attention.head_count_kv": 1...256, "feed_forward_length": 1...131_072, "context_length": 1...1_048_576,
    ]
    /// How many tokens a vocabulary may have.
    static let vocabularyRange = 1...1_048_576
    /// RoPE's base: above 1 (θᵢ must fall with i), at most 10⁹ (Llama 3 uses 500000).
    static let ropeBaseLimit: Float = 1e9

    /// The key `ARCH.name`.
    func key(_ name: String) -> String { architecture + "." + name }

    /// A whole number in `range`, under `ARCH.name`.
    func int(_ name: String, in range: ClosedRange<Int>) throws -> Int {
        let key = key(name)
        guard let value = file.metadata[key] else { throw fail("it has no \(key)") }
        guard let number = value.int else {
            throw fail("\(key) is not a whole number in \(range.lowerBound)…\(range.upperBound)")
        }
        guard range.contains(number) else {
            throw fail("\(key) is \(number), outside \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    /// A number under `ARCH.name`, `fallback` when absent; the caller checks its range.
    func float(_ name: String, default fallback: Float? = nil) throws -> Float {
        guard let value = file.metadata[key(name)]?.float ?? fallback else { throw fail("it has no \(key(name))") }
        return value
    }

    /// The number of tokens in `tokenizer.ggml.tokens`, in `range`.
    func vocabularySize(in range: ClosedRange<Int>) throws -> Int {
        guard let tokens = file.metadata["tokenizer.ggml.tokens"]?.strings, !tokens.isEmpty else {
            throw fail("it has no tokenizer.ggml.tokens")
        }
        guard range.contains(tokens.count) else {
            throw fail("tokenizer.ggml.tokens is \(tokens.count), outside \(range.lowerBound)…\(range.upperBound)")
        }
        return tokens.count
    }
}

extension GGUFFile {
    /// `path` itself, or for a directory the GGUF file in it (`preferred` first, else the first
    /// by name).
    /// - Throws: `.fileUnreadable` for a directory that holds no `.gguf` file.
    static func location(_ path: String, preferring preferred: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return path }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".gguf") }.sorted()
        guard let name = names.first(where: { $0 == preferred }) ?? names.first else {
            throw AttnError.fileUnreadable(path: path, reason: "the directory holds no .gguf file")
        }
        return path + "/" + name
    }
}
