import AttnCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Notebook
import Testing

// A notebook you can share (issue 17): `save notebook PATH.html` and `attn replay --html`.
// Every page here is read back with an XML parser, and its numbers with the trace's.

// MARK: - Reading a page back

/// An element of a parsed page: its name, attributes, children, and the text directly inside it.
final class PageNode {
    let name: String
    let attributes: [String: String]
    var children: [PageNode] = []
    /// Text and children in document order: a string, or an index into `children`.
    var content: [Either] = []
    enum Either { case text(String), child(Int) }

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    /// Every element below (not this one) named `name`, in document order.
    func all(_ name: String) -> [PageNode] {
        children.flatMap { ($0.name == name ? [$0] : []) + $0.all(name) }
    }

    /// Every element below whose `class` attribute holds `name`.
    func classed(_ name: String) -> [PageNode] {
        children.flatMap { (($0.attributes["class"] ?? "").split(separator: " ").contains(Substring(name)) ? [$0] : []) + $0.classed(name) }
    }

    /// The text of this element and everything in it.
    var text: String {
        content.map { part in
            switch part {
            case let .text(text): text
            case let .child(index): children[index].text
            }
        }.joined()
    }

    subscript(_ attribute: String) -> String? { attributes[attribute] }
}

/// Builds the tree of `PageNode`s as XMLParser reads.
final class PageBuilder: NSObject, XMLParserDelegate {
    var stack: [PageNode] = [PageNode(name: "#document", attributes: [:])]
    var error: Error?

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        let node = PageNode(name: name, attributes: attributes)
        let parent = stack[stack.count - 1]
        parent.children.append(node)
        parent.content.append(.child(parent.children.count - 1))
        stack.append(node)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        stack.removeLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        stack[stack.count - 1].content.append(.text(string))
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }
}

struct NotWellFormed: Error, CustomStringConvertible {
    let description: String
}

/// Parses a page (or an SVG) as XML; throws unless it is well-formed.
func parsePage(_ data: Data) throws -> PageNode {
    let parser = XMLParser(data: data)
    let builder = PageBuilder()
    parser.delegate = builder
    guard parser.parse(), builder.error == nil, builder.stack.count == 1 else {
        throw NotWellFormed(description: "not well-formed XML: \(builder.error ?? parser.parserError.map { $0 as Error } ?? NotWellFormed(description: "unbalanced"))")
    }
    guard let root = builder.stack[0].children.first else { throw NotWellFormed(description: "no root element") }
    return root
}

func parsePage(_ text: String) throws -> PageNode { try parsePage(Data(text.utf8)) }

/// The value after the last `: ` of a cell's title, `[2, 4] query cat → key the: 0.1298`.
private func cellValue(_ title: String) -> Float? {
    title.components(separatedBy: ": ").last.flatMap { Float($0) }
}

/// The shade the terminal gives `value` in a matrix whose finite values span `range`, written
/// out here: 21 steps of the grey ramp from 255 (smallest) to 234 (largest).
private func expectedLevel(_ value: Float, _ range: ClosedRange<Float>) -> Int {
    let t = (value - range.lowerBound) / (range.upperBound - range.lowerBound)
    return 255 - Int((t * 21).rounded())
}

private func contents(_ directory: String, _ name: String) throws -> String {
    try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
}

// MARK: - A session saved as a page

@Suite("save notebook: a session as one self-contained, well-formed HTML page")
struct HTMLNotebookTests {
    static let script = """
        # # Where does cat look?
        # The **weights** of `layer 2`, head 7, against *its* scores:
        # - weights = softmax(masked)
        # - scores = q · kᵀ
        sentence the cat sat on the mat
        layer 2
        head 7
        weights
        scores
        plot weights w.svg
        rollout
        layer 9
        save notebook n.html
        """

