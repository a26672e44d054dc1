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

    /// An optional whole number in `range`: `fallback` when the key is absent.
    func int(_ name: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        file.metadata[key(name)] == nil ? fallback : try int(name, in: range)
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
