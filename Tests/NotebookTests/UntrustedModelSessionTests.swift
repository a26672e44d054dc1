import AttnCore
import Foundation
@testable import Notebook
import Testing

// Issue 11, the notebook's side: model files and their configuration come from outside. Numbers
// that overflow must not trap a command, a bad model directory gives one line that names what is
// wrong and keeps the previous model, and a model file truncated while attn reads it ends the
// process with one line instead of a crash.

// MARK: - Helpers

/// A fresh directory under the system's temporary directory; `remove()` deletes it with everything in it.
private struct ScratchDirectory {
    let path: String

    init(_ label: String) {
        path = NSTemporaryDirectory() + "attn-untrusted-\(label)-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// A subdirectory, created.
    func directory(_ name: String) -> String {
        let directory = path + "/" + name
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }
}

/// One line through `Runner.runAll`, the way a pipe runs it: its output, or `error: …`.
private func runLine(_ session: Session, _ line: String) -> String {
    var source = ScriptLines([line])
    var output = ""
    Runner.runAll(session, &source) { output += $0 }
    return output
}

/// The real MiniLM checkpoint, read only.
private enum RealMiniLM {
    static var directory: String { ModelStore.directory(for: .minilm) }
    static func file(_ name: String) -> String { directory + "/" + name }
}

/// A copy of the real MiniLM in `directory` (config.json and vocab.txt linked, the weights copied),
/// with the F32 tensors in `changes` overwritten in place: every element of each set to the value.
private func minilmCopy(in directory: String, setting changes: [String: Float] = [:]) throws {
    let manager = FileManager.default
    for name in ["config.json", "vocab.txt"] {
        try manager.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: RealMiniLM.file(name))
    }
    let weights = directory + "/model.safetensors"
    try manager.copyItem(atPath: RealMiniLM.file("model.safetensors"), toPath: weights)
    guard !changes.isEmpty else { return }
    let file = try SafeTensors(path: RealMiniLM.file("model.safetensors"))
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: weights))
    defer { try? handle.close() }
    for (name, value) in changes {
        let entry = try #require(file.entries[name])
        try handle.seek(toOffset: UInt64(entry.byteRange.lowerBound))
        handle.write([Float](repeating: value, count: entry.count).withUnsafeBytes { Data($0) })
    }
}

/// A session over the real MiniLM, at a sentence, layer and head that are not the defaults.
private func minilmSession(in directory: String, color: Bool = false) -> Session {
    let session = Session(renderer: MatrixRenderer(width: 80, color: color), workingDirectory: directory)
    #expect(runLine(session, "sentence the cat sat on the mat") == "sentence: 8 tokens: [CLS] the cat sat on the mat [SEP]\n")
    #expect(runLine(session, "layer 3") + runLine(session, "head 5") == "")
    return session
}

// MARK: - 1. Numbers that overflow

@Suite("Untrusted model files: numbers that overflow in the notebook")
struct OverflowingModelSessionTests {
    @Test("biases so large that q·k overflows: every step, walk, neuron, heads, importance and plot show inf and nan; nothing traps",
          arguments: [false, true])
    func hugeBiases(color: Bool) throws {
        let scratch = ScratchDirectory("huge-bias")
        defer { scratch.remove() }
        let directory = scratch.directory("model")
        // q ≈ k ≈ 1e19 in every dimension: each product 1e38, their sum over 32 dimensions +∞,
        // and the softmax of a row of +∞ is NaN (∞ − ∞).
        try minilmCopy(in: directory, setting: ["encoder.layer.0.attention.self.query.bias": 1e19,
                                                "encoder.layer.0.attention.self.key.bias": 1e19])
        let session = minilmSession(in: scratch.path, color: color)
        #expect(runLine(session, "model minilm \(directory)").hasPrefix("model minilm: "))
        #expect(runLine(session, "layer 0") == "")
        let scores = runLine(session, "scores")
        #expect(scores.contains("∞"), "\(scores)")
        let z = runLine(session, "z")
        #expect(z.contains("z[[CLS]] is nan% v[[CLS]]"), "\(z)")
        let neuron = runLine(session, "neuron 1 2")
        #expect(neuron.contains("give nan% of the positive products"), "\(neuron)")
        for line in ["walk", "weights", "heads", "heads all", "rollout", "importance", "ablate head 0 1",
                     "plot weights \(scratch.path)/weights.svg", "out", "check weights weights"] {
            let output = runLine(session, line)
            #expect(!output.isEmpty && !output.hasPrefix("error:"), "\(line): \(output)")
        }
    }

    @Test("a matrix spanning −3e38…3e38 is shaded (its span overflows to ∞), and a bar or percentage of nan is empty, not a trap")
    func overflowingSpan() {
        let huge = Matrix(rows: 2, columns: 2, values: [-3e38, 3e38, 0, .nan])
        let text = MatrixRenderer(width: 80, color: true).render(huge, rowLabels: ["a", "b"], columnLabels: ["a", "b"])
        #expect(text.contains("3.000e+38"), "\(text)")
        #expect(MatrixRenderer.shaded("x", 3e38, -3e38...3e38) == "\u{1B}[48;5;255m\u{1B}[38;5;232mx\u{1B}[0m")
        #expect(SVGHeatmap.colour(.nan) == SVGHeatmap.colour(0))
        #expect(roundedInt(Float.nan, in: 0...30) == nil && roundedInt(Float.infinity, in: 0...30) == 30)
        #expect(roundedInt(-Double.infinity, in: 0...30) == 0 && roundedInt(Float(1e30), in: 0...30) == 30)
        #expect(percentText(Float.nan) == "nan" && percentText(Float(0.857)) == "86")
    }
}
