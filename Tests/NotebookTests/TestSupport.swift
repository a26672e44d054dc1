import AttnCore
import Foundation
import Notebook

// Helpers the notebook's test files share.

/// A fresh directory under the system's temporary directory; `remove()` deletes it with everything in it.
struct ScratchDirectory {
    let path: String

    init(_ label: String) {
        path = NSTemporaryDirectory() + "attn-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// A subdirectory, created.
    func directory(_ name: String) -> String {
        let directory = path + "/" + name
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// The names in `directory` (this one by default), sorted.
    func names(in directory: String? = nil) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory ?? path)) ?? []).sorted()
    }
}

/// One line through `Runner.runAll`, the way a pipe runs it: its output, or `error: …`.
func runLine(_ session: Session, _ line: String) -> String {
    var source = ScriptLines([line])
    var output = ""
    Runner.runAll(session, &source) { output += $0 }
    return output
}

/// What a failed command must leave as it was: the model and where its weights came from, the
/// sentence, layer and head, and the numbers `weights` prints.
struct SessionState: Equatable, CustomStringConvertible {
    let model: String?
    let origin: String?
    let prompt: String
    let sentence: String?
    let layer: Int
    let head: Int
    let weights: String

    init(_ session: Session) {
        model = session.modelSource?.name
        origin = session.model?.location
        prompt = session.prompt
        sentence = session.sentence
        layer = session.layer
        head = session.head
        weights = (try? session.execute("weights")) ?? "(weights failed)"
    }

    var description: String { "\(prompt)[\(origin ?? "-")] \(sentence.map { "'\($0.prefix(40))'" } ?? "no sentence")" }
}

// The arithmetic of the analysis written out with plain loops in Double, for tests to compare
// the notebook's numbers with.

/// Mean over the tokens of the last layer's `out`, in Double.
func plainMeanPooled(_ trace: Trace) -> [Double] {
    let out = trace.layers.last!.out
    var mean = [Double](repeating: 0, count: out.columns)
    for i in 0..<out.rows { for j in 0..<out.columns { mean[j] += Double(out[i, j]) } }
    return mean.map { $0 / Double(out.rows) }
}

/// `a · b / (‖a‖ ‖b‖)`, in Double.
func plainCosine(_ a: [Double], _ b: [Double]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for (x, y) in zip(a, b) { dot += x * y; na += x * x; nb += y * y }
    return dot / (na.squareRoot() * nb.squareRoot())
}

/// The rollout, written out: per layer the mean of the heads (ablated ones left out), plus the
/// identity, rows normalised, multiplied onto the product so far. In Double.
func plainRollout(_ trace: Trace, ablated: Set<Attention.HeadIndex> = []) -> [[Double]] {
    let t = trace.count
    var r = (0..<t).map { i in (0..<t).map { j in i == j ? 1.0 : 0.0 } }
    for (l, layer) in trace.layers.enumerated() {
        let live = layer.heads.indices.filter { !ablated.contains(Attention.HeadIndex(layer: l, head: $0)) }
        let weights = layer.heads.map(\.weights)
        var a = [[Double]](repeating: [Double](repeating: 0, count: t), count: t)
        for i in 0..<t {
            for j in 0..<t {
                var sum = 0.0
                for h in live { sum += Double(weights[h][i, j]) }
                a[i][j] = sum / Double(live.count) + (i == j ? 1 : 0)
            }
            let total = a[i].reduce(0, +)
            a[i] = a[i].map { $0 / total }
        }
        var next = a
        for i in 0..<t {
            for j in 0..<t {
                var sum = 0.0
                for k in 0..<t { sum += a[i][k] * r[k][j] }
                next[i][j] = sum
            }
        }
        r = next
    }
    return r
}
