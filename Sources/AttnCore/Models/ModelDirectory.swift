import Foundation

/// One model's directory in the store: whether the files there are intact, and the move of
/// verified files into it. Downloading them is the executable's (`attn fetch` runs pip).
public struct ModelDirectory: Sendable {
    public let source: ModelSource
    /// The directory, e.g. `~/.cache/attn/models/minilm`.
    public let path: String

    public init(source: ModelSource, path: String) {
        self.source = source
        self.path = path
    }

    /// The file that records, after a verified fetch, each file's size and modification time, so
    /// that later checks need not hash 90 MB again.
    var stampPath: String { path + "/.verified" }

    /// A line per file: `name size mtime sha256`.
    func stamp() -> String? {
        var lines = ""
        for file in source.files {
            var info = stat()
            guard stat(path + "/" + file.name, &info) == 0 else { return nil }
            lines += "\(file.name) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(file.sha256)\n"
        }
        return lines
    }

    /// How the files in the directory were found intact.
    public enum Verification: Equatable, Sendable {
        /// Each file was hashed now.
        case hashed
        /// The files have the sizes and times they had when they were hashed at `date`; a change
        /// that keeps both would go unnoticed.
        case unchangedSince(Date)
    }

    /// Verifies the files already in the directory.
    /// - Parameter trustingStamp: accept files whose size and time are those recorded after
    ///   they were last hashed, without hashing 90 MB again.
    /// - Throws: `.weightsMissing` for a missing file, `.checksumMismatch` for a damaged one.
    public func verifyExisting(trustingStamp: Bool = true) throws(AttnError) -> Verification {
        if trustingStamp, let current = stamp(), let recorded = try? StateFile.read(stampPath, limit: 1 << 16),
           current == String(decoding: recorded.data, as: UTF8.self) {
            var info = stat()
            let date = stat(stampPath, &info) == 0 ? Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)) : Date()
            return .unchangedSince(date)
        }
        for file in source.files {
            let filePath = path + "/" + file.name
            guard FileManager.default.fileExists(atPath: filePath) else {
                throw .weightsMissing(model: source.title, directory: path, fetchCommand: source.fetchCommand)
            }
            let found: String
            do {
                found = try ModelStore.sha256(of: filePath)
            } catch let error as AttnError {
                throw error
            } catch {
                throw .fileUnreadable(path: filePath, reason: "\(error)")
            }
            if found != file.sha256 { throw .checksumMismatch(file: filePath, expected: file.sha256, found: found) }
        }
        if let current = stamp() { try? AtomicFile.write(Data(current.utf8), to: stampPath) }
        return .hashed
    }

    /// Moves the verified files in `staging` into the directory (created if need be), each in one
    /// rename over the file of its name. Only the model's own files are replaced: anything else
    /// the learner keeps there stays.
    /// - Throws: `.fetchFailed` when a file cannot be moved.
    public func install(from staging: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw AttnError.fetchFailed(reason: "cannot create \(path): \(error.localizedDescription)")
        }
        unlink(stampPath)  // until every file is in place, none is trusted without hashing
        for file in source.files {
            guard rename(staging + "/" + file.name, path + "/" + file.name) == 0 else {
                throw AttnError.fetchFailed(reason: "cannot move \(file.name) into \(path): \(String(cString: strerror(errno)))")
            }
        }
        if let current = stamp() { try? AtomicFile.write(Data(current.utf8), to: stampPath) }
    }
}
