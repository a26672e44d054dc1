import AttnCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML  // XMLParser lives here on Linux
#endif
import Notebook
import Testing

// Every number these tests expect is computed here, from the session's trace or from a fresh
// forward pass, with plain loops: never by calling the code under test.

/// The lines of an output.
private func lines(_ text: String) -> [String] { text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }

/// The output as one line: prose is wrapped to 80 columns wherever its words fall.
private func joined(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: " ") }

/// Softmax of a row of logits, in Double.
private func probabilities(_ logits: [Float]) -> [Double] {
    let m = Double(logits.max()!)
    let e = logits.map { exp(Double($0) - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}

/// Counts the cells of an SVG and collects its text, through Foundation's XML parser.
private final class SVGReader: NSObject, XMLParserDelegate {
    var cells = 0
    var text = ""
    var titles: [String] = []
    private var inTitle = false
    private var title = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if name == "rect", attributes["class"] == "cell" { cells += 1 }
        if name == "title" { inTitle = true; title = "" }
    }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "title" { inTitle = false; titles.append(title) }
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inTitle { title += string } else { text += string }
    }
}

@Suite("Interpretability tools on the real MiniLM")
struct InterpretabilityTests {
    @Test("rollout, printed and exported, is the product of the layers' averaged attention plus identity")
    func rolloutMatchesLoops() throws {
        let s = ScriptedSession()
        let output = s.run("sentence the cat sat on the mat\nrollout\nexport rollout r.npy")
        let trace = try #require(s.session.currentTrace)
        let expected = plainRollout(trace)
        let exported = try NumPyFile.read(path: s.directory + "/r.npy")
        #expect(exported.shape == [8, 8])
        var largest = 0.0
        for i in 0..<8 { for j in 0..<8 { largest = max(largest, abs(Double(exported.values[i * 8 + j]) - expected[i][j])) } }
        #expect(largest < 1e-5, "max |Δ| \(largest)")
        for i in 0..<8 { #expect(abs(expected[i].reduce(0, +) - 1) < 1e-9) }

        // Printed like a step: header, token labels on both axes, 4 digits.
        let printed = lines(output)
        #expect(printed[1].hasPrefix("rollout = Â5 · … · Â0") && printed[1].hasSuffix("[8 × 8]"))
        let header = try #require(printed.firstIndex { $0.split(separator: " ").first == "[CLS]" })
        #expect(printed[header].split(separator: " ") == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"])
        for i in 0..<8 {
            let values = numbers(in: Substring(printed[header + 1 + i]))
            #expect(values.count == 8)
            for j in 0..<8 { #expect(abs(Double(values[j]) - expected[i][j]) < 6e-5) }
        }
        #expect(output.contains("wrote rollout (layers 0…5) [8 × 8] to r.npy"))
    }

    @Test("neuron I J: the products of q_I and k_J sum to scores[I, J]; the top dimensions are the largest products")
    func neuronSumsToScore() throws {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat\nlayer 3\nhead 5\nprecision 6")
        let trace = try #require(s.session.currentTrace)
        let head = trace.layers[3].heads[5]
        for (i, j) in [(2, 1), (0, 7), (6, 6)] {
            let output = s.run("neuron \(i) \(j)")
            #expect(!output.hasPrefix("error"), "\(output)")
            let products = (0..<32).map { head.q[i, $0] * head.k[j, $0] }
            let sum = products.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - Double(head.scores[i, j])) < 1e-4)
            // "Σ = A = scores[i, j] = B": both numbers as printed.
            let line = try #require(lines(output).first { $0.hasPrefix("Σ = ") })
            let parts = line.components(separatedBy: " = ")
            #expect(parts[2] == "scores[\(i), \(j)]")
            let printedSum = try #require(Double(parts[1]))
            let printedScore = try #require(Double(parts[3].split(separator: " ").first.map(String.init) ?? ""))
            #expect(abs(printedSum - sum) < 1e-5)
            #expect(abs(printedScore - Double(head.scores[i, j])) < 1e-5)
            // Every product appears in the grid, in order.
            let grid = lines(output).filter { $0.hasPrefix("d ") }.flatMap { $0.split(separator: " ").dropFirst(2).compactMap { Float($0) } }
            #expect(grid.count == 32)
            for d in 0..<32 { #expect(abs(Double(grid[d]) - Double(products[d])) < 1e-6) }
            // The first "+" row is the largest product, the first "−" row the most negative.
            let best = products.indices.max { products[$0] < products[$1] }!
            let worst = products.indices.min { products[$0] < products[$1] }!
            let plus = try #require(lines(output).first { $0.hasPrefix("+ d ") })
            let minus = try #require(lines(output).first { $0.hasPrefix("− d ") })
            #expect(plus.split(separator: " ")[2] == Substring(String(best)))
            #expect(minus.split(separator: " ")[2] == Substring(String(worst)))
        }
        #expect(s.failure("neuron 8 0") == "token 8 does not exist: the sentence has tokens 0…7 (tokens lists them)")
        #expect(s.failure("neuron 0 -1") == "token -1 does not exist: the sentence has tokens 0…7 (tokens lists them)")
        #expect(s.failure("neuron 1") == "usage: neuron I J (query token I, key token J, numbered as tokens shows them), e.g. neuron 2 1")
        #expect(s.failure("neuron a b") == "neuron takes a whole number, not 'a'")
    }

    @Test("heads: entropy per head and pattern tags agree with the weights")
    func headsSummary() throws {
        let s = ScriptedSession()
        let output = s.run("sentence The quick brown fox jumps over the lazy dog because it was very hungry\nheads all")
        let trace = try #require(s.session.currentTrace)
        let t = trace.count
        var rows = 0
        for line in lines(output) {
            let fields = line.replacingOccurrences(of: "▸", with: " ").split(separator: " ")
            guard fields.count >= 4, let l = Int(fields[0]), let h = Int(fields[1]), let printed = Double(fields[2]) else { continue }
            rows += 1
            let w = trace.layers[l].heads[h].weights
            var entropy = 0.0
            for i in 0..<t { for j in 0..<t where w[i, j] > 0 { entropy -= Double(w[i, j]) * log2(Double(w[i, j])) } }
            entropy /= Double(t)
            #expect(abs(printed - entropy) <= 0.0051, "L\(l)H\(h): \(printed) vs \(entropy)")
            // The tag: the largest mean mass if it reaches 0.5.
            func mean(_ values: [Float]) -> Double { Double(values.reduce(0, +)) / Double(values.count) }
            let masses: [(String, Double)] = [
                ("previous token", mean((1..<t).map { w[$0, $0 - 1] })),
                ("same token", mean((0..<t).map { w[$0, $0] })),
                ("next token", mean((0..<(t - 1)).map { w[$0, $0 + 1] })),
                ("[CLS] sink", mean((0..<t).map { w[$0, 0] })),
                ("[SEP] sink", mean((0..<t).map { w[$0, t - 1] })),
            ]
            let top = masses.max { $0.1 < $1.1 }!
            if top.1 >= 0.5 {
                #expect(line.contains("\(top.0) \(String(format: "%.2f", top.1))"), "L\(l)H\(h): \(line)")
            } else {
                #expect(line.hasSuffix("mixed") || line.contains("broad"), "L\(l)H\(h): \(line)")
            }
        }
        #expect(rows == 72)
        // Layer 0, head 2 of MiniLM looks at the previous token.
        #expect(lines(output).contains { $0.hasPrefix("  0     2") && $0.contains("i−1 15/16") && $0.contains("previous token") })
        for line in lines(output) { #expect(MatrixRenderer.displayWidth(line) <= 80, "\(line)") }
        // `heads` alone: the selected layer, the selected head marked.
        let one = s.run("layer 4\nhead 3\nheads")
        #expect(one.hasPrefix("heads of layer 4: 12 heads, 16 tokens\n"))
        #expect(lines(one).filter { $0.hasPrefix("▸") }.count == 1)
        #expect(lines(one).contains { $0.hasPrefix("▸  3 ") })
        #expect(s.failure("heads 3") == "usage: heads (the selected layer) or heads all")
    }

    @Test("ablate head zeroes its z, changes later layers only, and ablate clear restores every number")
    func ablation() throws {
        let s = ScriptedSession()
        s.run("sentence the cat sat on the mat")
        let original = try #require(s.session.currentTrace)
        let output = s.run("ablate head 2 7")
        let ablated = try #require(s.session.currentTrace)
        #expect(s.session.ablated == [Attention.HeadIndex(layer: 2, head: 7)])
        #expect(s.session.prompt == "minilm L0 H0 −L2H7> ")
        #expect(ablated.layers[2].heads[7].z.values.allSatisfy { $0 == 0 })
        #expect(ablated.layers[2].heads[6].z == original.layers[2].heads[6].z)
        for l in 0..<2 { #expect(ablated.layers[l].out == original.layers[l].out) }
        for l in 2..<6 { #expect(ablated.layers[l].out != original.layers[l].out) }
        // The effect: the cosine of the mean-pooled sentence embeddings, computed here.
        let cos = plainCosine(plainMeanPooled(original), plainMeanPooled(ablated))
        #expect(cos < 1 && cos > 0.9)
        let line = try #require(lines(output).first { $0.contains("cosine(before, after) = ") })
        let printed = try #require(Double(line.components(separatedBy: "= ")[1].split(separator: " ")[0]))
        #expect(abs(printed - cos) < 2e-6, "\(printed) vs \(cos)")
        #expect(joined(output).contains("layers 0…1 are exactly unchanged"))

        // Steps and exports show the ablated model.
        s.run("layer 2\nhead 7\nexport z z.npy\nexport out out.npy")
        #expect(try NumPyFile.read(path: s.directory + "/z.npy").values.allSatisfy { $0 == 0 })
        #expect(try NumPyFile.read(path: s.directory + "/out.npy").values == ablated.layers[2].out.values)
        let shown = lines(s.run("z")).filter { $0.hasPrefix("cat ") || $0.hasPrefix("[SEP] ") }
        #expect(shown.count == 2 && shown.allSatisfy { $0.split(separator: " ").dropFirst().allSatisfy { $0 == "…" || Float($0) == 0 } })

        // A second head, then clear: every number is the original's again, bit for bit.
        s.run("ablate head 0 3")
        #expect(s.session.prompt == "minilm L2 H7 −L0H3,L2H7> ")
        #expect(s.run("ablate head 0 3").hasPrefix("layer 0, head 3 is already ablated"))
        let cleared = s.run("ablate clear")
        #expect(cleared.hasPrefix("cleared 2 ablated heads"))
        let restored = try #require(s.session.currentTrace)
        for l in 0..<6 {
            #expect(restored.layers[l].out == original.layers[l].out)
            for h in 0..<12 {
                #expect(restored.layers[l].heads[h].z == original.layers[l].heads[h].z)
                #expect(restored.layers[l].heads[h].weights == original.layers[l].heads[h].weights)
            }
        }
        #expect(s.session.prompt == "minilm L2 H7> ")
        #expect(s.run("ablate clear") == "no head is ablated\n")

        // Errors name the range; the session is unchanged.
        #expect(s.failure("ablate head 6 0") == "layer 6 does not exist: minilm has layers 0…5")
        #expect(s.failure("ablate head 0 12") == "head 12 does not exist: minilm has heads 0…11")
        #expect(s.failure("ablate head -1 0") == "layer -1 does not exist: minilm has layers 0…5")
        #expect(s.failure("ablate") == "usage: ablate head L H (zero layer L's head H), or ablate clear")
        #expect(s.failure("ablate head 1") == "usage: ablate head L H (zero layer L's head H), or ablate clear")
        #expect(s.failure("ablate head one 2") == "ablate takes a whole number, not 'one'")
        #expect(s.session.ablated.isEmpty)

        // An ablation set before a sentence applies to it; rollout leaves the head out.
        let fresh = ScriptedSession()
        fresh.run("ablate head 1 4\nsentence the cat sat on the mat\nexport rollout r.npy")
        let trace = try #require(fresh.session.currentTrace)
        #expect(trace.layers[1].heads[4].z.values.allSatisfy { $0 == 0 })
        let expected = plainRollout(trace, ablated: [Attention.HeadIndex(layer: 1, head: 4)])
        let exported = try NumPyFile.read(path: fresh.directory + "/r.npy")
        for i in 0..<8 { for j in 0..<8 { #expect(abs(Double(exported.values[i * 8 + j]) - expected[i][j]) < 1e-5) } }
    }

    @Test("importance: 1 − cosine without each word piece, as bars in the sentence's order")
    func importanceBars() throws {
        let s = ScriptedSession()
        let output = s.run("sentence the cat sat on the mat\nimportance")
        let trace = try #require(s.session.currentTrace)
        let bert = try Bert(directory: ModelStore.directory(for: .minilm))
        let full = plainMeanPooled(trace)
        let expected = (1..<7).map { i -> Double in
            var ids = trace.tokenIds
            ids.remove(at: i)
            return 1 - plainCosine(full, plainMeanPooled(bert.trace(ids: ids)))
        }
        let bars = lines(output).filter { $0.first?.isNumber == true }
        #expect(bars.count == 6)
        var lengths: [Int] = []
        for (n, bar) in bars.enumerated() {
            let fields = bar.split(separator: " ")
            #expect(fields[0] == Substring(String(n + 1)))
            #expect(fields[1] == Substring(trace.tokens[n + 1]))
            let value = try #require(Double(fields[2]))
            #expect(abs(value - expected[n]) < 1e-4, "\(fields[1]): \(value) vs \(expected[n])")
            lengths.append(bar.filter { $0 == "█" }.count)
        }
        // Longer bars for larger values; the largest fills the line.
        let byValue = expected.indices.sorted { expected[$0] < expected[$1] }
        for (a, b) in zip(byValue, byValue.dropFirst()) { #expect(lengths[a] <= lengths[b]) }
        let largest = expected.indices.max { expected[$0] < expected[$1] }!
        #expect(joined(output).contains("notice: removing \(trace.tokens[largest + 1]) (\(largest + 1)) changes the most."))
        for line in lines(output) { #expect(MatrixRenderer.displayWidth(line) <= 80, "\(line)") }
        #expect(s.failure("importance now") == "usage: importance (no arguments)")
    }

    @Test("plot writes well-formed SVG with T × T cells, escaped labels, a legend and the formula")
    func plotSVG() throws {
        let s = ScriptedSession()
        let output = s.run("sentence a < b & \"c\"\nlayer 1\nhead 2\nplot weights w.svg\nplot rollout r.svg")
        let trace = try #require(s.session.currentTrace)
        #expect(trace.tokens == ["[CLS]", "a", "<", "b", "&", "\"", "c", "\"", "[SEP]"])
        let t = trace.count
        #expect(output.contains("wrote weights (layer 1, head 2) [9 × 9] as an SVG heatmap to w.svg"))
        for name in ["w.svg", "r.svg"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: s.directory + "/" + name))
            let raw = String(decoding: data, as: UTF8.self)
            #expect(raw.contains("&lt;") && raw.contains("&amp;") && raw.contains("&quot;"))
            let parser = XMLParser(data: data)
            let reader = SVGReader()
            parser.delegate = reader
            #expect(parser.parse(), "\(name): \(parser.parserError.map { "\($0)" } ?? "")")
            #expect(reader.cells == t * t)
            #expect(reader.text.contains("<") && reader.text.contains("&"))
            #expect(reader.titles.contains { $0.contains("query < → key &: ") })
            #expect(reader.text.contains("rows: queries, columns: keys"))
        }
        let weights = try String(contentsOfFile: s.directory + "/w.svg", encoding: .utf8)
        #expect(weights.contains("<title>weights = softmax(masked)"))
        #expect(weights.contains("layer 1, head 2"))
        #expect(weights.contains("linearGradient"))
        // Hover titles carry the values as printed.
        let w = trace.layers[1].heads[2].weights
        #expect(weights.contains("[2, 4] query &lt; → key &amp;: \(String(format: "%.4f", w[2, 4]))</title>"))
        #expect(try String(contentsOfFile: s.directory + "/r.svg", encoding: .utf8).contains("layers 0…5"))

        #expect(s.failure("plot q q.svg") == "q is [9 × 32], not token × token: plot draws scores, scaled, masked, weights or rollout")
        #expect(s.failure("plot weights w.png") == "plot writes .svg files: end the file name with .svg (not w.png)")
        #expect(s.failure("plot wieghts w.svg")?.hasPrefix("unknown step 'wieghts': did you mean 'weights'") == true)
        #expect(s.failure("plot weights") == "usage: plot STEP PATH.svg, e.g. plot weights w.svg (STEP: scores, scaled, masked, weights, rollout)")
        #expect(s.failure("plot weights " + s.directory + "/") == "cannot write \(s.directory)/: it is a directory")
        let names = try FileManager.default.contentsOfDirectory(atPath: s.directory).sorted()
        #expect(names == ["r.svg", "w.svg"])  // written atomically: no temporary left behind
    }

    @Test("save transcript writes every command after its prompt with its output, errors included")
    func transcript() throws {
        let s = ScriptedSession()
        let output = s.run("""
            # Where does cat look?
            sentence the cat sat on the mat
            layer 9
            layer 2

            weights[2]
            save transcript t.md
            """)
        #expect(output.hasSuffix("wrote 4 commands with their output to t.md\n"))
        let markdown = try String(contentsOfFile: s.directory + "/t.md", encoding: .utf8)
        #expect(markdown.hasPrefix("# attn transcript\n\n4 commands, all-MiniLM-L6-v2.\n"))
        #expect(markdown.contains("\nWhere does cat look?\n"))
        #expect(markdown.contains("```text\nminilm L0 H0> sentence the cat sat on the mat\nsentence: 8 tokens: [CLS] the cat sat on the mat [SEP]\n```\n"))
        #expect(markdown.contains("```text\nminilm L0 H0> layer 9\nerror: layer 9 does not exist: minilm has layers 0…5\n```\n"))
        #expect(markdown.contains("```text\nminilm L2 H0> weights[2]\nweights = softmax(masked)"))
        #expect(!markdown.contains("save transcript"))
        // Fences open and close in pairs.
        #expect(markdown.components(separatedBy: "```text\n").count - 1 == 4)
        #expect(lines(markdown).filter { $0 == "```" }.count == 4)
        // Saving again includes the save itself; a wrong extension is an error.
        s.run("save transcript again.md")
        #expect(try String(contentsOfFile: s.directory + "/again.md", encoding: .utf8)
                .contains("minilm L2 H0> save transcript t.md\nwrote 4 commands with their output to t.md\n```"))
        #expect(s.failure("save transcript t.txt") == "save transcript writes .md files: end the file name with .md (not t.txt)")
        #expect(s.failure("save t.md") == "usage: save transcript PATH.md or save notebook PATH.html")
    }

    @Test("every new command has help, is in the overview, and its output is deterministic and fits 80 columns")
    func helpAndDeterminism() {
        let s = ScriptedSession()
        let overview = s.run("help")
        for usage in ["heads [all]", "neuron I J", "rollout", "importance", "ablate head L H", "ablate clear",
                      "plot STEP PATH.svg", "save transcript PATH.md", "export rollout PATH"] {
            #expect(overview.contains(usage), "\(usage)")
        }
        for topic in ["heads", "neuron", "rollout", "ablate", "importance", "plot", "save"] {
            let text = s.run("help \(topic)")
            #expect(!text.hasPrefix("error") && text.count > 80, "\(topic): \(text)")
            for line in lines(text) { #expect(MatrixRenderer.displayWidth(line) <= 80) }
        }
        let script = "sentence Tokenizers split \"unbelievable\" words!\nlayer 3\nheads\nneuron 4 2\nrollout\nablate head 3 1\nimportance\nablate clear\n"
        let first = ScriptedSession().run(script)
        #expect(first == ScriptedSession().run(script))
        #expect(!first.contains("error"))
        for line in lines(first) { #expect(MatrixRenderer.displayWidth(line) <= 80, "\(line)") }
        // Before a sentence, the tools say what to do.
        let empty = ScriptedSession()
        for command in ["heads", "neuron 0 0", "rollout", "importance", "plot weights w.svg"] {
            #expect(empty.failure(command) == "no sentence yet: type, for example, sentence the cat sat on the mat")
        }
    }
}

@Suite("Interpretability tools on the real SmolLM2")
struct DecoderInterpretabilityTests {
    /// The decoder, from the session that loaded it.
    func llama(_ s: ScriptedSession) throws -> Llama {
        guard let llama = s.session.model as? Llama else { throw NotebookError.unknownModel("smollm2", hubCache: "") }
        return llama
    }

    @Test("ablate shows the next-token top 5 before → after; heads and neuron respect the causal mask")
    func decoderAblation() throws {
        let s = ScriptedSession()
        s.run("model smollm2\nsentence The capital of France is")
        let before = try #require(s.session.currentTrace)
        let output = s.run("ablate head 0 0")
        let after = try #require(s.session.currentTrace)
        #expect(after.layers[0].heads[0].z.values.allSatisfy { $0 == 0 })
        #expect(after.layers[0].heads[1].z == before.layers[0].heads[1].z)
        #expect(after.layers[29].out != before.layers[29].out)

        let pb = probabilities(before.logits!.row(4)), pa = probabilities(after.logits!.row(4))
        let top = pb.indices.max { pb[$0] < pb[$1] }!
        let llama = try llama(s)
        let label = llama.tokenizer.label(top)
        #expect(label == "·Paris")
        let row = try #require(lines(output).first { $0.hasPrefix("  \(label) ") })
        let fields = row.split(separator: " ")
        #expect(fields[1] == "#1")
        // The session's softmax is float32 over 49 152 logits, as predict's: its sum is good to
        // about 1e-4 of the value, so the tolerance is that plus the printed rounding.
        #expect(abs(Double(fields[4])! - pb[top]) < 3e-4, "\(row): \(pb[top])")
        #expect(abs(Double(fields[6])! - pa[top]) < 3e-4, "\(row): \(pa[top])")
        #expect(abs(Double(fields[7])! - (pa[top] - pb[top])) < 3e-4)
        #expect(s.run("predict 1").contains(" \(fields[6]) "))  // predict shows the ablated model's p
        #expect(lines(output).filter { $0.contains(" → ") && $0.contains("#") }.count >= 5)

        // The decoder's heads table: row 0 has no choice; the tags never name [SEP].
        let heads = s.run("layer 1\nheads")
        #expect(joined(heads).contains("over rows 1…4 (row 0 sees only itself)"))
        #expect(!heads.contains("[SEP]") && !heads.contains("next token"))
        let w = after.layers[1].heads[2].weights
        let previous = (1..<5).map { Double(w[$0, $0 - 1]) }.reduce(0, +) / 4
        if previous >= 0.5 { #expect(heads.contains("previous token \(String(format: "%.2f", previous))")) }

        // neuron on a masked cell: the score is still q · k, the weight exactly 0.
        let neuron = s.run("head 4\nneuron 1 3")
        let h = after.layers[1].heads[4]
        let sum = (0..<64).reduce(0.0) { $0 + Double(h.q[1, $1]) * Double(h.k[3, $1]) }
        #expect(abs(sum - Double(h.scores[1, 3])) < 1e-4)
        #expect(joined(neuron).contains("the mask makes it −∞, so its weight is exactly 0"))
        #expect(joined(neuron).contains("dimensions d and d + 32 are a rotated pair"))

        let cleared = s.run("ablate clear")
        #expect(cleared.contains("·Paris"))
        let restored = try #require(s.session.currentTrace)
        #expect(restored.logits == before.logits)
        #expect(s.failure("ablate head 30 0") == "layer 30 does not exist: smollm2 has layers 0…29")
        #expect(s.failure("ablate head 0 9") == "head 9 does not exist: smollm2 has heads 0…8")
    }

    @Test("importance: the drop in p(next token) without each token, against full forward passes; masked cells in the SVG")
    func decoderImportance() throws {
        let s = ScriptedSession()
        let output = s.run("model smollm2\nsentence The capital of France is\nimportance\nlayer 2\nplot masked m.svg")
        let trace = try #require(s.session.currentTrace)
        let llama = try llama(s)
        let p = probabilities(trace.logits!.row(4))
        let next = p.indices.max { p[$0] < p[$1] }!
        let expected = (0..<5).map { i -> Double in
            var ids = trace.tokenIds
            ids.remove(at: i)
            let reduced = llama.trace(ids: ids)
            return p[next] - probabilities(reduced.logits!.row(3))[next]
        }
        let bars = lines(output).filter { $0.first?.isNumber == true }
        #expect(bars.count == 5)
        for (i, bar) in bars.enumerated() {
            let fields = bar.split(separator: " ")
            #expect(fields[1] == Substring(trace.tokens[i]))
            let value = try #require(Double(fields[2]))
            #expect(abs(value - expected[i]) < 2e-4, "\(fields[1]): \(value) vs \(expected[i])")
        }
        #expect(output.contains("importance = p(·Paris) − p(·Paris without token i)"))

        let data = try Data(contentsOf: URL(fileURLWithPath: s.directory + "/m.svg"))
        let parser = XMLParser(data: data)
        let reader = SVGReader()
        parser.delegate = reader
        #expect(parser.parse())
        #expect(reader.cells == 25)
        #expect(reader.titles.filter { $0.hasSuffix("−∞ (masked)") }.count == 10)
        #expect(reader.text.contains("−∞ masked"))

        // What a command streams (generate, in the shell) is in the transcript too.
        var streamed = ""
        s.session.stream = { streamed += $0 }
        #expect(s.run("generate 3\nsave transcript g.md") == "wrote 6 commands with their output to g.md\n")
        #expect(streamed.hasPrefix("generating up to 3 tokens greedily"))
        let markdown = try String(contentsOfFile: s.directory + "/g.md", encoding: .utf8)
        #expect(markdown.contains("smollm2 L2 H0> generate 3\n" + streamed))
    }
}
