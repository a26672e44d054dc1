import Foundation
import Notebook
import Testing

/// The built `attn` running in a real pseudo-terminal: what a person at a keyboard gets.
///
/// The child starts a new session and opens the terminal's other end as its controlling
/// terminal, so Ctrl-C typed into the terminal becomes SIGINT, as in a real shell.
final class PseudoTerminal {
    let master: Int32
    let pid: pid_t
    private(set) var output = ""

    /// The `attn` next to this test bundle (`swift build` puts them in the same directory).
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("attn").path

    init(arguments: [String] = [], environment: [String: String]) throws {
        // Linux's pseudo-terminal multiplexer: unlock the new terminal and ask for its number.
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlock: Int32 = 0, number: UInt32 = 0
        // <asm-generic/ioctls.h>: TIOCSPTLCK = _IOW('T', 0x31, int), TIOCGPTN = _IOR('T', 0x30, unsigned)
        // (Swift's Glibc module does not export these macros).
        let unlockRequest: UInt = 0x4004_5431, numberRequest: UInt = 0x8004_5430
        guard master >= 0, ioctl(master, unlockRequest, &unlock) == 0, ioctl(master, numberRequest, &number) == 0 else {
            throw POSIXError(.ENXIO)
        }
        let slave = "/dev/pts/\(number)"
        var size = winsize(ws_row: 40, ws_col: 100, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, master)
        // Opened after setsid(), the terminal becomes the child's controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, slave, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        let setsid: Int16 = 0x80  // glibc's POSIX_SPAWN_SETSID: the child starts a new session
        posix_spawnattr_setflags(&attributes, setsid)

        let argv = ([Self.executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, Self.executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw POSIXError(POSIXErrorCode(rawValue: status) ?? .ENOENT) }
        pid = child
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(master)
    }

    /// Types text as keys.
    func type(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, bytes.count) }
    }

    /// Changes the window's size, as a person dragging its corner does (the child gets SIGWINCH).
    func resize(columns: Int, rows: Int = 40) {
        var size = winsize(ws_row: UInt16(rows), ws_col: UInt16(columns), ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(master, UInt(TIOCSWINSZ), &size)
    }

    /// The lines written since `from`, without the terminal's carriage returns.
    func lines(after from: String.Index) -> [String] {
        output[from...].replacingOccurrences(of: "\r", with: "").split(separator: "\n").map(String.init)
    }

    /// Reads until `text` appears in the output since `from` (or the timeout); returns whether it did.
    @discardableResult
    func expect(_ text: String, after from: String.Index? = nil, timeout: Double = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let searched = from.map { output[$0...] } ?? output[...]
            if searched.contains(text) { return true }
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, 100) > 0 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = read(master, &buffer, buffer.count)
                if n <= 0 { return (from.map { output[$0...] } ?? output[...]).contains(text) }
                output += String(decoding: buffer[0..<n], as: UTF8.self)
            }
        }
        return false
    }

    /// Types a line and waits until its output shows `text` and the next prompt is drawn (keys
    /// typed before readline is listening would reach the terminal's line editing instead).
    @discardableResult
    func enter(_ line: String, expecting text: String) -> Bool {
        let mark = output.endIndex
        type(line + "\r")
        guard expect(text, after: mark), let found = output[mark...].range(of: text) else { return false }
        return text.hasSuffix("> ") || expect("> ", after: found.upperBound)
    }

    /// Waits for the process to end; its exit status, or nil if it is still running after the timeout.
    func exitStatus(timeout: Double = 10) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            _ = expect("\u{0}", timeout: 0.1)  // keep draining the terminal
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { return (status >> 8) & 0xff }
        }
        return nil
    }
}

@Suite("attn in a real terminal", .serialized)
struct TerminalTests {
    /// A fresh state directory (history, progress) and the real model cache.
    func environment(_ extra: [String: String] = [:]) -> (environment: [String: String], state: String) {
        let state = NSTemporaryDirectory() + "attn-terminal-\(UUID().uuidString)"
        var environment = ["TERM": "xterm-256color", "XDG_STATE_HOME": state, "HOME": NSHomeDirectory(),
                           "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        for key in ["ATTN_MODELS", "XDG_CACHE_HOME"] {
            if let value = ProcessInfo.processInfo.environment[key] { environment[key] = value }
        }
        environment.merge(extra) { $1 }
        return (environment, state)
    }

