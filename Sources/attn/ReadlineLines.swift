import AttnCore
import CReadline
import Foundation
import Notebook

// GNU readline calls back into C function pointers that cannot capture Swift context, so the
// little state they share lives here. Only the main thread touches it.
nonisolated(unsafe) private var finishedLine: String?
nonisolated(unsafe) private var lineDone = false
nonisolated(unsafe) private var completionSession: Session?
nonisolated(unsafe) private var completionCandidates: [String] = []
nonisolated(unsafe) private var completionIndex = 0
/// Set by the SIGINT handler; read by the line loop and long-running commands.
nonisolated(unsafe) var interruptRequested: sig_atomic_t = 0
/// Set by the SIGWINCH handler: the terminal changed size since readline last measured it.
nonisolated(unsafe) private var resized: sig_atomic_t = 0

/// Lines from GNU readline: line editing, history that persists across sessions, Tab completion,
/// and Ctrl-C that abandons the current line instead of the session. The only file that imports
/// readline.
///
/// It uses readline's callback interface: this loop waits for input with `poll`, so a Ctrl-C
/// interrupts the wait, and the half-typed line can be dropped cleanly.
struct ReadlineLines: LineSource {
    /// `$XDG_STATE_HOME/attn/history`, else `~/.local/state/attn/history`.
    let historyPath: String
    /// Whether this start created the history file (a first start greets the learner).
    let isFirstStart: Bool
    /// Whether lines are still appended to the history file (false after it failed once).
    private var keepsHistory = true
    /// Whether the session's width follows the terminal's (false when `--width` was given).
    var followsWidth = true

    /// Lines kept in the history; the file is cut back to these when it holds twice as many.
    static let historyLines = 1000
    /// The most bytes of history read (the newest ones).
    static let historyLimit = 4 << 20

    /// `$XDG_STATE_HOME/attn`, else `~/.local/state/attn`: history and lesson progress.
    static func stateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state"
        return state + "/attn"
    }

    init(session: Session) {
        historyPath = Self.stateDirectory() + "/history"
        // The history file is read as untrusted input and written only by appending a line as it
        // is entered (below): two sessions at once keep each other's lines, and a link or a FIFO
        // at its path is refused with one warning instead of followed or waited on.
        var created = false
        do {
            try Self.loadHistory(from: historyPath)
            created = try StateFile.append([], to: historyPath)
        } catch {
            Output.error("attn: warning: \(error); history is not kept this session\n")
            keepsHistory = false
        }
        isFirstStart = created

        completionSession = session
        // Break words at spaces and at the punctuation of the learner's math, not at '.' or '/';
        // after a command that takes a name or a path, at spaces only (see `wordBreaks`).
        attn_readline_configure(complete, strdup(" \t\n\"=@()[],+-*"), wordBreaks)

        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interruptRequested = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: poll must return EINTR
        sigaction(SIGINT, &action, nil)
        // SA_RESTART keeps a resize from failing a command's reads and writes; poll still
        // returns (it is never restarted), so the prompt is redrawn at once.
        action.__sigaction_handler.sa_handler = { _ in resized = 1 }
        action.sa_flags = SA_RESTART
        sigaction(SIGWINCH, &action, nil)
    }

    /// Gives readline the newest lines of the history file; a file that has grown to twice the
    /// lines kept is cut back to them, atomically (a new file renamed over the old).
    private static func loadHistory(from historyPath: String) throws {
        stifle_history(Int32(historyLines))
        guard let contents = try StateFile.read(historyPath, limit: historyLimit, keepingEnd: true) else { return }
        let lines = contents.data.split(separator: UInt8(ascii: "\n"))
        for line in lines.suffix(historyLines) {
            // A C string ends at NUL: the part before it is the line readline would have kept.
            add_history(line.prefix { $0 != 0 }.map { CChar(bitPattern: $0) } + [0])
        }
        if lines.count > 2 * historyLines || !contents.isComplete {
            var kept = Data()
            for line in lines.suffix(historyLines) { kept += line + [UInt8(ascii: "\n")] }
            try StateFile.write(kept, to: historyPath)
        }
    }

    mutating func nextLine(prompt: String) -> String? {
        if let session = completionSession, session.wantsClearScreen {
            // `clear`: the cursor to the top left, then the screen erased below it.
            session.wantsClearScreen = false
            Output.standard("\u{1B}[H\u{1B}[2J")
        }
        interruptRequested = 0
        lineDone = false
        finishedLine = nil
        rl_callback_handler_install(prompt, lineHandler)
        defer { rl_callback_handler_remove() }
        while !lineDone {
            if resized != 0 {
                // The window changed size (also while the last command ran): readline measures
                // it again and redraws the line it is editing for the new width.
                resized = 0
                rl_resize_terminal()
            }
            var descriptor = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, -1)
            if interruptRequested != 0 {
                // Ctrl-C: abandon the half-typed line and start a fresh prompt.
                interruptRequested = 0
                rl_free_line_state()
                rl_callback_sigcleanup()
                rl_replace_line("", 0)
                rl_crlf()
                rl_callback_handler_remove()
                rl_callback_handler_install(prompt, lineHandler)
                continue
            }
            if ready > 0 { rl_callback_read_char() }
            if ready < 0 && errno != EINTR { return nil }
        }
        guard let line = finishedLine else {
            Output.standard("\n")  // Ctrl-D at an empty prompt: end the prompt's line, then leave
            return nil
        }
        if !line.trimmingCharacters(in: .whitespaces).isEmpty {
            add_history(line)
            appendToHistoryFile(line)
        }
        // Each command is laid out for the window as it is now, not as it was at the start.
        if followsWidth { completionSession?.renderer.width = Terminal.width() }
        return line
    }

    /// Appends an entered line to the history file, so that it survives a crash or a second
    /// session; the first failure is warned about and ends the saving.
    private mutating func appendToHistoryFile(_ line: String) {
        guard keepsHistory else { return }
        do {
            try StateFile.append(Array(line.utf8), to: historyPath)
        } catch {
            Output.error("attn: warning: \(error); history is not kept from here on\n")
            keepsHistory = false
        }
    }
}

