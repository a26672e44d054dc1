@testable import AttnCore
import Foundation
@testable import Notebook
import Testing

/// SmolLM2 with "The capital of France is" (clean) and "… Italy is" (corrupted), target ·Paris − ·Rome.
private func capitals() throws -> (ScriptedSession, Llama, clean: [Int], corrupt: [Int], metric: ([Float]) -> Double) {
    let s = ScriptedSession(width: 80)
    let output = s.run("model smollm2\nsentence The capital of France is\ncorrupt The capital of Italy is\ntarget ·Paris - ·Rome")
    #expect(!output.contains("error:"), "\(output)")
    let llama = try #require(s.session.model as? Llama)
    let measure = try s.session.targetMeasure(s.session.explanationTarget)
    let metric = try #require(measure.fromLogits)
    return (s, llama, llama.inputIds("The capital of France is"), llama.inputIds("The capital of Italy is"), metric)
}

@Suite("corrupt and patch: activation patching from the clean sentence into the corrupted one")
struct PatchTests {
    @Test("SmolLM2: layer 0's input patched at every position gives m_clean exactly; nothing patched, m_corrupt")
    func ends() throws {
        let (_, llama, clean, corrupt, metric) = try capitals()
        let cleanTrace = llama.trace(ids: clean)
        var cache = KeyValueCache(layers: 30)
        let mClean = metric(llama.forward(clean, cache: &cache))
        cache = KeyValueCache(layers: 30)
        let mCorrupt = metric(llama.forward(corrupt, cache: &cache))
        let fresh = KeyValueCache(layers: 30)
        let all = Patching.metric(llama, corrupt, from: fresh, ablated: [],
                                  patch: Patching.residualPatch(cleanTrace, layer: 0, positions: Array(clean.indices)), metric: metric)
        #expect(all == mClean)
        let none = Patching.metric(llama, corrupt, from: fresh, ablated: [], patch: ActivationPatch(), metric: metric)
        #expect(none == mCorrupt)
        let normalised = Patching.Normalisation(clean: mClean, corrupt: mCorrupt)
        #expect(normalised(all) == 1 && normalised(none) == 0)
        #expect(mClean > 0.5 && mCorrupt < 0)
    }

    @Test("SmolLM2: a head patched from a run of the same sentence changes nothing")
    func headNoOp() throws {
        let (_, llama, _, corrupt, metric) = try capitals()
        let same = llama.trace(ids: corrupt)
        let fresh = KeyValueCache(layers: 30)
        let unpatched = Patching.metric(llama, corrupt, from: fresh, ablated: [], patch: ActivationPatch(), metric: metric)
        for (l, h) in [(0, 0), (17, 4), (23, 4), (29, 8)] {
            let patched = Patching.metric(llama, corrupt, from: fresh, ablated: [], patch: Patching.headPatch(same, layer: l, head: h), metric: metric)
            #expect(abs(patched - unpatched) < 1e-6, "L\(l)H\(h): \(patched) vs \(unpatched)")
        }
        // A clean head's pass from its own layer (the corrupted input of that layer) equals the whole pass.
        let (_, _, clean, _, _) = try capitals()
        let cleanTrace = llama.trace(ids: clean)
        let whole = Patching.metric(llama, corrupt, from: fresh, ablated: [], patch: Patching.headPatch(cleanTrace, layer: 23, head: 4), metric: metric)
        let fromLayer = Patching.metric(llama, corrupt, from: fresh, ablated: [],
                                        patch: Patching.starting(Patching.headPatch(cleanTrace, layer: 23, head: 4), at: 23, corrupt: same, from: 0),
                                        metric: metric)
        #expect(abs(whole - fromLayer) < 1e-4 && abs(whole - unpatched) > 0.5, "\(whole) vs \(fromLayer)")
    }

