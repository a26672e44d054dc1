import Foundation

/// Everything that can go wrong in the core, each case with the context a learner needs to act.
///
/// The description is one sentence: what is wrong, and where possible what to do about it.
public enum AttnError: Error, Equatable, Sendable, CustomStringConvertible {
    // Files
    case fileUnreadable(path: String, reason: String)
    case fileUnwritable(path: String, reason: String)

    // safetensors
    case safetensorsTooSmall(path: String, size: Int)
    case safetensorsHeaderLength(path: String, length: UInt64, fileSize: Int)
    case safetensorsHeaderNotJSON(path: String, reason: String)
    case safetensorsBadEntry(path: String, tensor: String, reason: String)
    case safetensorsUnsupportedDType(path: String, tensor: String, dtype: String)
    case safetensorsOutOfRange(path: String, tensor: String, begin: Int, end: Int, dataSize: Int)

    // GGUF
    case ggufInvalid(path: String, reason: String)
    case ggufUnsupportedType(path: String, tensor: String, type: String)

    // Checkpoints and configuration
    case tensorMissing(name: String, path: String)
    case tensorUnexpected(name: String, path: String)
    case tensorShape(name: String, expected: [Int], found: [Int])
    case tensorDType(name: String, expected: String, found: String)
    case configInvalid(path: String, reason: String)
    case weightsMissing(model: String, directory: String, fetchCommand: String)

    // Tokenizer
    case vocabularyInvalid(path: String, reason: String)
    /// More tokens than the model reads (`limit == context`), or than attn traces of it within
    /// its memory budget (`limit < context`).
    case sequenceTooLong(tokens: Int, limit: Int, context: Int)

    // Fetching
    case fetchFailed(reason: String)
    case checksumMismatch(file: String, expected: String, found: String)

    // NumPy files
    case npyInvalid(path: String, reason: String)

    /// A fetch stopped by SIGINT (Ctrl-C) or SIGTERM, with the signal's number.
    case fetchInterrupted(signal: Int32)
    // Untrusted model files (issue 11)
    case tensorNotFinite(path: String, tensor: String, position: [Int], value: String)
    case modelTooLarge(path: String, bytes: Int?, limit: Int)
    case modelFileMissing(model: String, directory: String, file: String, fetchCommand: String)

    /// A sentence that tokenizes to nothing at all (SmolLM2 and `""`; MiniLM always has [CLS] [SEP]).
    case noTokens

    /// A chat template using Jinja that attn does not read (see `ChatTemplate`).
    case chatTemplateUnsupported(reason: String)

    public var description: String {
        switch self {
        case let .fileUnreadable(path, reason):
            return "cannot read \(path): \(reason)"
        case let .fileUnwritable(path, reason):
            return "cannot write \(path): \(reason)"
        case let .safetensorsTooSmall(path, size):
            return "\(path) is not a safetensors file: it has \(size) bytes, fewer than the 8-byte header length"
        case let .safetensorsHeaderLength(path, length, fileSize):
            return "\(path) is corrupt: its header claims \(length) bytes but the file has only \(fileSize); fetch the weights again"
        case let .safetensorsHeaderNotJSON(path, reason):
            return "\(path) is corrupt: its header is not valid JSON (\(reason)); fetch the weights again"
        case let .safetensorsBadEntry(path, tensor, reason):
            return "\(path) is corrupt: tensor \(tensor) \(reason)"
        case let .safetensorsUnsupportedDType(path, tensor, dtype):
            return "\(path): tensor \(tensor) has dtype \(dtype), which attn cannot read (supported: F32, F16, BF16, I64)"
        case let .safetensorsOutOfRange(path, tensor, begin, end, dataSize):
            return "\(path) is corrupt: tensor \(tensor) spans bytes \(begin)..<\(end) but the data section has \(dataSize); fetch the weights again"
        case let .ggufInvalid(path, reason):
            return "\(path) is not a usable GGUF file: \(reason)"
        case let .ggufUnsupportedType(path, tensor, type):
            return "\(path): tensor \(tensor) is stored as \(type), which attn cannot read (it reads \(GGMLType.readableNames)); use a file quantized to one of those"
        case let .tensorMissing(name, path):
            return "\(path) has no tensor \(name): is this the right checkpoint?"
        case let .tensorUnexpected(name, path):
            return "\(path) has an unexpected tensor \(name): is this the right checkpoint?"
        case let .tensorShape(name, expected, found):
            return "tensor \(name) has shape \(Self.shape(found)), expected \(Self.shape(expected))"
        case let .tensorDType(name, expected, found):
            return "tensor \(name) has dtype \(found), expected \(expected)"
        case let .configInvalid(path, reason):
            return "\(path) is not a usable model configuration: \(reason)"
        case let .weightsMissing(model, directory, fetchCommand):
            return "the \(model) weights are not in \(directory): run `\(fetchCommand)` once to fetch them"
        case let .vocabularyInvalid(path, reason):
            return "\(path) is not a usable vocabulary: \(reason)"
        case let .sequenceTooLong(tokens, limit, context) where limit >= context:
            return "the sentence has \(tokens) tokens but the model reads at most \(limit): shorten it"
        case let .sequenceTooLong(tokens, limit, context):
            return "the sentence has \(tokens) tokens but attn traces at most \(limit) of this model (it reads \(context); every step of more would take over \(ModelBudget.maximumTraceBytes >> 30) GB): shorten it"
        case let .fetchFailed(reason):
            return "fetch failed: \(reason)"
        case let .checksumMismatch(file, expected, found):
            return "\(file) has SHA-256 \(found), expected \(expected): the download is damaged, run the fetch again"
        case let .npyInvalid(path, reason):
            return "\(path) is not a usable .npy file: \(reason)"
        case let .fetchInterrupted(signal):
            return "fetch interrupted (\(signal == SIGINT ? "Ctrl-C" : "signal \(signal)")): the download is removed and the model directory is as it was"
        case let .tensorNotFinite(path, tensor, position, value):
            return "\(path) is corrupt: tensor \(tensor) holds \(value) at [\(position.map(String.init).joined(separator: ", "))], where a weight must be a finite number; fetch the weights again"
        case let .modelTooLarge(path, bytes, limit):
            let size = bytes.map { "\(($0 + (1 << 20) - 1) >> 20) MB" } ?? "more bytes than can be counted"
            return "\(path) describes \(size) of float32 weights, more than the \(limit >> 20) MB attn allows one model: use a smaller model"
        case let .modelFileMissing(model, directory, file, fetchCommand):
            return "\(directory) has no \(file), which \(model) needs: run `\(fetchCommand)` to fetch it again"
        case .noTokens:
            return "the sentence has no tokens: type sentence followed by some text"
        case let .chatTemplateUnsupported(reason):
            return "the model's chat template uses \(reason); attn reads only a small part of Jinja, so chat cannot build the prompt (write it out with sentence \"…\" instead)"
        }
    }

    static func shape(_ dims: [Int]) -> String {
        "[" + dims.map(String.init).joined(separator: " × ") + "]"
    }
}
