import AttnCore
import Foundation
@testable import Notebook
import Testing

// Issue 11, the notebook's side: model files and their configuration come from outside. Numbers
// that overflow must not trap a command, a bad model directory gives one line that names what is
// wrong and keeps the previous model, and a model file truncated while attn reads it ends the
// process with one line instead of a crash.

// MARK: - Helpers

/// Output with the renderer's wrapping undone: a line end and its indent become one space.
private func unwrapped(_ text: String) -> String { text.replacingOccurrences(of: "\n  ", with: " ") }

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
        #expect(unwrapped(runLine(session, "model minilm \(directory)")).hasPrefix("model minilm: BERT encoder from \(directory): 6 layers, 12 heads"))
        #expect(runLine(session, "layer 0") == "")
        let scores = runLine(session, "scores")
        #expect(scores.contains("∞"), "\(scores)")
        let z = runLine(session, "z")
        #expect(z.replacingOccurrences(of: "\n", with: " ").contains("z[0] ([CLS]) is nan% v[0] ([CLS])"), "\(z)")
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

// MARK: - 4. Errors that say what is wrong

/// `line` on `session` must print exactly `error: message` and leave the session as it was.
private func expectRefused(_ session: Session, _ line: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let before = SessionState(session)
    #expect(runLine(session, line) == "error: \(message)\n", sourceLocation: sourceLocation)
    #expect(SessionState(session) == before, sourceLocation: sourceLocation)
}

@Suite("Untrusted model files: errors that name what is wrong, and keep the previous model")
struct UntrustedModelErrorTests {
    @Test("config.json or vocab.txt that is a FIFO or a device: 'not a regular file', at once (a FIFO is never opened)")
    func notRegularFiles() throws {
        let scratch = ScratchDirectory("fifo")
        defer { scratch.remove() }
        let session = minilmSession(in: scratch.path)
        for name in ["config.json", "vocab.txt"] {
            let directory = scratch.directory("model-\(name)")
            try minilmCopy(in: directory)
            try FileManager.default.removeItem(atPath: directory + "/" + name)
            #expect(mkfifo(directory + "/" + name, 0o600) == 0)
            expectRefused(session, "model minilm \(directory)", "cannot read \(directory)/\(name): not a regular file")
            try FileManager.default.removeItem(atPath: directory + "/" + name)
            try FileManager.default.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: "/dev/zero")
            expectRefused(session, "model minilm \(directory)", "cannot read \(directory)/\(name): not a regular file")
        }
        // The GGUF side: a FIFO is refused the same way (MappedFile opens it without waiting).
        let fifo = scratch.path + "/model.gguf"
        #expect(mkfifo(fifo, 0o600) == 0)
        expectRefused(session, "model smollm2 \(fifo)", "cannot read \(fifo): not a regular file")
    }

    @Test("a file missing from the cache is named; a cache with none of the files says to fetch them")
    func missingFromCache() throws {
        let scratch = ScratchDirectory("cache")
        defer { scratch.remove() }
        let models = scratch.directory("models")
        let cache = scratch.directory("models/minilm")
        try minilmCopy(in: cache)
        try FileManager.default.removeItem(atPath: cache + "/vocab.txt")
        let session = Session(renderer: MatrixRenderer(width: 80), environment: ["ATTN_MODELS": models],
                              workingDirectory: scratch.path)
        #expect(runLine(session, "sentence the cat") == "error: \(cache) has no vocab.txt, which all-MiniLM-L6-v2 needs: run `attn fetch` to fetch it again\n")
        #expect(runLine(session, "model smollm2") == "error: the SmolLM2-135M-Instruct weights are not in \(models)/smollm2: run `attn fetch smollm2` once to fetch them\n")
        _ = scratch.directory("models/smollm2")
        try FileManager.default.createSymbolicLink(atPath: cache + "/vocab.txt", withDestinationPath: RealMiniLM.file("vocab.txt"))
        #expect(unwrapped(runLine(session, "model minilm")) == "model minilm: all-MiniLM-L6-v2 (BERT encoder): 6 layers, 12 heads, d_model 384, dₕ 32, from the attn cache\n")
    }

    @Test("a BERT of one layer and one head from a PATH is described by its own numbers, in the singular")
    func describesWhatWasLoaded() throws {
        let scratch = ScratchDirectory("one-layer")
        defer { scratch.remove() }
        let directory = scratch.directory("tiny bert")
        try minilmCopy(in: directory)
        // The real weights of layer 0 only, under a configuration of 1 layer of 1 head of 384.
        let config = directory + "/config.json"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any])
        json["num_hidden_layers"] = 1
        json["num_attention_heads"] = 1
        try FileManager.default.removeItem(atPath: config)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: config))
        let weights = directory + "/model.safetensors"
        let original = try Data(contentsOf: URL(fileURLWithPath: weights))
        let length = original.prefix(8).reversed().reduce(0) { $0 << 8 | Int($1) }
        var header = try #require(try JSONSerialization.jsonObject(with: original.subdata(in: 8..<(8 + length))) as? [String: Any])
        for key in header.keys where key.hasPrefix("encoder.layer.") && !key.hasPrefix("encoder.layer.0.") { header[key] = nil }
        let json2 = try JSONSerialization.data(withJSONObject: header)
        var bytes = withUnsafeBytes(of: UInt64(json2.count).littleEndian) { Data($0) }
        bytes.append(json2)
        bytes.append(original.subdata(in: (8 + length)..<original.count))
        try bytes.write(to: URL(fileURLWithPath: weights))

        let session = minilmSession(in: scratch.path)
        let output = unwrapped(runLine(session, "model minilm \(directory)"))
        #expect(output == "model minilm: BERT encoder from \(directory): 1 layer, 1 head, d_model 384, dₕ 384\nsentence: 8 tokens: [CLS] the cat sat on the mat [SEP] (22 characters)\n", "\(output)")
        #expect(session.prompt == "minilm L0 H0> ")
    }

    @Test("a MiniLM with a nan weight or an impossible configuration: one line naming the tensor or the key, and the previous model stays")
    func brokenKeepsPrevious() throws {
        let scratch = ScratchDirectory("keeps")
        defer { scratch.remove() }
        let session = minilmSession(in: scratch.path)
        let directory = scratch.directory("nan")
        try minilmCopy(in: directory, setting: ["encoder.layer.1.attention.output.dense.bias": .nan])
        expectRefused(session, "model minilm \(directory)",
                      "\(directory)/model.safetensors is corrupt: tensor encoder.layer.1.attention.output.dense.bias holds nan at [0], where a weight must be a finite number; fetch the weights again")
        let huge = scratch.directory("huge")
        try minilmCopy(in: huge)
        let config = huge + "/config.json"
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as? [String: Any])
        json["max_position_embeddings"] = 1 << 20
        json["vocab_size"] = 1 << 20
        json["intermediate_size"] = 1 << 16
        try FileManager.default.removeItem(atPath: config)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: config))
        expectRefused(session, "model minilm \(huge)",
                      "\(huge)/model.safetensors describes 4240 MB of float32 weights, more than the 4096 MB attn allows one model: use a smaller model")
        json["num_hidden_layers"] = 0
        try FileManager.default.removeItem(atPath: config)
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: config))
        expectRefused(session, "model minilm \(huge)",
                      "\(config) is not a usable model configuration: num_hidden_layers is 0, outside 1…256")
    }
}