    @Test("SmolLM2: one residual cell equals the patched forward built here from the layer function")
    func oneCellByHand() throws {
        let (_, llama, clean, corrupt, metric) = try capitals()
        let cleanTrace = llama.trace(ids: clean), corruptTrace = llama.trace(ids: corrupt)
        var cache = KeyValueCache(layers: 30)
        _ = llama.forward(corrupt, cache: &cache)
        let (l, p) = (10, 3)
        // The grid's way: from the corrupted cache before p and layer l's corrupted input, the clean row written at p.
        let patch = Patching.starting(Patching.residualPatch(cleanTrace, layer: l, positions: [p]), at: l, corrupt: corruptTrace, from: p)
        #expect(patch.firstLayer == l && patch.residual[l]?.keys.sorted() == [3, 4] && patch.residual[l]?[3] == cleanTrace.layers[l].x.row(3))
        let cell = Patching.metric(llama, corrupt, from: try #require(cache.prefix(p)), ablated: [], patch: patch, metric: metric)
        // The whole pass with the same row written agrees.
        let whole = Patching.metric(llama, corrupt, from: KeyValueCache(layers: 30), ablated: [],
                                    patch: Patching.residualPatch(cleanTrace, layer: l, positions: [p]), metric: metric)
        #expect(abs(cell - whole) < 1e-4, "\(cell) vs \(whole)")
        // By hand: the corrupted layer l input with row p replaced, then layers l… of the whole text.
        var x = corruptTrace.layers[l].x
        for j in 0..<x.columns { x[p, j] = cleanTrace.layers[l].x[p, j] }
        let rotation = Rotation(headDimension: llama.configuration.headDimension, base: llama.configuration.ropeBase, positions: 0..<corrupt.count)
        for layer in l..<30 { x = llama.layer(x, llama.weights.layers[layer], rotation: rotation).trace.out }
        let byHand = metric(llama.logits(llama.finalNorm(x.rows((x.rows - 1)..<x.rows))).row(0))
        #expect(abs(cell - byHand) < 1e-4, "\(cell) vs \(byHand)")
        // It moves m well away from the corrupted run's (·France/·Italy carries the answer at layer 10).
        var fresh = KeyValueCache(layers: 30)
        #expect(abs(cell - metric(llama.forward(corrupt, cache: &fresh))) > 0.5)
    }

    @Test("SmolLM2: patch resid prints m_corrupt as target prints it on the corrupted sentence; 0 where the tokens agree")
    func command() throws {
        let (s, _, _, _, _) = try capitals()
        let output = s.run("patch resid")
        #expect(!output.contains("error:"), "\(output)")
        let result = try #require(s.session.lastPatch)
        let grid = try #require(result.residual)
        #expect(grid.rows == 30 && grid.columns == 5 && result.heads == nil)
        #expect(result.forwardPasses == 3 + 30 * 2)  // positions 0…2 are the same tokens: no pass
        #expect(output.contains("63 forward passes"), "\(output)")
        for l in 0..<30 { for p in [0, 1, 2] { #expect(grid[l, p] == 0) } }
        #expect(abs(grid[0, 3] - 1) < 1e-6)
        let target = s.run("sentence The capital of Italy is\ntarget")
        let printed = String(format: "%.4f", result.corrupt)
        #expect(target.contains("p(·Paris) − p(·Rome) = \(printed)"), "\(target) vs \(printed)")
        #expect(output.contains("m_corrupt = \(printed)"))
        // export patch writes every cell.
        _ = s.run("export patch p.csv")
        let csv = try String(contentsOfFile: s.directory + "/p.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 1 + 30 * 5 && csv[0] == "kind,layer,column,label,patched,m")
    }

    @Test("corrupt and patch refuse what cannot be patched, in one line saying what to do")
    func refusals() throws {
        let s = ScriptedSession()
        _ = s.run("sentence a cat")
        #expect(s.failure("patch")?.contains("needs a decoder") == true)
        _ = s.run("model smollm2")
        #expect(s.failure("patch")?.contains("corrupt TEXT") == true)
        #expect(s.failure("patch all") != nil)
        _ = s.run("sentence The capital of France is")
        let mismatch = s.failure("corrupt The capital of the United States is")
        #expect(mismatch?.contains("has 7 tokens and the sentence 5") == true, "\(mismatch ?? "")")
        #expect(s.run("corrupt").contains("no corrupted sentence"))
        let shown = s.run("corrupt The capital of Italy is")
        #expect(shown.contains("positions that differ: 3 (·France → ·Italy)"), "\(shown)")
        _ = s.run("corrupt The capital of France is")
        #expect(s.failure("patch")?.contains("the same for both sentences") == true)
        #expect(s.run("corrupt off").contains("corrupt off"))
        #expect(s.failure("plot patch p.svg")?.contains("patch") == true)
    }
}
