import AttnCore
import Foundation
@testable import Notebook
import Testing

/// What travels with the binary: its lessons, its version, its manual page.
@Suite("Installed like a tool: lessons built in, --version, the manual page")
struct InstallTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("the lessons built into the binary are Lessons/ byte for byte (make lessons copies them)")
    func embeddedLessonsAreCurrent() throws {
        let directory = Self.repository + "/Lessons"
        func lessons(in subdirectory: String) throws -> [String] {
            try FileManager.default.contentsOfDirectory(atPath: directory + subdirectory)
                .filter { $0.hasSuffix(".md") && $0.first?.isNumber == true }.sorted().map { (subdirectory.isEmpty ? "" : "zh/") + $0 }
        }
        let files = try lessons(in: "") + lessons(in: "/zh")
        #expect(EmbeddedLessons.files.map(\.name) == files, "run make lessons")
        for (name, text) in EmbeddedLessons.files {
            let file = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
            #expect(text + "\n" == file, "\(name) differs from Lessons/\(name): run make lessons")
        }
    }

    @Test("without a lessons directory the session follows the built-in lessons, the same as the files")
    func builtInLessons() throws {
        let session = Session(renderer: MatrixRenderer(width: 80), workingDirectory: NSTemporaryDirectory())
        session.lessonsDirectory = nil
        let list = try session.execute("lessons")
        #expect(list.contains(" 1  Tokens and ids") && list.contains("17  Three blocks"), "\(list)")
        let start = try session.execute("lesson 1")
        #expect(start.contains("1. Tokens and ids"), "\(start)")
        let builtIn = Lesson.builtIn()
        #expect(builtIn.problems.isEmpty)
        let files = Lesson.load(in: Self.repository + "/Lessons").lessons
        #expect(builtIn.lessons.map(\.blocks.count) == files.map(\.blocks.count))
        #expect(builtIn.lessons.map(\.title) == files.map(\.title))
    }

    @Test("attn --version names the version and the models, and a copy of the binary alone still has its lessons")
    func version() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let environment = AttnProcess.environment(home: home).filter { $0.key != "ATTN_LESSONS" }
        let version = try AttnProcess(["--version"], environment: environment)
        #expect(version.ending == .exited(0))
        #expect(version.output.hasPrefix("attn 0.15.0\nmodels: minilm (all-MiniLM-L6-v2, BERT encoder), smollm2"), "\(version.output)")
        // The kernels: OpenBLAS's own, unless it took this CPU for a pre-AVX one (this test process
        // runs with OpenBLAS's choice), when attn starts again with the ones the CPU's flags allow.
        // (Under `OPENBLAS_CORETYPE`, as in Tests/portability.sh, this process cannot know
        // OpenBLAS's own choice, which the child makes: only the line is checked.)
        let (flags, vendor) = cpuFeatures()
        if !(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "").isEmpty {
            #expect(version.output.contains("\nOpenBLAS kernels: "), "\(version.output)")
        } else if let better = betterBLASKernels(current: blasCoreName, flags: flags, vendor: vendor, environment: [:]) {
            #expect(version.output.hasSuffix("\nOpenBLAS kernels: \(better) (chosen by attn from the CPU's flags: OpenBLAS took it for a \(blasCoreName))\n"),
                    "\(version.output)")
        } else {
            #expect(version.output.hasSuffix("\nOpenBLAS kernels: \(blasCoreName)\n"), "\(version.output)")
        }

        // The binary copied into an empty directory, run from there: no Lessons/ anywhere near.
        let copy = home + "/bin/attn"
        try FileManager.default.createDirectory(atPath: home + "/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: PseudoTerminal.executable, toPath: copy)
        let script = home + "/script"
        try "lessons\n".write(toFile: script, atomically: true, encoding: .utf8)
        let lessons = try AttnProcess(["--no-color"], input: script, environment: environment, executable: copy, workingDirectory: home)
        #expect(lessons.ending == .exited(0))
        #expect(lessons.output.contains("17  Three blocks"), "\(lessons.output)\(lessons.error)")
    }

    @Test("attn --help lists the notebook's commands as help does, line for line")
    func helpAgrees() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let help = try AttnProcess(["--help"], environment: AttnProcess.environment(home: home))
        #expect(help.ending == .exited(0))
        let lines = Commands.overview.split(separator: "\n").map(String.init)
        #expect(lines.count > 10)
        for line in lines { #expect(help.output.contains(line), "attn --help lacks: \(line)") }
        // The REPL's own help says the same commands, packed for its 80 columns.
        let repl = try Session().execute("help")
        for word in ["model ORG/NAME", "lesson N [--model NAME]", "plot STEP PATH.svg", "check EXPR STEP"] {
            #expect(repl.contains(word) && help.output.contains(word), "\(word)")
        }
    }

    @Test("the manual page covers every subcommand, option and environment variable attn reads")
    func manualPage() throws {
        let page = try String(contentsOfFile: Self.repository + "/Documentation/attn.1", encoding: .utf8)
            .replacingOccurrences(of: "\\-", with: "-")
        for word in ["replay", "lint", "fetch", "--version", "--no-color", "--width", "--lessons", "--generate-completion-script",
                     "ATTN_MODELS", "ATTN_LESSONS", "HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "NO_COLOR",
                     "attn 0.15.0", "--html", "save notebook"] {
            #expect(page.contains(word), "attn.1 does not mention \(word)")
        }
    }
}
