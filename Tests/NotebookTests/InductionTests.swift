import AttnCore
import Foundation
@testable import Notebook
import Testing

/// The mean of weights[i, i − offset] over `queries`, with plain loops in Double.
private func plainScore(_ w: Matrix, queries: Range<Int>, offset: Int) -> Double {
    var sum = 0.0, count = 0
    for i in queries where i - offset >= 0 {
        sum += Double(w[i, i - offset])
        count += 1
    }
    return sum / Double(count)
}

/// −log softmax(logits[j − 1])[ids[j]], averaged over `positions`, from the logits row by row.
private func plainLoss(_ decoder: any DecoderModel, _ trace: Trace, _ positions: Range<Int>) -> Double {
    var total = 0.0
    for j in positions {
        let row = decoder.logits(decoder.finalNorm(trace.layers.last!.out.rows((j - 1)..<j))).row(0)
        var largest = -Double.infinity
        for v in row { largest = max(largest, Double(v)) }
        var sum = 0.0
        for v in row { sum += exp(Double(v) - largest) }
        total += largest + log(sum) - Double(row[trace.tokenIds[j]])
    }
    return total / Double(positions.count)
}

@Suite("induction: random tokens repeated, every head's induction, previous and duplicate score, the loss of each half")
struct InductionTests {
    @Test("SmolLM2: every score recomputed from each head's weights; the repeated half's loss far below the first's")
    func smollm2Scores() throws {
        let s = ScriptedSession(width: 80)
        let output = s.run("model smollm2\ninduction 20")
        #expect(!output.contains("error:"), "\(output)")
        let decoder = try #require(s.session.model as? any DecoderModel)
        let trace = try #require(s.session.currentTrace)
        let scores = try #require(s.session.lastInduction)
        let n = 20
        #expect(trace.count == 2 * n)  // SmolLM2 starts with no BOS
        #expect(Array(trace.tokenIds[0..<n]) == Array(trace.tokenIds[n..<(2 * n)]))
        #expect(Set(trace.tokenIds[0..<n]).count == n)
        for id in trace.tokenIds { #expect(Induction.isOrdinary(id, decoder), "\(decoder.tokenLabel(id))") }
        for l in 0..<decoder.sizes.layers {
            for h in 0..<decoder.sizes.heads {
                let w = trace.layers[l].heads[h].weights
                #expect(abs(Double(scores.induction[l, h]) - plainScore(w, queries: n..<(2 * n), offset: n - 1)) < 1e-6)
                #expect(abs(Double(scores.previous[l, h]) - plainScore(w, queries: 1..<(2 * n), offset: 1)) < 1e-6)
                #expect(abs(Double(scores.duplicate[l, h]) - plainScore(w, queries: n..<(2 * n), offset: n)) < 1e-6)
            }
        }
        // The losses, from the logits of each row computed here.
        let first = plainLoss(decoder, trace, 1..<n), second = plainLoss(decoder, trace, n..<(2 * n))
        #expect(abs(scores.firstLoss - first) < 1e-3 && abs(scores.secondLoss - second) < 1e-3, "\(scores.firstLoss) \(first) \(scores.secondLoss) \(second)")
        #expect(second < first / 2, "\(first) \(second)")
        // The top induction head scores high, and is printed first.
        let top = Induction.top(scores.induction, count: 1)[0]
        #expect(top.value > 0.5)
        #expect(output.contains("top induction heads: L\(top.index.layer) H\(top.index.head) \(String(format: "%.2f", Double(top.value)))"), "\(output)")
        #expect(output.contains("1 forward pass"))
    }

    @Test("SmolLM2: ablating the top induction heads raises the repeated half's loss; the same seed draws the same tokens")
    func ablationAndSeeds() throws {
        let s = ScriptedSession(width: 80)
        _ = s.run("model smollm2\nseed 3\ninduction")
        let before = try #require(s.session.lastInduction)
        let tokens = before.sequence.tokens
        let top = Induction.top(before.induction, count: 5)
        _ = s.run(top.map { "ablate head \($0.index.layer) \($0.index.head)" }.joined(separator: "\n") + "\ninduction")
        let after = try #require(s.session.lastInduction)
        #expect(after.sequence.tokens == tokens)
        #expect(after.ablated.count == 5)
        #expect(after.secondLoss > before.secondLoss + 2, "\(before.secondLoss) → \(after.secondLoss)")
        // The same seed, the same tokens; another seed, others.
        _ = s.run("ablate clear\ninduction")
        #expect(s.session.lastInduction?.sequence.tokens == tokens)
        #expect(abs((s.session.lastInduction?.secondLoss ?? 0) - before.secondLoss) < 1e-9)
        _ = s.run("seed 4\ninduction")
        #expect(s.session.lastInduction?.sequence.tokens != tokens)
        // A sentence of one's own afterwards, as before.
        let output = s.run("sentence The capital of France is\npredict 1")
        #expect(output.contains("·Paris"), "\(output)")
    }

    @Test("Gemma 3: BOS first, then the tokens twice; the repeated half's loss below the first's")
    func gemma3() throws {
        let s = ScriptedSession(width: 80)
        let output = s.run("model gemma3\ninduction 12")
        #expect(!output.contains("error:"), "\(output)")
        let trace = try #require(s.session.currentTrace)
        let scores = try #require(s.session.lastInduction)
        #expect(trace.tokens[0] == "<bos>" && trace.count == 25)
        #expect(scores.sequence.start == 1)
        #expect(Array(trace.tokenIds[1...12]) == Array(trace.tokenIds[13...24]))
        let w = trace.layers[5].heads[2].weights
        #expect(abs(Double(scores.induction[5, 2]) - plainScore(w, queries: 13..<25, offset: 11)) < 1e-6)
        #expect(scores.secondLoss < scores.firstLoss / 2, "\(scores.firstLoss) \(scores.secondLoss)")
    }

    @Test("export and plot induction; an encoder, a bad N, nothing to export: one line saying what to do")
    func filesAndRefusals() throws {
        let s = ScriptedSession()
        #expect(s.failure("induction")?.contains("needs a decoder") == true)
        #expect(s.failure("induction 1") != nil)
        #expect(s.failure("induction 201") != nil)
        #expect(s.failure("induction x") != nil)
        _ = s.run("model smollm2")
        #expect(s.failure("export induction i.csv")?.contains("induction first") == true)
        let output = s.run("induction 5\nexport induction i.csv\nplot induction i.svg")
        #expect(!output.contains("error:"), "\(output)")
        let csv = try String(contentsOfFile: s.directory + "/i.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.first == "layer,head,induction,previous_token,duplicate_token")
        #expect(csv.count == 1 + 30 * 9)
        let svg = try String(contentsOfFile: s.directory + "/i.svg", encoding: .utf8)
        #expect(svg.contains("<svg") && svg.contains("L29") && svg.contains("H8"))
    }
}
