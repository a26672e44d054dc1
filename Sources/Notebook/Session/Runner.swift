/// Where the notebook's lines come from: readline on a terminal, a pipe, a script, or a test.
public protocol LineSource {
    /// The next line without its line end, or `nil` at the end of input.
    mutating func nextLine(prompt: String) -> String?
}

/// Lines from an array: scripts and tests.
public struct ScriptLines: LineSource {
    private var lines: ArraySlice<String>
    public init(_ lines: [String]) { self.lines = lines[...] }
    public init(text: String) {
        // "\r\n" is one Character: split on it too, or a file with Windows line ends is one line.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if lines.last == "" { lines.removeLast() }
        self.init(lines)
    }
    public mutating func nextLine(prompt: String) -> String? { lines.popFirst() }
}

/// Runs a session over a line source.
public enum Runner {
    /// Runs every line; a failing line prints `error: …` and the session goes on.
    /// - Parameter echo: print each line after the prompt (for transcripts).
    public static func runAll<Source: LineSource>(_ session: Session, _ source: inout Source, echo: Bool = false,
                                                  write: (String) -> Void) {
        while let line = source.nextLine(prompt: session.prompt) {
            if echo { write(session.prompt + escapingControlCharacters(line) + "\n") }
            do {
                write(try session.execute(line))
            } catch {
                write("error: \(escapingControlCharacters("\(error)"))\n")
            }
            if session.wantsToQuit { return }
        }
    }

    /// A failure at a line of a replayed script or of a lesson file: the 1-based line number and the error.
    public struct Failure: Error, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let error: Error
        public var description: String { "\(file):\(line): error: \(escapingControlCharacters("\(error)"))" }
    }

    /// Replays a script, echoing each command after the prompt; stops at the first failing line.
    public static func replay(_ session: Session, file: String, lines: [String], write: (String) -> Void) throws(Failure) {
        var remaining = lines.makeIterator()
        try replay(session, file: file, nextLine: { remaining.next() }, write: write)
    }

    /// Replays lines as `nextLine` reads them (nil at the end), so a script is never held whole;
    /// a line it cannot read (too long, say) stops the replay with its error at that line.
    public static func replay(_ session: Session, file: String, nextLine: () throws -> String?,
                              write: (String) -> Void) throws(Failure) {
        var number = 0
        while true {
            number += 1
            let line: String
            do {
                guard let next = try nextLine() else { return }
                line = next
            } catch {
                throw Failure(file: file, line: number, error: error)
            }
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            write(session.prompt + escapingControlCharacters(line) + "\n")
            do {
                write(try session.execute(line))
            } catch {
                throw Failure(file: file, line: number, error: error)
            }
            if session.wantsToQuit { return }
        }
    }

    /// Replays a lesson: its prose set for the width, then every block's commands with their
    /// output; an exercise runs its solution. Stops at the first failing command with the line of
    /// the Markdown file.
    /// - Parameter commandOutput: receives what the commands print, without the prose and the
    ///   echoed commands (what `attn lint` compares the prose's numbers with).
    public static func replay(_ session: Session, lesson: Lesson, commandOutput: (String) -> Void = { _ in },
                              write: (String) -> Void) throws(Failure) {
        let prose = ProseRenderer(width: session.renderer.width, color: session.renderer.color)
        // What the lesson relies on (its model, layer 0, head 0, …); silent in a fresh session.
        do {
            let setUp = try session.setUpLesson(lesson, before: 0)
            if !setUp.isEmpty { write(setUp + "\n") }
            session.transcript.recordProse(setUp)
        } catch {
            throw Failure(file: lesson.path, line: lesson.blocks.first?.line ?? 1, error: error)
        }
        for block in lesson.blocks {
            let text = prose.render(block.prose)
            if !text.isEmpty { write(text + "\n") }
            // The prose goes to the transcript as Markdown, for `--html`; the commands record themselves.
            session.transcript.recordProse(block.prose)
            if let step = block.exercise {
                write("✎ exercise: compute \(escapingControlCharacters(step)) yourself. The solution:\n")
                session.transcript.recordProse("✎ exercise: compute `\(step.replacingOccurrences(of: "`", with: ""))` yourself. The solution:")
            }
            var commands = block.commands
            if let sentence = block.defaultSentence, session.sentence == nil {
                commands.insert(("sentence \(sentence)", block.line), at: 0)
            }
            var last = ""
            for command in commands {
                write(session.prompt + Session.echo(command.text) + "\n")
                do {
                    last = try session.runningLessonBlock {
                        try session.runLessonLine(command.text, block: block, lessonPath: lesson.path)
                    }
                    write(last)
                    commandOutput(last)
                } catch {
                    throw Failure(file: lesson.path, line: command.line, error: error)
                }
            }
            // An exercise's solution must pass its own check, or the lesson teaches a wrong answer.
            if let step = block.exercise {
                let final = commands.last?.text.trimmingWhitespace() ?? ""
                guard final.hasPrefix("check "), final.hasSuffix(" \(step)"), last.hasPrefix("✓") else {
                    throw Failure(file: lesson.path, line: commands.last?.line ?? block.line,
                                  error: NotebookError.lesson("the exercise's solution must end with a passing check … \(step)"))
                }
                if let problem = session.solutionProblem(block, checkLine: final) {
                    throw Failure(file: lesson.path, line: commands.last?.line ?? block.line,
                                  error: NotebookError.lesson("the exercise's solution breaks its own # forbid: or # require: \(problem)"))
                }
            }
            if !last.hasSuffix("\n\n") { write("\n") }
        }
        write(prose.render(lesson.closing))
        session.transcript.recordProse(lesson.closing)
    }
}
