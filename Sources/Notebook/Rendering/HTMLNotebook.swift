import Foundation

/// A session as one self-contained HTML page (`save notebook PATH.html`, `attn replay --html`):
/// every command after its prompt with its output as text, the token × token matrices shaded as a
/// colour terminal shades them, each followed by its SVG heatmap, and lesson prose and comments
/// set from their Markdown. No script, no request: the page is read as it is, offline.
///
/// The page is XHTML-compatible HTML5 (closed tags, escaped text), so that it parses as XML too,
/// and the same session gives the same bytes: no dates, and ids numbered in order.
struct HTMLNotebook {
    let entries: [Transcript.Entry]
    /// The commands recorded, for the summary line.
    let commandCount: Int
    /// The model's title (`all-MiniLM-L6-v2`), when a model was loaded.
    let model: String?

    /// The most bytes a page holds: tens of MB is as much as a browser opens comfortably.
    static let byteLimit = 40_000_000

    /// The page, and how many heatmaps it draws.
    /// - Throws: `NotebookError.pageTooLarge` past `byteLimit` (checked as the page grows).
    func render() throws -> (page: String, heatmaps: Int) {
        var body = ""
        var figures = 0
        var comment: [String] = []
        func flushComment() {
            guard !comment.isEmpty else { return }
            body += "<div class=\"prose comment\">\n" + MarkdownHTML.render(comment.joined(separator: "\n")) + "</div>\n"
            comment = []
        }
        for (index, entry) in entries.enumerated() {
            let trimmed = entry.line.trimmingWhitespace()
            if entry.isCommand, let text = Self.comment(entry.line) {
                comment.append(text)
                if entry.output.isEmpty { continue }
            }
            flushComment()
            if entry.isCommand && !trimmed.hasPrefix("#") {
                body += "<section class=\"command\" id=\"c\(index + 1)\">\n"
                body += "<pre class=\"input\"><span class=\"prompt\">" + XMLText.escape(entry.prompt) + "</span>"
                    + (trimmed.isEmpty ? "<span class=\"enter\">(Enter)</span>" : XMLText.escape(trimmed)) + "</pre>\n"
                body += output(entry, figures: &figures)
                body += "</section>\n"
            } else {
                body += output(entry, figures: &figures)
            }
            if body.utf8.count > Self.byteLimit { throw NotebookError.pageTooLarge(limit: Self.byteLimit) }
        }
        flushComment()
        let summary = "\(commandCount) command\(commandCount == 1 ? "" : "s")" + (model.map { ", \($0)" } ?? "") + "."
        let page = """
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en" xml:lang="en">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <meta name="generator" content="attn save notebook"/>
            <title>\(XMLText.escape(title))</title>
            <style>
            \(Self.style)</style>
            </head>
            <body>
            <header>
            <h1>attn notebook</h1>
            <p class="summary">\(XMLText.escape(summary))</p>
            </header>
            <main>
            \(body)</main>
            </body>
            </html>

            """
        guard page.utf8.count <= Self.byteLimit else { throw NotebookError.pageTooLarge(limit: Self.byteLimit) }
        return (page, figures)
    }

    /// `attn notebook`, with the first top-level heading of the prose or the comments: the
    /// lesson's title.
    var title: String {
        for entry in entries {
            var markdown = entry.parts.compactMap { part -> String? in
                if case let .prose(_, markdown) = part { return markdown }
                return nil
            }
            if entry.isCommand, let comment = Self.comment(entry.line) { markdown.append(comment) }
            for text in markdown {
                for line in text.split(whereSeparator: \.isNewline) where MarkdownHTML.headingLevel(String(line)) == 1 {
                    return "attn notebook: " + String(line.dropFirst()).trimmingWhitespace()
                }
            }
        }
        return "attn notebook"
    }

    /// A comment's Markdown: its text after `#` and one space (comments in a row are one text).
    static func comment(_ line: String) -> String? {
        let trimmed = line.trimmingWhitespace()
        guard trimmed.hasPrefix("#") else { return nil }
        var text = trimmed.dropFirst()
        if text.first == " " { text = text.dropFirst() }
        return String(text)
    }

