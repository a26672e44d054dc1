import CReadline
import Foundation
import Notebook

/// Lines from GNU readline: line editing and history. The only file that imports readline.
struct ReadlineLines: LineSource {
    /// `$XDG_STATE_HOME/attn/history`, else `~/.local/state/attn/history`.
    let historyPath: String

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let state = environment["XDG_STATE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state"
        historyPath = state + "/attn/history"
        try? FileManager.default.createDirectory(atPath: state + "/attn", withIntermediateDirectories: true)
        read_history(historyPath)
    }

    mutating func nextLine(prompt: String) -> String? {
        guard let raw = readline(prompt) else {
            print("")  // Ctrl-D: end the prompt's line
            return nil
        }
        defer { free(raw) }
        let line = String(cString: raw)
        if !line.trimmingCharacters(in: .whitespaces).isEmpty { add_history(raw) }
        return line
    }

    func saveHistory() {
        write_history(historyPath)
        history_truncate_file(historyPath, 1000)
    }
}
