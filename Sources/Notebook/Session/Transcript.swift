import AttnCore

/// What a session has run, for `save transcript` and `save notebook`: each line the learner typed,
/// after the prompt it was typed at, with everything it printed and what of it a page can show
/// better than text (its parts).
///
/// Recording costs one append per command; the Markdown or the page is only built when it is saved.
struct Transcript {
    struct Entry {
        var prompt: String
        var line: String
        var output: String
        /// What the output shows beyond its text, in the order it was printed.
        var parts: [NotebookPart] = []
        /// False for text a replay prints between commands (a lesson's prose): no command, and
        /// not in the Markdown transcript, which holds what was typed.
        var isCommand = true
    }

    private(set) var entries: [Entry] = []
    /// How deeply `execute` is nested: a lesson block runs its commands through `execute`, and
    /// only the line the learner typed (the outermost) is recorded, its output holding theirs.
    var depth = 0
    /// The parts of the entry being recorded, gathered while its command runs.
    var pendingParts: [NotebookPart] = []

    /// The commands recorded (comments and blank lines that printed nothing are not commands).
    var commandCount: Int {
        entries.filter { $0.isCommand && !$0.line.trimmingWhitespace().hasPrefix("#") }.count
    }

    mutating func record(prompt: String, line: String, output: String) {
        let parts = pendingParts
        pendingParts = []
        let trimmed = line.trimmingWhitespace()
        if trimmed.isEmpty && output.isEmpty { return }
        entries.append(Entry(prompt: prompt, line: line, output: output, parts: parts))
    }

    /// Prose a replay shows between commands, as Markdown (a lesson's text, its exercise lines).
    mutating func recordProse(_ markdown: String) {
        guard !markdown.trimmingWhitespace().isEmpty else { return }
        entries.append(Entry(prompt: "", line: "", output: "", parts: [.prose(text: "", markdown: markdown)], isCommand: false))
    }

    /// Adds a part to the command being recorded; outside a recorded command (a lesson's silent
    /// set-up, a caller of `executeLine`) there is no entry to hold it.
    mutating func add(_ part: @autoclosure () -> NotebookPart) {
        if depth > 0 { pendingParts.append(part()) }
    }

    /// The session as Markdown: a comment becomes a paragraph, every command a fenced block
    /// holding the prompt, the command and its output (colours removed).
    func markdown(model: String?) -> String {
        var text = "# attn transcript\n\n"
        text += "\(commandCount) command\(commandCount == 1 ? "" : "s")" + (model.map { ", \($0)" } ?? "") + ".\n"
        for entry in entries where entry.isCommand {
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
        transcript.pendingParts = []
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
        let lessonBefore = activeLesson
        do {
            let output = try body()
            // A lesson's prose comes after the output of the block that ran.
            for part in lessonProseParts(before: lessonBefore) { transcript.add(part) }
            transcript.record(prompt: prompt, line: line, output: streamed + output)
            return output
        } catch {
            transcript.record(prompt: prompt, line: line, output: streamed + "error: \(error)\n")
            throw error
        }
    }
}

/// Something a command printed that a page shows better than text, with the text it was printed
/// as (without colours), by which the page finds it in the command's output.
enum NotebookPart {
    /// A heat-shaded token × token matrix: its lines with each cell's shade (and the shade
    /// legend), then its heatmap.
    case matrix(text: String, lines: [[MatrixRenderer.Run]], heatmap: Heatmap)
    /// Prose set for the terminal (a lesson's), and the Markdown it was set from.
    case prose(text: String, markdown: String)
    /// The heatmap `plot` wrote, after the line that reports it.
    case plot(text: String, heatmap: Heatmap)

    /// A heatmap for the page, or why there is none: too many cells to draw in a page.
    enum Heatmap {
        case drawn(SVGHeatmap)
        case tooLarge(rows: Int, columns: Int)