    /// A command's output: its text in `<pre>` blocks, the parts found in it shown as themselves.
    func output(_ entry: Transcript.Entry, figures: inout Int) -> String {
        let plain = Transcript.plain(entry.output)
        var html = "", pre = ""
        var cursor = plain.startIndex
        func text(upTo end: String.Index) {
            pre += Self.outputText(plain[cursor..<end])
            cursor = end
        }
        func closePre() {
            // A browser drops a newline just after <pre>; the page's margins stand for the rest.
            var content = Substring(pre)
            while content.first == "\n" { content = content.dropFirst() }
            while content.last == "\n" { content = content.dropLast() }
            if !content.isEmpty { html += "<pre class=\"output\">" + content + "</pre>\n" }
            pre = ""
        }
        func figure(_ heatmap: NotebookPart.Heatmap) {
            switch heatmap {
            case let .drawn(svg):
                figures += 1
                html += "<figure class=\"heatmap\" id=\"heatmap-\(figures)\">\n" + svg.element(id: "heatmap-\(figures)-scale") + "</figure>\n"
            case let .tooLarge(rows, columns):
                html += "<p class=\"note\">The heatmap of this \(rows) × \(columns) matrix is left out: a page draws at most "
                    + "\(Session.maximumHeatmapSide) × \(Session.maximumHeatmapSide) cells (plot writes any size to an SVG file).</p>\n"
            }
        }
        for part in entry.parts {
            // Each part is found after the one before it; one that is not there was not shown.
            guard let found = part.text.isEmpty ? cursor..<cursor : plain.range(of: part.text, range: cursor..<plain.endIndex) else { continue }
            switch part {
            case let .matrix(_, lines, heatmap):
                text(upTo: found.lowerBound)
                pre += lines.map { Self.shaded($0) + "\n" }.joined()
                cursor = found.upperBound
                closePre()
                figure(heatmap)
            case let .prose(_, markdown):
                text(upTo: found.lowerBound)
                closePre()
                html += "<div class=\"prose\">\n" + MarkdownHTML.render(markdown) + "</div>\n"
                cursor = found.upperBound
            case let .plot(_, heatmap):
                text(upTo: found.upperBound)
                closePre()
                figure(heatmap)
            }
        }
        text(upTo: plain.endIndex)
        closePre()
        return html
    }

    /// Output text escaped, its error lines marked.
    static func outputText(_ text: Substring) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("error: ") ? "<span class=\"error\">" + XMLText.escape(String(line)) + "</span>" : XMLText.escape(String(line))
        }.joined(separator: "\n")
    }

    /// A line of a matrix with its cells shaded: each cell a span of its grey level.
    static func shaded(_ line: [MatrixRenderer.Run]) -> String {
        line.map { run in
            switch run.shade {
            case nil: XMLText.escape(run.text)
            case .masked: "<span class=\"masked\">" + XMLText.escape(run.text) + "</span>"
            case let .level(level)?: "<span class=\"g\(level)\">" + XMLText.escape(run.text) + "</span>"
            }
        }.joined()
    }

    /// The page's style: a reading column, monospaced output, and the terminal's grey ramp as
    /// classes `g234` … `g255` (the colours `MatrixRenderer` shades with, as xterm draws them).
    static let style: String = {
        var css = """
            body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; line-height: 1.5;
                   color: #1f2328; background: #ffffff; max-width: 1100px; margin: 2em auto; padding: 0 1.5em; }
            header { border-bottom: 1px solid #d0d7de; margin-bottom: 1.5em; }
            header h1 { margin-bottom: 0.2em; }
            .summary { color: #57606a; margin-top: 0; }
            pre, code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
            pre { line-height: 1.35; margin: 0.4em 0; overflow-x: auto; white-space: pre; }
            section.command { border-left: 3px solid #d0d7de; margin: 1.2em 0; padding: 0.1em 0 0.1em 0.9em; }
            pre.input { font-weight: bold; color: #0b4f8a; }
            pre.input .prompt { font-weight: normal; color: #57606a; }
            pre.input .enter { font-weight: normal; font-style: italic; color: #57606a; }
            .error { color: #b3261e; }
            .masked { opacity: 0.45; }
            figure.heatmap { margin: 0.6em 0 1em 0; }
            figure.heatmap svg { max-width: 100%; height: auto; }
            .note { color: #57606a; font-style: italic; }
            .prose { margin: 1.2em 0; }
            .prose pre.formula, .prose pre.code { background: #f6f8fa; padding: 0.6em 0.9em; border-radius: 4px; }
            .prose code { background: #f6f8fa; padding: 0 0.25em; border-radius: 3px; }
            .prose table { border-collapse: collapse; margin: 0.6em 0; }
            .prose th, .prose td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
            .prose blockquote { border-left: 3px solid #d0d7de; margin-left: 0; padding-left: 1em; color: #57606a; }
            .comment { color: #24292f; }

            """
        for level in 234...255 {
            css += ".g\(level) { background: \(MatrixRenderer.greyHex(level)); color: \(MatrixRenderer.greyHex(MatrixRenderer.foreground(level))); }\n"
        }
        return css
    }()
}
