/// What a session has run, for `save transcript`: each line the learner typed, after the prompt
/// it was typed at, with everything it printed.
///
/// Recording costs one append per command; the Markdown is only built when it is saved.
struct Transcript {
    struct Entry {
        var prompt: String
        var line: String
        var output: String
    }

    private(set) var entries: [Entry] = []
    /// How deeply `execute` is nested: a lesson block runs its commands through `execute`, and
    /// only the line the learner typed (the outermost) is recorded, its output holding theirs.
    var depth = 0

    /// The commands recorded (comments and blank lines that printed nothing are not commands).
    var commandCount: Int {
        entries.filter { !$0.line.trimmingWhitespace().hasPrefix("#") }.count
    }

    mutating func record(prompt: String, line: String, output: String) {
        let trimmed = line.trimmingWhitespace()
        if trimmed.isEmpty && output.isEmpty { return }
        entries.append(Entry(prompt: prompt, line: line, output: output))
    }

    /// The session as Markdown: a comment becomes a paragraph, every command a fenced block
    /// holding the prompt, the command and its output (colours removed).
    func markdown(model: String?) -> String {
        var text = "# attn transcript\n\n"
        text += "\(commandCount) command\(commandCount == 1 ? "" : "s")" + (model.map { ", \($0)" } ?? "") + ".\n"
        for entry in entries {
            let trimmed = entry.line.trimmingWhitespace()
            if trimmed.hasPrefix("#") {
                text += "\n" + String(trimmed.drop { $0 == "#" }).trimmingWhitespace() + "\n"
                continue
            }
            let typed = trimmed.isEmpty ? "(Enter)" : trimmed
            let body = entry.prompt + typed + "\n" + Self.plain(entry.output)
            // A fence longer than any run of backticks inside, so no output can close it early.
            let fence = String(repeating: "`", count: max(3, Self.longestBacktickRun(body) + 1))
            text += "\n" + fence + "text\n" + body + (body.hasSuffix("\n") ? "" : "\n") + fence + "\n"
        }
        return text
    }

    /// Text without ANSI escape sequences (the heat shading of a colour terminal).
    static func plain(_ text: String) -> String {
        guard text.contains("\u{1B}") else { return text }
        var out = ""
        var escaping = false
        for scalar in text.unicodeScalars {
            if escaping {
                // A CSI sequence ends at its final byte, @ … ~.
                if (0x40...0x7E).contains(scalar.value) && scalar != "[" { escaping = false }
                continue
            }
            if scalar == "\u{1B}" { escaping = true; continue }
            out.unicodeScalars.append(scalar)
        }
        return out
    }

    static func longestBacktickRun(_ text: String) -> Int {
        var longest = 0, run = 0
        for c in text {
            run = c == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        return longest
    }
}

extension Session {

    /// Runs `body` for one line and, for a line the learner typed (not one a lesson block runs on
    /// its own), records the line and what it printed — text streamed as it came included.
    func recording(_ line: String, _ body: () throws -> String) throws -> String {
        if transcript.depth > 0 { return try body() }
        let prompt = self.prompt
        transcript.depth += 1
        let original = stream
        terminalStream = original
        var streamed = ""
        if let original {
            stream = { text in
                streamed += text
                original(text)
            }
        }
        defer {
            stream = original
            terminalStream = nil
            transcript.depth -= 1
        }
        do {
            let output = try body()
            transcript.record(prompt: prompt, line: line, output: streamed + output)
            return output
        } catch {
            transcript.record(prompt: prompt, line: line, output: streamed + "error: \(error)\n")
            throw error
        }
    }
}