    @Test("the page parses as XML, has no script and fetches nothing, and holds every command with its output")
    func wellFormed() throws {
        let s = ScriptedSession()
        let output = s.run(Self.script)
        #expect(output.hasSuffix("wrote 8 commands with their output and 4 heatmaps as a page to n.html\n"), "\(output)")
        let html = try contents(s.directory, "n.html")
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\" xml:lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"))
        let page = try parsePage(html)
        #expect(page.name == "html")
        #expect(page.all("title").first?.text == "attn notebook: Where does cat look?")
        // Nothing runs and nothing is fetched: no script, no external reference of any kind.
        for name in ["script", "link", "img", "iframe", "object", "embed", "use", "image", "foreignObject"] {
            #expect(page.all(name).isEmpty, "\(name)")
        }
        for attribute in ["src", "href", "xlink:href", "onload", "onclick"] {
            func any(_ node: PageNode) -> Bool { node[attribute] != nil || node.children.contains(where: any) }
            #expect(!any(page), "\(attribute)")
        }
        #expect(!html.contains("url(http") && !html.contains("@import"))
        // The prompts and commands, in order, each in its own section.
        let inputs = page.classed("input").map(\.text)
        #expect(inputs == ["minilm L0 H0> sentence the cat sat on the mat", "minilm L0 H0> layer 2", "minilm L2 H0> head 7",
                           "minilm L2 H7> weights", "minilm L2 H7> scores", "minilm L2 H7> plot weights w.svg",
                           "minilm L2 H7> rollout", "minilm L2 H7> layer 9"])
        let sections = page.all("section")
        #expect(sections.count == 8)
        #expect(sections[0].classed("output").first?.text == "sentence: 8 tokens: [CLS] the cat sat on the mat [SEP]")
        #expect(sections[7].classed("error").map(\.text) == ["error: layer 9 does not exist: minilm has layers 0…5"])
        // The comments, set from their Markdown: a heading, emphasis, code and a list.
        let prose = try #require(page.classed("prose").first)
        #expect(prose.all("h1").map(\.text) == ["Where does cat look?"])
        #expect(prose.all("strong").map(\.text) == ["weights"] && prose.all("em").map(\.text) == ["its"])
        #expect(prose.all("code").map(\.text) == ["layer 2"])
        #expect(prose.all("li").map(\.text) == ["weights = softmax(masked)", "scores = q · kᵀ"])
    }

    @Test("each token × token step shown, the rollout and the plot are inline SVG heatmaps of T × T cells with token labels and a colour scale")
    func heatmaps() throws {
        let s = ScriptedSession()
        s.run(Self.script)
        let page = try parsePage(try contents(s.directory, "n.html"))
        let svgs = page.all("svg")
        #expect(svgs.map { $0.all("title").first?.text ?? "" } == [
            "weights = softmax(masked)   (by rows)   [8 × 8]", "scores = q · kᵀ   [8 × 8]",
            "weights = softmax(masked)   (by rows)   [8 × 8]",
            "rollout = Â5 · … · Â0,  Âₗ = rownorm(mean over heads of weightsₗ + I)   [8 × 8]",
        ])
        let tokens = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
        var gradients: Set<String> = []
        for svg in svgs {
            #expect(svg["xmlns"] == "http://www.w3.org/2000/svg")
            let cells = svg.classed("cell")
            #expect(cells.count == 64)
            // 8 × 8 cells of 40 px (640 px shared by 8, at most 40): a grid of 320 px a side.
            #expect(Set(cells.map { $0["width"] }) == ["40.0"] && Set(cells.map { $0["height"] }) == ["40.0"])
            let xs = Set(cells.compactMap { $0["x"].flatMap(Double.init) }), ys = Set(cells.compactMap { $0["y"].flatMap(Double.init) })
            #expect(xs.count == 8 && ys.count == 8 && xs.max()! - xs.min()! == 280 && ys.max()! - ys.min()! == 280)
            let width = try #require(svg["width"].flatMap(Double.init)), height = try #require(svg["height"].flatMap(Double.init))
            #expect(svg["viewBox"] == "0 0 \(svg["width"]!) \(svg["height"]!)")
            #expect(width >= xs.max()! + 40 + 16 && height >= ys.max()! + 40, "the grid and its legend fit the drawing")
            // Token labels on both axes, and a colour scale whose gradient the legend fills with.
            #expect(svg.classed("row-labels").first?.children.map { $0.content.first.map { if case let .text(t) = $0 { t } else { "" } } ?? "" } == tokens)
            #expect(svg.classed("column-labels").first?.children.count == 8)
            let gradient = try #require(svg.all("linearGradient").first?["id"])
            #expect(svg.classed("legend").first?.all("rect").first?["fill"] == "url(#\(gradient))")
            #expect(svg.all("stop").count == SVGHeatmap.stops.count)
            gradients.insert(gradient)
            // Every fill is a colour of the one formula: viridis at the cell's place in the range.
            let values = cells.compactMap { $0.all("title").first.flatMap { cellValue($0.text) } }
            let range = values.min()!...values.max()!
            for (cell, value) in zip(cells, values) where range.upperBound > range.lowerBound {
                let t = Double((value - range.lowerBound) / (range.upperBound - range.lowerBound))
                let fill = cell["fill"]!
                let expected = SVGHeatmap.colour(t)
                // The titles have 4 decimals: the colour may differ by one step of a channel.
                let channels = { (hex: String) in stride(from: 1, to: 7, by: 2).map { Int(hex.dropFirst($0).prefix(2), radix: 16)! } }
                #expect(zip(channels(fill), channels(expected)).allSatisfy { abs($0 - $1) <= 2 }, "\(fill) \(expected)")
            }
        }
        #expect(gradients.count == svgs.count, "one gradient id per heatmap in the page")
    }

    @Test("the numbers in the page are the trace's: the heatmap's cells and the shaded text of weights and scores")
    func numbers() throws {
        let s = ScriptedSession(width: 120)  // wide enough for every column of scores
        s.run(Self.script)
        let trace = try #require(s.session.currentTrace)
        let head = trace.layers[2].heads[7]
        let page = try parsePage(try contents(s.directory, "n.html"))
        let svgs = page.all("svg")
        for (svg, matrix) in [(svgs[0], head.weights), (svgs[1], head.scores), (svgs[2], head.weights)] {
            for cell in svg.classed("cell") {
                let title = try #require(cell.all("title").first?.text)
                // "[i, j] query the → key cat: 0.1298"
                let indices = title.dropFirst().prefix { $0 != "]" }.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                #expect(indices.count == 2)
                let (i, j) = (indices[0], indices[1])
                #expect(title.contains("query \(trace.tokens[i]) → key \(trace.tokens[j]):"))
                let value = try #require(cellValue(title))
                #expect(abs(value - matrix[i, j]) <= 5e-5, "\(title) against \(matrix[i, j])")
            }
        }
        let rollout = plainRollout(trace)
        for cell in svgs[3].classed("cell") {
            let title = cell.all("title").first?.text ?? ""
            let indices = title.dropFirst().prefix { $0 != "]" }.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            #expect(abs(Double(cellValue(title) ?? .nan) - rollout[indices[0]][indices[1]]) <= 5e-5, "\(title)")
        }
        // The shaded text: one span per cell, its grey level the terminal's, its number the trace's.
        let sections = page.all("section")
        for (section, matrix) in [(sections[3], head.weights), (sections[4], head.scores)] {
            let output = try #require(section.classed("output").first)
            let shaded = output.children.filter { ($0["class"] ?? "").hasPrefix("g") }
            #expect(shaded.count == 64 + 8, "the cells and the legend's 8 shades")
            let range = matrix.values.min()!...matrix.values.max()!
            for (k, span) in shaded.prefix(64).enumerated() {
                let value = matrix[k / 8, k % 8]
                #expect(abs(Float(span.text.trimmingCharacters(in: .whitespaces))! - value) <= 5e-5, "\(span.text) against \(value)")
                #expect(span["class"] == "g\(expectedLevel(value, range))", "\(span.text)")
            }
            #expect(shaded.suffix(8).map { $0["class"]! } == ["g255", "g252", "g249", "g246", "g243", "g240", "g237", "g234"])
            // The text reads as the terminal prints it, without colour.
            let rows = output.text.split(separator: "\n").map(String.init)
            #expect(rows.contains { $0.hasPrefix("cat  ") && NotebookTests.numbers(in: Substring($0)).count == 8 })
            #expect(rows.last?.hasPrefix("shade: ") == true && rows.last?.hasSuffix("(darker = larger)") == true)
        }
        // The style gives each level the colour xterm draws it with: 234 is #1c1c1c, 255 #eeeeee.
        let style = try #require(page.all("style").first?.text)
        #expect(style.contains(".g234 { background: #1c1c1c; color: #eeeeee; }"))
        #expect(style.contains(".g255 { background: #eeeeee; color: #080808; }"))
    }

    @Test("the same script gives the same bytes, with or without a colour terminal, every time")
    func deterministic() throws {
        let plain = ScriptedSession(), again = ScriptedSession()
        let coloured = ScriptedSession()
        coloured.session.renderer.color = true
        for s in [plain, again, coloured] { s.run(Self.script) }
        let first = try contents(plain.directory, "n.html")
        #expect(first == (try contents(again.directory, "n.html")))
        // The colour terminal got ANSI shades and a legend line; the page is shaded the same either way.
        #expect(coloured.run("weights").contains("\u{1B}[48;5;234m"))
        #expect(first == (try contents(coloured.directory, "n.html")))
    }

    @Test("hostile text comes out escaped and well-formed: markup, ampersands, quotes, control characters, Chinese, emoji")
    func hostile() throws {
        let s = ScriptedSession()
        let sentence = "<script>alert('x')</script> & \"quoted\" ]]> 猫が座った 🐱‍👤 é"
        let comment = "# <b>bold?</b> </div> &amp; \u{07}bell \u{1B}[31mred \u{202E}reversed"
        s.run("""
            \(comment)
            sentence \(sentence)
            weights
            plot weights w.svg
            show weights[1:3, 0:4]
            save notebook n.html
            """)
        let html = try contents(s.directory, "n.html")
        let page = try parsePage(html)  // well-formed, whatever the text held
        #expect(page.all("script").isEmpty && page.all("b").isEmpty)
        #expect(html.contains("sentence &lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt; &amp; &quot;quoted&quot; ]]&gt; 猫が座った 🐱‍👤 é"))
        #expect(page.classed("input").first?.text == "minilm L0 H0> sentence " + sentence)
        // The comment is shown as written: its markup as text, its control characters visible.
        let prose = try #require(page.classed("prose").first)
        #expect(prose.text.contains("<b>bold?</b> </div> &amp; \\u{7}bell \\u{1b}[31mred \\u{202e}reversed"), "\(prose.text)")
        for scalar in html.unicodeScalars {
            #expect(scalar.value >= 0x20 || scalar == "\n" || scalar == "\t", "no control character in the page")
            #expect(!(0x202A...0x202E).contains(scalar.value))
        }
        // The heatmaps carry the tokens as labels, escaped.
        let svgs = page.all("svg")
        #expect(svgs.count == 3)
        let labels = svgs[0].classed("row-labels").first?.children.map { $0.all("title").first?.text ?? "" } ?? []
        #expect(labels.contains("query 1: <") && labels.contains("query 14: &"))
        #expect(svgs[2].classed("cell").count == 2 * 4)
    }

    @Test("a file this session did not write needs !, a link at the name is replaced and not written through")
    func target() throws {
        let s = ScriptedSession()
        defer { try? FileManager.default.removeItem(atPath: s.directory) }
        #expect(FileManager.default.createFile(atPath: s.directory + "/mine.html", contents: Data("the learner's own\n".utf8)))
        #expect(FileManager.default.createFile(atPath: s.directory + "/victim.txt", contents: Data("precious\n".utf8)))
        try FileManager.default.createSymbolicLink(atPath: s.directory + "/link.html", withDestinationPath: s.directory + "/victim.txt")
        s.run("sentence the cat sat on the mat\nweights")
        #expect(s.failure("save notebook mine.html") == "mine.html exists, and this session did not write it: to replace it, end the name with ! (save notebook mine.html!), or choose another name")
        #expect(try contents(s.directory, "mine.html") == "the learner's own\n")
        #expect(try s.session.execute("save notebook mine.html!") == "wrote 3 commands with their output and 1 heatmap as a page to mine.html, replacing the existing file\n")
        #expect(try contents(s.directory, "mine.html").hasPrefix("<!DOCTYPE html>"))
        // Written by this session now: replaced without asking.
        #expect(try s.session.execute("save notebook mine.html") == "wrote 4 commands with their output and 1 heatmap as a page to mine.html\n")
        #expect(s.failure("save notebook link.html")?.hasPrefix("link.html exists, and this session did not write it") == true)
        _ = try s.session.execute("save notebook link.html!")
        #expect(try contents(s.directory, "victim.txt") == "precious\n")
        #expect(try FileManager.default.attributesOfItem(atPath: s.directory + "/link.html")[.type] as? FileAttributeType == .typeRegular)
        #expect(try contents(s.directory, "link.html").hasPrefix("<!DOCTYPE html>"))
        #expect(s.failure("save notebook n.md") == "save notebook writes .html files: end the file name with .html (not n.md)")
        #expect(s.failure("save notebook") == "usage: save transcript PATH.md or save notebook PATH.html")
        #expect(s.failure("save notebook \(s.directory)/") == "cannot write \(s.directory)/: it is a directory")
        let names = try FileManager.default.contentsOfDirectory(atPath: s.directory).sorted()
        #expect(names == ["link.html", "mine.html", "victim.txt"], "written atomically: no temporary file left")
    }

    @Test("help save and the overview name save notebook; Tab offers it")
    func help() throws {
        let s = ScriptedSession()
        #expect(s.run("help").contains("save notebook PATH.html"))
        let text = s.run("help save notebook")
        #expect(text.contains("save notebook PATH.html") && text.contains("HTML page"))
        #expect(s.run("help save").replacingOccurrences(of: "\n", with: " ").contains("save notebook PATH.html: the session so far as one self-contained HTML page"))
        #expect(SaveCommand.completions(CompletionRequest(session: s.session, command: "save", previous: [], word: "n")) == .words(["notebook"]))
    }

    @Test("a matrix of more than 256 tokens is shown as text, and its heatmap as one image of a pixel per cell")
    func largeMatrix() throws {
        let s = ScriptedSession()
        let output = s.run("sentence " + String(repeating: "word ", count: 300) + "\nweights\nsave notebook n.html")
        #expect(output.hasSuffix("wrote 2 commands with their output and 1 heatmap as a page to n.html\n"), "\(output.suffix(200))")
        let html = try contents(s.directory, "n.html")
        let page = try parsePage(html)
        #expect(page.all("svg").count == 1 && page.all("image").count == 1)
        #expect(page.classed("note").isEmpty)
        #expect(html.utf8.count < 2_000_000)
        #expect(page.all("section")[1].classed("output").first?.children.filter { ($0["class"] ?? "").hasPrefix("g") }.isEmpty == false)
    }

    @Test("a script of 50,000 comments and a few commands saves quickly: the comments are one Markdown text")
    func manyComments() throws {
        let s = ScriptedSession()
        let start = ContinuousClock.now
        let output = s.run(String(repeating: "# a comment with `code` and *emphasis*\n", count: 50_000) + "sentence the cat sat on the mat\nweights\nsave notebook n.html")
        #expect(output.hasSuffix("wrote 2 commands with their output and 1 heatmap as a page to n.html\n"))
        #expect(ContinuousClock.now - start < .seconds(30))
        let page = try parsePage(try contents(s.directory, "n.html"))
        #expect(page.classed("comment").count == 1 && page.all("code").count == 50_000)
    }

    @Test("a page past the budget is refused with one line, and nothing is written")
    func budget() throws {
        let entry = Transcript.Entry(prompt: "minilm L0 H0> ", line: "generate 1000", output: String(repeating: "x", count: HTMLNotebook.byteLimit))
        #expect(throws: NotebookError.pageTooLarge(limit: HTMLNotebook.byteLimit)) {
            try HTMLNotebook(entries: [entry], commandCount: 1, model: nil).render()
        }
        #expect("\(NotebookError.pageTooLarge(limit: HTMLNotebook.byteLimit))" == "the notebook would be larger than 40 MB, more than a page should hold: save transcript PATH.md writes its text, plot and export its matrices")
        // Just under it, the page is written.
        let small = Transcript.Entry(prompt: "minilm L0 H0> ", line: "tokens", output: String(repeating: "x", count: 1000))
        #expect(try HTMLNotebook(entries: [small], commandCount: 1, model: nil).render().page.contains(String(repeating: "x", count: 1000)))
    }
}