    @Test("the binary is built beside the tests")
    func binary() {
        #expect(FileManager.default.isExecutableFile(atPath: PseudoTerminal.executable),
                "build attn first (make test does): \(PseudoTerminal.executable)")
    }

    @Test("a first start greets; Tab completes; the matrix is heat-shaded; Ctrl-C keeps the session; Ctrl-D leaves")
    func session() throws {
        let (environment, _) = self.environment()
        let terminal = try PseudoTerminal(environment: environment)
        #expect(terminal.expect("Or try:  sentence the cat sat on the mat"))
        #expect(terminal.expect("minilm L0 H0> "))
        // The greeting sends a newcomer to the first lesson, in at most four lines of 80 columns.
        let greeting = terminal.lines(after: terminal.output.startIndex).prefix { !$0.contains("L0 H0>") }
        #expect(greeting.count <= 4 && greeting.allSatisfy { MatrixRenderer.displayWidth($0) <= 80 }, "\(greeting)")
        #expect(greeting.contains { $0.contains("lesson 1") && $0.contains("lessons") })
        #expect(terminal.enter("sentence the cat sat on the mat", expecting: "sentence: 8 tokens"))
        // Tab completes a command and a step name.
        #expect(terminal.enter("lay\t2", expecting: "L2 H0> "))
        #expect(terminal.enter("head 7", expecting: "L2 H7> "))
        #expect(terminal.enter("weig\t", expecting: "weights = softmax(masked)"))
        // Colour: 256-colour backgrounds and a legend.
        #expect(terminal.output.contains("darker = larger"))
        #expect(terminal.output.contains("\u{1B}[48;5;"))
        // Ctrl-C abandons the half-typed line; the session goes on with its state.
        let mark = terminal.output.endIndex
        terminal.type("sentence a half typed line\u{03}")
        #expect(terminal.enter("tokens", expecting: "13523  mat"))
        #expect(!terminal.output[mark...].contains("sentence: 6 tokens"))
        // Ctrl-D at an empty prompt leaves, with status 0.
        terminal.type("\u{04}")
        #expect(terminal.exitStatus() == 0)
    }

    @Test("history persists across restarts; a second start does not greet again")
    func history() throws {
        let (environment, state) = self.environment()
        do {
            let first = try PseudoTerminal(environment: environment)
            #expect(first.expect("H0> "))
            #expect(first.enter("sentence history is kept", expecting: "sentence: "))
            first.type("\u{04}")
            #expect(first.exitStatus() == 0)
        }
        let saved = try String(contentsOfFile: state + "/attn/history", encoding: .utf8)
        #expect(saved.contains("sentence history is kept"))

        let second = try PseudoTerminal(environment: environment)
        #expect(second.expect("H0> "))
        #expect(!second.output.contains("try:") && !second.output.contains("lesson 1"))
        // Up arrow recalls the last line of the previous session.
        #expect(second.enter("\u{1B}[A", expecting: "tokens: [CLS] history is kept [SEP]"))
        second.type("\u{04}")
        #expect(second.exitStatus() == 0)
    }

    @Test("NO_COLOR and --no-color give plain text")
    func noColor() throws {
        for (extra, arguments) in [(["NO_COLOR": "1"], [String]()), ([:], ["--no-color"])] {
            let (environment, _) = self.environment(extra)
            let terminal = try PseudoTerminal(arguments: arguments, environment: environment)
            #expect(terminal.expect("H0> "))
            #expect(terminal.enter("sentence the cat sat on the mat", expecting: "sentence: "))
            #expect(terminal.enter("weights", expecting: "notice: each row sums to 1."))
            #expect(!terminal.output.contains("\u{1B}[48;5;"))
            terminal.type("\u{04}")
            #expect(terminal.exitStatus() == 0)
        }
    }

    @Test("after the window is resized, the next matrix fits the new width; --width keeps its width")
    func resize() throws {
        let (environment, _) = self.environment()
        let terminal = try PseudoTerminal(arguments: ["--no-color"], environment: environment)
        #expect(terminal.expect("H0> "))
        #expect(terminal.enter("sentence the quick brown fox jumps over the lazy dog", expecting: "sentence: "))
        var mark = terminal.output.endIndex
        #expect(terminal.enter("weights", expecting: "notice: "))
        let wide = terminal.lines(after: mark).map(MatrixRenderer.displayWidth).max() ?? 0
        #expect(wide > 60 && wide <= 100, "at 100 columns the widest line has \(wide)")

        terminal.resize(columns: 60)
        mark = terminal.output.endIndex
        #expect(terminal.enter("weights", expecting: "notice: "))
        let narrow = terminal.lines(after: mark)
        #expect(narrow.contains { $0.hasPrefix("[CLS]") })
        let widest = narrow.max { MatrixRenderer.displayWidth($0) < MatrixRenderer.displayWidth($1) } ?? ""
        #expect(MatrixRenderer.displayWidth(widest) <= 60, "\(widest)")

        terminal.resize(columns: 100)
        mark = terminal.output.endIndex
        #expect(terminal.enter("weights", expecting: "notice: "))
        #expect(terminal.lines(after: mark).map(MatrixRenderer.displayWidth).max() == wide)
        terminal.type("\u{04}")
        #expect(terminal.exitStatus() == 0)

        // An explicit --width wins over the window.
        let fixed = try PseudoTerminal(arguments: ["--no-color", "--width", "100"], environment: environment)
        #expect(fixed.expect("H0> "))
        #expect(fixed.enter("sentence the quick brown fox jumps over the lazy dog", expecting: "sentence: "))
        fixed.resize(columns: 60)
        mark = fixed.output.endIndex
        #expect(fixed.enter("weights", expecting: "notice: "))
        #expect(fixed.lines(after: mark).map(MatrixRenderer.displayWidth).max() == wide)
        fixed.type("\u{04}")
        #expect(fixed.exitStatus() == 0)
    }
}
