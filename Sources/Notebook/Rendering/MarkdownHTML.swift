import Foundation

/// Lesson prose and script comments from Markdown to XHTML, for `save notebook`: the Markdown the
/// lessons use, and nothing that could run or fetch anything.
///
/// ```
/// # Heading … ######     <h1> … <h6>
/// paragraph lines        <p>, with `code`, **strong**, *emphasis* and [text](https://…) inside
/// - item / 1. item       <ul> / <ol>, continuation lines joined to their item
/// ```fence … ```         <pre class="code">
///     formula            <pre class="formula"> (indented lines, and $$ lines, as they are)
/// | a | b |              <table>, the first row a header when a |---| line follows it
/// > quote                <blockquote>
/// ---                    <hr/>
/// ```
///
/// Every character of the text is escaped: HTML in the Markdown is shown as written, never read as
/// HTML, and a link is one only when it points to http(s).
enum MarkdownHTML {
    static func render(_ markdown: String) -> String {
        var html = ""
        var paragraph: [String] = []
        var list: (ordered: Bool, items: [String])?
        var preformatted: (kind: String, lines: [String])?
        var table: [String] = []
        var quote: [String] = []
        var fence: [String]?

        func flushParagraph() {
            guard !paragraph.isEmpty else { return }
            // Joined as the terminal joins them: no space between Chinese characters.
            html += "<p>" + inline(joinedParagraph(paragraph)) + "</p>\n"
            paragraph = []
        }
        func flushList() {
            guard let open = list else { return }
            let tag = open.ordered ? "ol" : "ul"
            html += "<\(tag)>\n" + open.items.map { "<li>" + inline($0) + "</li>\n" }.joined() + "</\(tag)>\n"
            list = nil
        }
        func flushPreformatted() {
            guard let block = preformatted else { return }
            html += "<pre class=\"\(block.kind)\">" + XMLText.escape(block.lines.joined(separator: "\n")) + "</pre>\n"
            preformatted = nil
        }
        func flushTable() {
            guard !table.isEmpty else { return }
            html += Self.table(table)
            table = []
        }
        func flushQuote() {
            guard !quote.isEmpty else { return }
            html += "<blockquote><p>" + inline(quote.joined(separator: "\n")) + "</p></blockquote>\n"
            quote = []
        }
        func flushAll() {
            flushParagraph(); flushList(); flushPreformatted(); flushTable(); flushQuote()
        }

        for raw in markdown.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = raw.replacingOccurrences(of: "\t", with: "    ")
            let trimmed = line.trimmingWhitespace()
            if let lines = fence {
                if trimmed.hasPrefix("```") {
                    html += "<pre class=\"code\"><code>" + XMLText.escape(lines.joined(separator: "\n")) + "</code></pre>\n"
                    fence = nil
                } else {
                    fence = lines + [line]
                }
                continue
            }
            if trimmed.hasPrefix("```") {
                flushAll()
                fence = []
                continue
            }
            if trimmed.isEmpty {
                // A blank line ends a paragraph, a list, a table or a quote; a formula may go on.
                flushParagraph(); flushList(); flushTable(); flushQuote()
                if preformatted != nil { preformatted?.lines.append("") }
                continue
            }
            let indented = line.hasPrefix("    ")
            // Indented lines are a formula, unless they continue a list item.
            if (indented && list == nil && paragraph.isEmpty) || trimmed.hasPrefix("$$") {
                flushParagraph(); flushList(); flushTable(); flushQuote()
                if preformatted?.kind != "formula" { flushPreformatted(); preformatted = ("formula", []) }
                preformatted?.lines.append(trimmed.hasPrefix("$$") ? trimmed : String(line.dropFirst(4)))
                continue
            }
            if let block = preformatted {
                // Trailing blank lines belong to no formula.
                var lines = block.lines
                while lines.last == "" { lines.removeLast() }
                preformatted = (block.kind, lines)
                flushPreformatted()
            }
            if let level = headingLevel(trimmed) {
                flushAll()
                let text = String(trimmed.dropFirst(level)).trimmingWhitespace()
                html += "<h\(level)>" + inline(text) + "</h\(level)>\n"
                continue
            }
            if trimmed.hasPrefix("|") {
                flushParagraph(); flushList(); flushQuote()
                table.append(trimmed)
                continue
            }
            if trimmed.hasPrefix(">") {
                flushParagraph(); flushList(); flushTable()
                quote.append(String(trimmed.dropFirst()).trimmingWhitespace())
                continue
            }
            if trimmed.count >= 3, trimmed.allSatisfy({ $0 == "-" }) || trimmed.allSatisfy({ $0 == "*" }) {
                flushAll()
                html += "<hr/>\n"
                continue
            }
            if let (ordered, text) = listItem(trimmed) {
                flushParagraph(); flushTable(); flushQuote()
                if list?.ordered != ordered { flushList(); list = (ordered, []) }
                list?.items.append(text)
                continue
            }
            // Until a blank line, a line after a list item continues it, as Markdown has it.
            if var open = list, let last = open.items.popLast() {
                open.items.append(joinedParagraph([last, trimmed]))
                list = open
                continue
            }
            flushTable(); flushQuote()
            paragraph.append(trimmed)
        }
        if let lines = fence {  // an unclosed fence runs to the end, as on GitHub
            html += "<pre class=\"code\"><code>" + XMLText.escape(lines.joined(separator: "\n")) + "</code></pre>\n"
        }
        if let block = preformatted {
            var lines = block.lines
            while lines.last == "" { lines.removeLast() }
            preformatted = (block.kind, lines)
        }
        flushAll()
        return html
    }

    /// `## Title` → 2; a heading needs a space after its hashes.
    static func headingLevel(_ line: String) -> Int? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...6).contains(hashes) else { return nil }
        let rest = line.dropFirst(hashes)
        return rest.isEmpty || rest.first == " " ? hashes : nil
    }

    /// `- text`, `* text`, `+ text` (unordered) or `12. text` (ordered).
    static func listItem(_ line: String) -> (ordered: Bool, text: String)? {
        if let first = line.first, "-*+".contains(first), line.dropFirst().first == " " {
            return (false, String(line.dropFirst(2)).trimmingWhitespace())
        }
        let digits = line.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 9 else { return nil }
        let rest = line.dropFirst(digits.count)
        guard rest.hasPrefix(". ") || rest.hasPrefix(") ") else { return nil }
        return (true, String(rest.dropFirst(2)).trimmingWhitespace())
    }

    /// The cells of a table row: `| a | b |` → a, b (a `|` inside a code span stays in its cell).
    static func cells(_ row: String) -> [String] {
        var cells: [String] = [], cell = "", inCode = false
        var characters = Substring(row)
        if characters.first == "|" { characters = characters.dropFirst() }
        while let c = characters.popFirst() {
            if c == "\\", characters.first == "|" { cell.append(characters.removeFirst()); continue }
            if c == "`" { inCode.toggle() }
            if c == "|", !inCode { cells.append(cell.trimmingWhitespace()); cell = ""; continue }
            cell.append(c)
        }
        if !cell.trimmingWhitespace().isEmpty { cells.append(cell.trimmingWhitespace()) }
        return cells
    }

    /// Rows of a table; a `|---|:--:|` line after the first makes it the header.
    static func table(_ rows: [String]) -> String {
        let separator = { (row: String) in
            let cells = Self.cells(row)
            return !cells.isEmpty && cells.allSatisfy { !$0.isEmpty && $0.allSatisfy { "-: ".contains($0) } }
        }
        var html = "<table>\n"
        var body = rows[...]
        if rows.count >= 2, separator(rows[1]) {
            html += "<thead><tr>" + cells(rows[0]).map { "<th>" + inline($0) + "</th>" }.joined() + "</tr></thead>\n"
            body = rows.dropFirst(2)
        }
        html += "<tbody>\n"
        for row in body where !separator(row) {
            html += "<tr>" + cells(row).map { "<td>" + inline($0) + "</td>" }.joined() + "</tr>\n"
        }
        return html + "</tbody>\n</table>\n"
    }

    /// Inline Markdown: code spans (their text as it is), `**strong**`, `*emphasis*`, `\*`
    /// escapes and links to http(s); everything else escaped.
    static func inline(_ text: String) -> String {
        var html = ""
        var rest = Substring(text)
        // The open tags, innermost last: a marker closes only the innermost, so that the page
        // stays well-formed whatever the Markdown says; what is open at the end is closed.
        var open: [String] = []
        // Each search for a closing marker is bounded, so that a long line of markers that
        // close nothing costs no more than a few passes over it.
        let lastStar = text.lastIndex(of: "*")
        var unclosedRuns: Set<Int> = []
        // The first `]` and `)` at or after the `[` being read.
        var nextClose = text.firstIndex(of: "]"), nextParenthesis = text.firstIndex(of: ")")
        let markers: Set<Character> = ["\\", "`", "*", "["]
        while let c = rest.first {
            guard markers.contains(c) else {
                let plain = rest.prefix { !markers.contains($0) }
                html += XMLText.escape(String(plain))
                rest = rest[plain.endIndex...]
                continue
            }
            if c == "\\", let next = rest.dropFirst().first, "\\`*_[]()#|<>!".contains(next) {
                html += XMLText.escape(String(next))
                rest = rest.dropFirst(2)
                continue
            }
            if c == "`" {
                let run = rest.prefix { $0 == "`" }
                let after = rest.dropFirst(run.count)
                if !unclosedRuns.contains(run.count), let close = after.range(of: String(run)) {
                    html += "<code>" + XMLText.escape(String(after[..<close.lowerBound]).trimmingWhitespace()) + "</code>"
                    rest = after[close.upperBound...]
                } else {
                    unclosedRuns.insert(run.count)
                    html += XMLText.escape(String(run))
                    rest = after
                }
                continue
            }
            if c == "*" {
                let tag = rest.hasPrefix("**") ? "strong" : "em"
                let marker = tag == "strong" ? 2 : 1
                let after = rest.dropFirst(marker)
                let closes = open.last == tag && html.last.map { !$0.isWhitespace } == true
                let opens = !open.contains(tag) && after.first.map { !$0.isWhitespace && $0 != "*" } == true
                    && lastStar.map { after.startIndex < $0 } == true
                if closes || opens {
                    if closes { open.removeLast() } else { open.append(tag) }
                    html += closes ? "</\(tag)>" : "<\(tag)>"
                    rest = rest.dropFirst(marker)
                    continue
                }
            }
            if c == "[", let close = nextClose, close < rest.startIndex { nextClose = rest.firstIndex(of: "]") }
            if c == "[", let end = nextParenthesis, end < rest.startIndex { nextParenthesis = rest.firstIndex(of: ")") }
            if c == "[", let close = nextClose, let end = nextParenthesis, close < end,
               text[text.index(after: close)...].hasPrefix("("), let link = link(rest, close: close, end: end) {
                html += link.html
                rest = rest.dropFirst(link.length)
                continue
            }
            html += XMLText.escape(String(c))
            rest = rest.dropFirst()
        }
        for tag in open.reversed() { html += "</\(tag)>" }
        return html
    }

    /// `[text](https://…)` at the start of `text`, its `]` at `close` and its `)` at `end`: the
    /// link's HTML and how many characters it took.
    static func link(_ text: Substring, close: String.Index, end: String.Index) -> (html: String, length: Int)? {
        let label = text[text.index(after: text.startIndex)..<close]
        let url = String(text[text.index(close, offsetBy: 2)..<end]).trimmingWhitespace()
        let length = text.distance(from: text.startIndex, to: end) + 1
        guard url.hasPrefix("https://") || url.hasPrefix("http://"), !url.contains(where: \.isWhitespace) else {
            return (inline(String(label)) + " (" + XMLText.escape(url) + ")", length)
        }
        return ("<a href=\"" + XMLText.escape(url) + "\">" + inline(String(label)) + "</a>", length)
    }
}