// MARK: - Lessons

@Suite("save notebook and replay --html of a lesson: its prose from Markdown, its blocks with their output")
struct HTMLNotebookLessonTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("replaying lesson 5 to a page: its headings, formulas and every block's commands with heatmaps")
    func replay() throws {
        let s = ScriptedSession()
        let lesson = try Lesson(path: Self.repository + "/Lessons/05-why-scale.md")
        var text = ""
        try Runner.replay(s.session, lesson: lesson) { text += $0 }
        let report = try s.session.saveReplayNotebook(to: "lesson.html")
        #expect(report == "wrote 18 commands with their output and 4 heatmaps as a page to lesson.html\n")
        let page = try parsePage(try contents(s.directory, "lesson.html"))
        #expect(page.all("title").first?.text == "attn notebook: 5. Why divide by √dₖ")
        #expect(page.all("h1").map(\.text) == ["attn notebook", "5. Why divide by √dₖ"])
        #expect(page.all("h2").map(\.text) == ["A head with a soft pattern", "The spread of a dot product grows with its length",
                                               "Exercise: the scaling", "What the softmax makes of each", "Sharp heads are still possible"])
        #expect(page.classed("formula").map(\.text) == ["scaled = scores / √dₖ = Q · Kᵀ / √dₖ        dₖ = dₕ = 32"])
        #expect(page.classed("prose").contains { $0.text.contains("✎ exercise: compute scaled yourself. The solution:") })
        // Every block's commands, in order, after their prompts; the prose comes before its block.
        let inputs = page.classed("input").map(\.text)
        let commands = lesson.blocks.flatMap { $0.commands.map { $0.text.trimmingCharacters(in: .whitespaces) } }
        #expect(inputs.map { String($0.split(separator: ">", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } == commands)
        let main = try #require(page.all("main").first)
        let order = main.children.map { $0.name == "section" ? "command" : ($0["class"] ?? "") }
        #expect(order.first == "prose" && order.last == "prose")
        // scores, scaled, softmax(scores), weights: heatmaps of the real head 6 of layer 0 (the
        // 8 × 2 concat is not token × token, and has none).
        let titles = page.all("svg").map { $0.all("title").first?.text ?? "" }
        #expect(titles == ["scores = q · kᵀ   [8 × 8]", "scaled = scores / √32   [8 × 8]", "softmax(scores)   [8 × 8]",
                           "weights = softmax(masked)   (by rows)   [8 × 8]"])
        let trace = try #require(s.session.currentTrace)
        let scores = try #require(page.all("svg").first?.classed("cell"))
        for (k, cell) in scores.enumerated() {
            #expect(abs((cellValue(cell.all("title").first?.text ?? "") ?? .nan) - trace.layers[0].heads[6].scores[k / 8, k % 8]) <= 5e-5)
        }
    }

    @Test("following lesson 5 in the notebook: the page sets its prose from Markdown, not as the terminal's text")
    func followed() throws {
        let s = ScriptedSession()
        s.run("lesson 5\n\n\nsave notebook followed.html")
        let page = try parsePage(try contents(s.directory, "followed.html"))
        let prose = page.classed("prose")
        #expect(prose.flatMap { $0.all("h1") }.map(\.text) == ["5. Why divide by √dₖ"])
        #expect(prose.flatMap { $0.all("h2") }.map(\.text) == ["A head with a soft pattern", "The spread of a dot product grows with its length", "Exercise: the scaling"])
        #expect(prose.flatMap { $0.all("strong") }.map(\.text).contains("Goal:"))
        // The terminal's underlines of the headings are not in the page.
        #expect(!page.text.contains("═══") && !page.text.contains("───"))
        #expect(page.all("svg").map { $0.all("title").first?.text ?? "" }.prefix(2) == ["scores = q · kᵀ   [8 × 8]", "scaled = scores / √32   [8 × 8]"])
    }
}