/// Called by readline with a finished line (or NULL at end of input).
private func lineHandler(_ raw: UnsafeMutablePointer<CChar>?) {
    if let raw {
        finishedLine = String(cString: raw)
        free(raw)
    } else {
        finishedLine = nil
    }
    lineDone = true
    rl_callback_handler_remove()  // no new prompt until attn asks for the next line
}

/// The commands whose arguments are names or paths, not math: `model sentence-transformers/all-MiniLM-L6-v2`
/// and `export q ~/my-run/q.npy` complete as one word, where the math's '-' would cut them.
private let pathCommands: Set<String> = ["model", "export", "plot", "save", "lesson"]
nonisolated(unsafe) private let spacesOnly = strdup(" \t\n")

/// Readline asks, before each completion, which characters break words on this line.
private func wordBreaks() -> UnsafeMutablePointer<CChar>? {
    guard let buffer = attn_readline_line_buffer() else { return nil }
    let first = String(cString: buffer).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
    return first.map(pathCommands.contains) == true ? spacesOnly : nil
}

/// Tab: the session decides what fits at the cursor; paths fall back to readline's file completion.
private func complete(_ text: UnsafePointer<CChar>?, _ start: Int32, _ end: Int32)
    -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
    guard let session = completionSession, let text, let buffer = attn_readline_line_buffer() else { return nil }
    let line = String(cString: buffer)
    let before = String(decoding: Array(line.utf8.prefix(Int(start))), as: UTF8.self)
    switch session.completions(before: before, word: String(cString: text)) {
    case .files:
        attn_readline_completion_over(0)
        return nil
    case let .words(words):
        attn_readline_completion_over(1)
        completionCandidates = words
        completionIndex = 0
        return rl_completion_matches(text) { _, _ in
            guard completionIndex < completionCandidates.count else { return nil }
            defer { completionIndex += 1 }
            return strdup(completionCandidates[completionIndex])
        }
    }
}
