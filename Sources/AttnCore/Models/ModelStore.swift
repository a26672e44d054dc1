import Foundation

/// The per-user directory that holds fetched models.
public enum ModelStore {
    /// `$ATTN_MODELS`, else `$XDG_CACHE_HOME/attn/models`, else `~/.cache/attn/models`.
    public static func root(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let path = environment["ATTN_MODELS"], !path.isEmpty { return path }
        if let cache = environment["XDG_CACHE_HOME"], !cache.isEmpty { return cache + "/attn/models" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.cache/attn/models"
    }

    /// The directory of one model, e.g. `~/.cache/attn/models/minilm`.
    public static func directory(for source: ModelSource,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        root(environment: environment) + "/" + source.name
    }

    /// Whether every file of `source` is present in `directory` (not whether it is intact).
    public static func isPresent(_ source: ModelSource, in directory: String) -> Bool {
        source.files.allSatisfy { FileManager.default.fileExists(atPath: directory + "/" + $0.name) }
    }

    /// The SHA-256 of a file, read through a memory map.
    public static func sha256(of path: String) throws -> String {
        let file = try MappedFile(path: path)
        return SHA256.hash(file.bytes(0..<file.size))
    }
}