// MARK: - Markdown

@Suite("Markdown to XHTML for lesson prose and comments")
struct MarkdownHTMLTests {
    @Test("headings, paragraphs, lists, code, formulas, tables and quotes", arguments: [
        ("## Two words", "<h2>Two words</h2>\n"),
        ("a line\nand the next", "<p>a line and the next</p>\n"),
        ("中文的一行\n接着下一行，\nand English", "<p>中文的一行接着下一行，and English</p>\n"),
        ("- one\n- two `x < y`\n  goes on\n\n1. first", "<ul>\n<li>one</li>\n<li>two <code>x &lt; y</code> goes on</li>\n</ul>\n<ol>\n<li>first</li>\n</ol>\n"),
        ("text\n\n    Q = X · W_Q\n    K = X · W_K\n\nmore", "<p>text</p>\n<pre class=\"formula\">Q = X · W_Q\nK = X · W_K</pre>\n<p>more</p>\n"),
        ("```sh\nmake <run>\n```", "<pre class=\"code\"><code>make &lt;run&gt;</code></pre>\n"),
        ("| a | b |\n|---|:-:|\n| `x|y` | **2** |", "<table>\n<thead><tr><th>a</th><th>b</th></tr></thead>\n<tbody>\n<tr><td><code>x|y</code></td><td><strong>2</strong></td></tr>\n</tbody>\n</table>\n"),
        ("> quoted", "<blockquote><p>quoted</p></blockquote>\n"),
        ("a * b * c and **strong *both** end*", "<p>a * b * c and <strong>strong <em>both*</em> end*</strong></p>\n"),
        ("[a link](https://example.org/x?a=1&b=2) and [not one](javascript:alert(1))", "<p><a href=\"https://example.org/x?a=1&amp;b=2\">a link</a> and not one (javascript:alert(1))</p>\n"),
        ("<img src=x onerror=alert(1)> \\*not em\\*", "<p>&lt;img src=x onerror=alert(1)&gt; *not em*</p>\n"),
    ])
    func blocks(markdown: String, html: String) throws {
        let rendered = MarkdownHTML.render(markdown)
        #expect(rendered == html)
        _ = try parsePage("<div>" + rendered + "</div>")
    }