// MARK: - 2. A model file truncated while attn reads it

@Suite("Untrusted model files: a weights file truncated under a running attn")
struct TruncatedWhileMappedTests {
    /// The `attn` next to this test bundle (`swift build` puts them in the same directory).
    static let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("attn").path

    @Test("the weights truncated mid-session: one line on standard error, exit status 1, no crash and no backtrace")
    func truncated() throws {
        let scratch = ScratchDirectory("sigbus")
        defer { scratch.remove() }
        let directory = scratch.directory("models/minilm")
        try minilmCopy(in: directory)
        let weights = directory + "/model.safetensors"

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.environment = ["ATTN_MODELS": scratch.path + "/models", "HOME": scratch.path, "NO_COLOR": "1",
                               "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()

        // A first sentence reads the weights through the mapping; then another process cuts the
        // file to 4 KB, and the next sentence reads rows that are no longer there.
        input.fileHandleForWriting.write(Data("sentence the cat sat on the mat\n".utf8))
        var printed = ""
        while !printed.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            printed += String(decoding: chunk, as: UTF8.self)
        }
        #expect(printed == "sentence: 8 tokens: [CLS] the cat sat on the mat [SEP]\n")
        #expect(truncate(weights, 4096) == 0)
        input.fileHandleForWriting.write(Data("sentence a dog ran in the park\nweights\n".utf8))
        try input.fileHandleForWriting.close()
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()

        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 1)
        #expect(stderr == "error: a model file was changed or truncated while attn was reading it (\(weights)); start attn again\n")
        #expect(rest.isEmpty)
    }
}