        /// `chart` as the page draws it, unless it has more rows or columns than a page holds
        /// (``Session/maximumHeatmapSide``).
        init(_ chart: SVGHeatmap) {
            let (rows, columns) = (chart.matrix.rows, chart.matrix.columns)
            self = rows <= Session.maximumHeatmapSide && columns <= Session.maximumHeatmapSide
                ? .drawn(chart) : .tooLarge(rows: rows, columns: columns)
        }
    }

    /// The text the part was printed as.
    var text: String {
        switch self {
        case let .matrix(text, _, _), let .prose(text, _), let .plot(text, _): text
        }
    }
}

extension Session {
    /// The most rows or columns a heatmap in a page draws. Beyond 256 its grid is one image of at
    /// most 1024 × 1024 pixels (``SVGHeatmap/rasterThreshold``), about 1.4 MB in the page; this is
    /// a bound for matrices no trace makes.
    static let maximumHeatmapSide = 16_384

    /// A heatmap of `matrix` as `plot` draws it: the title, then the model, `location` and the
    /// sentence's length, with the ablated heads.
    func heatmap(_ matrix: Matrix, rowLabels: [String], columnLabels: [String], title: String, location: String) -> SVGHeatmap {
        var subtitle = "\(describeModelShort) · \(location) · \(cachedTrace?.count ?? rowLabels.count) tokens"
        if !ablated.isEmpty { subtitle += " · ablated \(ablationList)" }
        return SVGHeatmap(matrix: matrix, rowLabels: rowLabels, columnLabels: columnLabels,
                          title: "\(title)   \(matrix.shapeDescription)", subtitle: subtitle,
                          // NaN is a cell that does not exist (a band beyond the sentence), shown blank in the terminal.
                          format: { [renderer] in $0.isNaN ? "—" : renderer.format($0) })
    }

    /// A token × token matrix as the renderer prints it, heat-shaded; a recorded command keeps its
    /// shades and its heatmap for `save notebook`, whether or not the terminal has colour.
    /// - Parameters:
    ///   - title: the heatmap's title (the formula), without the shape.
    ///   - location: where it was computed, for the heatmap's subtitle (`layer 2, head 7`).
    func renderTokenMatrix(_ m: Matrix, rowLabels: [String], columnLabels: [String], rowOffset: Int = 0,
                           columnOffset: Int = 0, title: String, location: String,
                           layout: MatrixRenderer.Layout = MatrixRenderer.Layout()) -> String {
        guard transcript.depth > 0, m.rows > 0, m.columns > 0 else {
            return renderer.render(m, rowLabels: rowLabels, columnLabels: columnLabels, rowOffset: rowOffset,
                                   columnOffset: columnOffset, shade: true, layout: layout)
        }
        let (lines, range) = renderer.runs(m, rowLabels: rowLabels, columnLabels: columnLabels,
                                           rowOffset: rowOffset, columnOffset: columnOffset, layout: layout)
        let text = renderer.text(lines, range: range, shade: true)
        let chart = heatmap(m, rowLabels: rowLabels, columnLabels: columnLabels, title: title, location: location)
        transcript.add(.matrix(text: Transcript.plain(text), lines: lines + [renderer.legendRuns(range)], heatmap: .init(chart)))
        return text
    }

    /// The prose a command may have shown while a lesson was followed (`lesson 5`, Enter, `next`,
    /// `back`, `skip`, a passing exercise show the waiting block's; the last block, the closing
    /// prose), with its Markdown for `save notebook`. The page finds each by its text: what the
    /// command did not show (`weights` in a lesson shows no prose) is not found, and left out.
    func lessonProseParts(before: ActiveLesson?) -> [NotebookPart] {
        let markdown: String
        if let active = activeLesson, active.position < active.lesson.blocks.count {
            markdown = active.lesson.blocks[active.position].prose
        } else if let before {
            markdown = before.lesson.closing
        } else {
            return []
        }
        let shown = Transcript.plain(ProseRenderer(width: renderer.width, color: renderer.color).render(markdown))
        return shown.isEmpty ? [] : [.prose(text: shown, markdown: markdown)]
    }
}