    @Test("whatever the markers, the result is well-formed, and long lines of them take no quadratic time")
    func wellFormed() throws {
        for markdown in ["**a *b** c*", "*a **b* c**", "`unclosed **x", "[x](https://a) [y](", "| a\n|-|\n| b | c | d |", "```\nno end", "***", "* * *", "#nospace", "1) one\n2) two"] {
            _ = try parsePage("<div>" + MarkdownHTML.render(markdown) + "</div>")
        }
        let start = ContinuousClock.now
        for line in [String(repeating: "*a ", count: 100_000), String(repeating: "`", count: 1) + String(repeating: " ``", count: 50_000),
                     String(repeating: "[", count: 200_000), String(repeating: "[](", count: 100_000),
                     String(repeating: "[", count: 100_000) + "](https://example.org)" + String(repeating: "](", count: 100_000)] {
            _ = try parsePage("<div>" + MarkdownHTML.render(line) + "</div>")
        }
        #expect(ContinuousClock.now - start < .seconds(20))
    }
}

// MARK: - attn replay --html

@Suite("attn replay --html: the page beside the usual replay on standard output")
struct ReplayHTMLTests {
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("attn").path

    /// Runs the built attn in `directory`: its exit status, standard output and standard error.
    func attn(_ arguments: [String], in directory: String) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        process.environment = environment
        let out = directory + "/.stdout", err = directory + "/.stderr"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: err) }
        return (process.terminationStatus, try String(contentsOfFile: out, encoding: .utf8), try String(contentsOfFile: err, encoding: .utf8))
    }

    @Test("a script with a plot: standard output is the replay as without --html, the page holds it, a failing script writes none")
    func script() throws {
        let scratch = ScratchDirectory("replay-html")
        defer { scratch.remove() }
        try "# The weights of a head\nsentence the cat sat on the mat\nweights\nplot weights w.svg\n"
            .write(toFile: scratch.path + "/s.attn", atomically: true, encoding: .utf8)
        let plain = try attn(["replay", "s.attn"], in: scratch.path)
        try FileManager.default.removeItem(atPath: scratch.path + "/w.svg")  // each run plots anew
        let html = try attn(["replay", "s.attn", "--html", "page.html"], in: scratch.path)
        #expect(plain.status == 0 && html.status == 0)
        #expect(html.output == plain.output && plain.output.contains("minilm L0 H0> weights\nweights = softmax(masked)"))
        #expect(html.errors == "attn: wrote 3 commands with their output and 2 heatmaps as a page to page.html\n")
        let page = try parsePage(Data(contentsOf: URL(fileURLWithPath: scratch.path + "/page.html")))
        #expect(page.all("svg").count == 2 && page.classed("prose").first?.text.contains("The weights of a head") == true)
        // Replaced when it is there: the command line named it.
        try FileManager.default.removeItem(atPath: scratch.path + "/w.svg")
        #expect(try attn(["replay", "s.attn", "--html", "page.html"], in: scratch.path).status == 0)

        try "sentence the cat sat on the mat\nlayer 9\n".write(toFile: scratch.path + "/bad.attn", atomically: true, encoding: .utf8)
        let failed = try attn(["replay", "bad.attn", "--html", "bad.html"], in: scratch.path)
        #expect(failed.status == 1 && failed.errors == "bad.attn:2: error: layer 9 does not exist: minilm has layers 0…5\n")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/bad.html"))
        let wrongName = try attn(["replay", "s.attn", "--html", "page.txt"], in: scratch.path)
        #expect(wrongName.status != 0 && wrongName.errors.contains("--html writes an .html file: end the file name with .html (not page.txt)"))
    }
}
