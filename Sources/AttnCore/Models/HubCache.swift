import Foundation

/// The Hugging Face hub cache, read as `huggingface_hub` lays it out, so that `model NAME` opens a
/// checkpoint a learner already downloaded with `from_pretrained` (attn never downloads from it).
///
/// ```
/// $HF_HUB_CACHE | $HF_HOME/hub | $XDG_CACHE_HOME/huggingface/hub | ~/.cache/huggingface/hub
///   models--google-bert--bert-base-uncased/
///     refs/main                  the commit the `main` branch pointed at: 86b5e09…
///     snapshots/86b5e09…/        the files of that commit, links into blobs/
///     blobs/                     the files, named by their hash
/// ```
public enum HubCache {
    /// The hub cache directory, in huggingface_hub's order of precedence.
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        func set(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        if let path = set("HF_HUB_CACHE") { return path }
        if let home = set("HF_HOME") { return home + "/hub" }
        if let cache = set("XDG_CACHE_HOME") { return cache + "/huggingface/hub" }
        return (set("HOME") ?? NSHomeDirectory()) + "/.cache/huggingface/hub"
    }

    /// The repositories the hub moved under an organisation and still answers by their old name:
    /// a checkpoint may be cached under either.
    static let movedRepositories = [
        "gpt2": "openai-community/gpt2", "gpt2-medium": "openai-community/gpt2-medium",
        "gpt2-large": "openai-community/gpt2-large", "gpt2-xl": "openai-community/gpt2-xl",
        "distilgpt2": "distilbert/distilgpt2",
        "bert-base-uncased": "google-bert/bert-base-uncased", "bert-base-cased": "google-bert/bert-base-cased",
        "bert-large-uncased": "google-bert/bert-large-uncased", "bert-large-cased": "google-bert/bert-large-cased",
        "bert-base-multilingual-cased": "google-bert/bert-base-multilingual-cased",
        "bert-base-chinese": "google-bert/bert-base-chinese",
        "distilbert-base-uncased": "distilbert/distilbert-base-uncased",
    ]

    /// The repository ids `name` may be cached under: itself, and its old or new name.
    public static func repositoryIds(for name: String) -> [String] {
        var ids = [name]
        if let moved = movedRepositories[name] { ids.append(moved) }
        if let old = movedRepositories.first(where: { $0.value == name })?.key { ids.append(old) }
        return ids
    }

    /// Whether `id` is a repository id the hub could have: `NAME` or `ORG/NAME` of letters, digits,
    /// `-`, `_` and `.`, neither part `.` or `..` (a name is never a path out of the cache).
    public static func isRepositoryId(_ id: String) -> Bool {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), id.utf8.count <= 96 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part != "." && part != ".."
                && part.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }
        }
    }

    /// The snapshot directory of the first of `name`'s repository ids that the cache holds, with
    /// the id it was found under; nil when the cache holds none.
    /// - Throws: `AttnError.fileUnreadable` when a repository is there but its `refs/main` is
    ///   missing, too long, not a commit hash, or names a snapshot that is not there.
    public static func snapshot(of name: String,
                                environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (id: String, directory: String)? {
        guard isRepositoryId(name) else { return nil }
        let cache = directory(environment: environment)
        for id in repositoryIds(for: name) {
            let repository = cache + "/models--" + id.replacingOccurrences(of: "/", with: "--")
            guard FileManager.default.fileExists(atPath: repository) else { continue }
            let ref = repository + "/refs/main"
            // Read as every small file attn reads: a FIFO or a huge file refused before reading.
            guard let bytes = try MappedFile.contents(of: ref, limit: 256) else {
                throw AttnError.fileUnreadable(path: ref, reason: "the cached repository has no refs/main: download it again with from_pretrained")
            }
            let commit = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            // A commit hash: it is joined to a path, so nothing but hexadecimal digits.
            guard (7...64).contains(commit.count), commit.unicodeScalars.allSatisfy({ CharacterSet(charactersIn: "0123456789abcdef").contains($0) }) else {
                throw AttnError.fileUnreadable(path: ref, reason: "it does not hold a commit hash")
            }
            let snapshot = repository + "/snapshots/" + commit
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: snapshot, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw AttnError.fileUnreadable(path: snapshot, reason: "refs/main names a snapshot the cache does not hold")
            }
            return (id, snapshot)
        }
        return nil
    }

    /// The repository ids the cache holds (`models--ORG--NAME` → `ORG/NAME`), sorted; at most
    /// `limit` of them, so that a huge cache cannot stall Tab completion.
    public static func repositories(environment: [String: String] = ProcessInfo.processInfo.environment,
                                    limit: Int = 1000) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory(environment: environment))) ?? []
        let ids = names.lazy.filter { $0.hasPrefix("models--") }.prefix(limit)
            .map { String($0.dropFirst("models--".count)).replacingOccurrences(of: "--", with: "/") }
        return ids.filter(isRepositoryId).sorted()
    }

    /// The architecture a checkpoint directory declares: `config.json`'s `model_type`.
    public static func modelType(in directory: String) throws -> String {
        let path = directory + "/config.json"
        // Real configurations are under a kilobyte; a megabyte is plenty (as BertConfiguration.load).
        guard let bytes = try MappedFile.contents(of: path, limit: 1 << 20) else {
            throw AttnError.fileUnreadable(path: path, reason: "a checkpoint needs its config.json")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let type = object["model_type"] as? String else {
            throw AttnError.fileUnreadable(path: path, reason: "it names no model_type")
        }
        return type
    }
}
