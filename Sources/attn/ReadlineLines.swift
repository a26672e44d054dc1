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

/// Lines from GNU readline: line editing, history that persists across sessions, Tab completion,
/// and Ctrl-C that abandons the current line instead of the session. The only file that imports
/// readline.
///
/// It uses readline's callback interface: this loop waits for input with `poll`, so a Ctrl-C
/// interrupts the wait, and the half-typed line can be dropped cleanly.
struct ReadlineLines: LineSource {
    /// `$XDG_STATE_HOME/attn/history`, else `~/.local/state/attn/history`.
    let historyPath: String
    /// Whether the history file existed before this session (a first start greets the learner).
    let isFirstStart: Bool

    /// `$XDG_STATE_HOME/attn`, else `~/.local/state/attn`: history and lesson progress.
    static func stateDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state"
        return state + "/attn"
    }

    init(session: Session) {
        let directory = Self.stateDirectory()
        historyPath = directory + "/history"
        isFirstStart = !FileManager.default.fileExists(atPath: historyPath)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        read_history(historyPath)

        completionSession = session
        // Break words at spaces and at the punctuation of the learner's math, not at '.' or '/'.
        attn_readline_configure(complete, strdup(" \t\n\"=@()[],+-*"))

        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interruptRequested = 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: poll must return EINTR
        sigaction(SIGINT, &action, nil)
    }

    mutating func nextLine(prompt: String) -> String? {
        interruptRequested = 0
        lineDone = false
        finishedLine = nil
        rl_callback_handler_install(prompt, lineHandler)
        defer { rl_callback_handler_remove() }
        while !lineDone {
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
        if !line.trimmingCharacters(in: .whitespaces).isEmpty { add_history(line) }
        return line
    }

    func saveHistory() {
        write_history(historyPath)
        history_truncate_file(historyPath, 1000)
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
