import AttnCore
import Foundation
@testable import Notebook
import Testing

// Hostile input (issue 7): whatever a learner, a pipe or a damaged download throws at the notebook,
// every line ends in its normal output or in exactly one line `error: …`, the process survives, a
// failed command leaves the session as it was, and the session goes on computing the same numbers.
//
// Everything here is bounded so that the whole file runs in seconds in a debug build: the fuzz
// loop never loads SmolLM2, and the one SmolLM2 session of the file is loaded once (a static).

// MARK: - Helpers

/// SplitMix64 (Steele, Lea & Flood, 2014): a small generator whose whole state is one seed, so that
/// the fuzz lines are the same on every run and on every machine.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes `bytes` to `path`, replacing what was there.
private func write(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// The first `count` bytes of a file (all of it when it is shorter).
private func prefix(of path: String, _ count: Int) throws -> [UInt8] {
    let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    return [UInt8](try handle.read(upToCount: count) ?? Data())
}

/// Extends a file with zeros to `size` bytes without writing them: a sparse file, so that a
/// 90 MB checkpoint whose header is real costs no disk and no time.
private func extend(_ path: String, to size: Int) {
    #expect(truncate(path, off_t(size)) == 0, "truncate \(path): \(String(cString: strerror(errno)))")
}

/// Whether `output` is one error line: `error: `, a message without line ends, one `\n`.
private func isOneErrorLine(_ output: String) -> Bool {
    guard output.hasPrefix("error: "), output.hasSuffix("\n") else { return false }
    let message = output.dropFirst("error: ".count).dropLast()
    return !message.contains("\n") && !message.trimmingCharacters(in: .whitespaces).isEmpty
}

// MARK: - 1. Fuzz

/// Lines a careless or hostile learner, or a broken pipe, might send: commands with random
/// arguments, broken math, Unicode, invalid UTF-8, control characters, long and deeply nested
/// lines, and mutations of good lines. Every path a line could write to stays inside `home`
/// (or is /dev/full); see `isContained`.
private struct HostileLines {
    var random: SplitMix64
    /// The session's working directory and `HOME`.
    let home: String
    /// Directories and files made to look like models, for `model minilm PATH`.
    let modelPaths: [String]

    static let numbers = ["0", "1", "2", "3", "5", "7", "11", "12", "29", "-1", "-12", "+1", "+99", "-0", "007", "100",
                          "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                          "+9223372036854775807", "-9223372036854775807", "99999999999999999999", "1e39", "-1e400",
                          "99999999999999999999999999", "1e9", "1e400", "-1e-400", "0x1F", "3.5", ".5", "5.", "0.7",
                          "NaN", "nan", "inf", "-inf", "Infinity", "1_000", "١٢", "１２", "½", "2²", "1e-45", "+-1", "--1"]
    static let words = ["all", "stop", "clear", "head", "layer", "transcript", "math", "the", "cat", "minilm", "smollm2",
                        "MINILM", "gpt5", "rollout", "tokens", "softmax", "Q", "dk", "weights", "?", "--help", "-h", "'",
                        "\"", "\\", "`rm -rf /`", "$(reboot)", "%s%s%n", "%@", "{}", "null", "nil", "true", "#", ";",
                        "|", "&&", "=", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "[PAD]", "<|im_start|>", "<|endoftext|>",
                        "##ing", "unbelievable", "Attention", "is", "all", "you", "need."]
    static let unicode = ["注意力", "猫が座った", "한국어", "🐈", "🐈‍⬛", "👩🏽‍💻", "🇫🇷", "e\u{301}",
                          "a\u{300}\u{301}\u{302}\u{303}\u{304}\u{305}", "Z\u{334}\u{321}\u{31B}\u{356}\u{348}",
                          "مرحبا بالعالم", "שלום", "\u{202E}evil\u{202C}", "\u{200B}", "\u{200D}", "\u{FEFF}", "\u{FFFD}",
                          "\u{10FFFF}", "\u{E000}", "ﷺ", "𝕏", "Ⅻ", "ß", "İ", "ǅ", "ﬁ", "\u{1F3FB}", "Ω", "\u{301}",
                          "\u{3000}", "\u{A0}", "\u{2028}", "\u{85}", "\u{1D11E}", "ＱＫ", "Ｑ", "Q\u{301}", "ᐅ", "∑", "√", "·", "×"]
    static let controls = ["\0", "\u{1}", "\u{7}", "\u{8}", "\t", "\r", "\u{B}", "\u{C}", "\u{1B}[31m", "\u{1B}]0;x\u{7}",
                           "\u{1B}", "\u{7F}", "\u{9B}", "\u{1F}", "\0\0\0", "\r\r"]
    static let mathTokens = ["Q", "K", "V", "X", "W_Q", "W_K", "W_O", "W_1", "b_Q", "dk", "T", "M", "ids", "scores", "weights",
                             "masked", "E", "H", "Z", "my_A", "A", "foo", "0", "1", "2.5", "-1", "1e30", "inf", "1e-30",
                             "+", "-", "*", "/", "@", "**", "==", "=", ".T", ".", ",", ":", "(", ")", "[", "]", "axis=1",
                             "axis=0", "axis=7", "softmax(", "sqrt(", "exp(", "log(", "max(", "sum(", "mean(", "tril(",
                             "ones(", "zeros(", "eye(", "@@", "..", "T.T", "Q[", "K[:,", "-1]", "0:4", "::", "[:, 1]",
                             "9223372036854775807", "-9223372036854775808", "1e400", "10**10", "arange(", "2 ** 62"]
    static let paths = ["w.npy", "w.csv", "t.tsv", "t.txt", "p.svg", "s.md", "S.MD", "x.NPY", "w.png", "w", ".npy",
                        "sub/w.npy", "missing/w.npy", "afile/w.npy", "sub", ".", "~/h.npy", "~", "/dev/full",
                        "dir with space/x.npy", "注意.npy", "🐈.csv", String(repeating: "n", count: 300) + ".npy", "-",
                        "'q'.npy", "w.npy\0x", "\u{202E}ypn.csv", "a\tb.csv", "sub/../sub/w.csv", "../w.npy", "/etc/w.npy",
                        "~/../w.npy", "//w.npy", "/tmp/w.npy", "n.html", "N.HTM"]
    static let goodLines = ["check softmax(Q @ K.T / sqrt(dk)) weights", "show q[0:4, 0:8]", "weights[2, :]",
                            "sentence \"the \\\"cat\\\"\\tsat\"", "neuron 1 2", "ablate head 1 2", "layer +1", "head -1",
                            "A = Q @ K.T", "softmax(scaled, axis=1) - weights", "export weights w.npy", "plot scores p.svg",
                            "save transcript s.md", "save notebook s.html", "heads", "precision 2", "help scores", "model minilm /nonexistent",
                            "rollout", "walk", "names", "masked[-1]", "max(scores, axis=1)", "tokens",
                            "layer +9223372036854775807", "head -9223372036854775807", "Q[9223372036854775807]",
                            "Q[-9223372036854775808:]", "arange(1e30)", "ones(T, 10**10)", "1e400", "precision 10000"]

    /// Lines that move through lessons (the fuzz's lessons directory holds `lessonFiles`), Enter among them.
    static let lessonLines = ["lesson 1", "lesson 2", "lesson 3", "lesson 4", "lesson tiny", "lesson loop", "lesson 99", "next",
                              "back", "skip", "hint", "where", "lesson stop", "lessons", "", "", "quit"]
    /// A small lesson with an exercise, one whose block runs `next`, one that starts itself, and one never closed.
    static let lessonFiles = [
        "01-tiny.md": "# 1. Tiny\n\nProse \u{1B}[31mred\u{1B}[0m.\n\n```attn\ntokens\n```\n\n```attn\n# exercise: scores\n# hint: Q @ K.T\ncheck Q @ K.T scores\n```\n\nDone.\n",
        "02-loop.md": "# 2. Loop\n\n```attn\ntokens\nnext\n```\n",
        "03-self.md": "# 3. Self\n\n```attn\nlesson 3\n```\n",
        "04-open.md": "# 4. Open\n\n```attn\ntokens\n",
    ]

    init(seed: UInt64, home: String, modelPaths: [String]) {
        random = SplitMix64(state: seed)
        self.home = home
        self.modelPaths = modelPaths
    }

    mutating func pick(_ items: [String]) -> String { items.randomElement(using: &random)! }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
    mutating func count(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }

    mutating func number() -> String {
        switch count(0...3) {
        case 0: return String(count(-30...30))
        case 1: return String(random.next())
        case 2: return String(Int64(bitPattern: random.next()))
        default: return pick(Self.numbers)
        }
    }

    /// One argument of any kind.
    mutating func argument() -> String {
        switch count(0...5) {
        case 0, 1: return number()
        case 2: return pick(Self.words)
        case 3: return pick(Self.paths)
        case 4: return pick(Self.unicode)
        default: return pick(Self.controls) + pick(Self.words)
        }
    }

    /// Random bytes read the way the pipe reader reads them: invalid UTF-8 becomes U+FFFD.
    mutating func invalidUTF8() -> String {
        var bytes = [UInt8]()
        if chance(50) { bytes += Array(pick(Commands.words).utf8) + [0x20] }
        for _ in 0..<count(1...40) {
            switch count(0...4) {
            case 0: bytes.append(UInt8.random(in: 0x80...0xFF, using: &random))              // stray continuation / lead
            case 1: bytes += [0xC0, 0xAF]                                                     // overlong '/'
            case 2: bytes += [0xED, 0xA0, 0x80]                                               // a UTF-16 surrogate
            case 3: bytes += [0xF4, 0x90, 0x80, 0x80]                                         // above U+10FFFF
            default: bytes.append(UInt8.random(in: 0...0xFF, using: &random))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A math expression from random tokens: mostly broken.
    mutating func expression(tokens: Int) -> String {
        (0..<tokens).map { _ in pick(Self.mathTokens) }.joined(separator: chance(50) ? " " : "")
    }

    /// A short sentence: a few words, some of them Unicode, so that `importance` (one forward pass
    /// per token) stays quick.
    mutating func sentence() -> String {
        let words = (0..<count(1...4)).map { _ in chance(75) ? pick(Self.words) : pick(Self.unicode) }
        return words.joined(separator: " ")
    }

    /// A good line with a few characters inserted, deleted or replaced.
    mutating func mutated() -> String {
        var characters = Array(pick(Self.goodLines))
        for _ in 0..<count(1...3) {
            let i = count(0...max(0, characters.count - 1))
            let insert = Array(chance(50) ? pick(Self.controls + Self.unicode) : pick(["(", ")", "[", "]", "@", ".T", "\"", "\\", "-", "9", " ", ","]))
            switch count(0...2) {
            case 0: characters.insert(contentsOf: insert, at: min(i, characters.count))
            case 1: if !characters.isEmpty { characters.remove(at: i) }
            default: if !characters.isEmpty { characters.replaceSubrange(i...i, with: insert) }
            }
        }
        return String(characters)
    }

    /// The next line.
    mutating func next() -> String {
        var line: String
        switch count(0...99) {
        case 0..<25:  // a command or step with random arguments
            line = ([pick(Commands.words)] + (0..<count(0...3)).map { _ in argument() }).joined(separator: pick([" ", " ", "  ", "\t"]))
        case 25..<33:  // a step with a slice
            let parts = (0..<count(0...3)).map { _ in chance(50) ? "\(number()):\(chance(50) ? number() : "")" : number() }
            line = pick(StepInfo.names) + "[" + parts.joined(separator: ",") + (chance(80) ? "]" : "")
        case 33..<45:
            line = expression(tokens: count(1...25))
        case 45..<50:
            line = pick(["A", "my_A", "Q", "softmax", "weights", "_", "a1", "Ω", "T", "X2", "inf", "axis"]) + " = " + expression(tokens: count(1...10))
        case 50..<55:  // deep nesting
            let depth = count(50...400)
            switch count(0...4) {
            case 0: line = String(repeating: "(", count: depth) + "Q" + String(repeating: ")", count: count(0...depth))
            case 1: line = String(repeating: "softmax(", count: depth) + "Q" + String(repeating: ")", count: depth)
            case 2: line = String(repeating: "-", count: depth) + "Q"
            case 3: line = "Q" + String(repeating: ".T", count: depth)
            default: line = "check " + String(repeating: "[", count: depth) + " weights"
            }
        case 55..<58:  // a long line
            let filler = pick(["a", "Q+", "(", " ", "猫", "🐈", "word ", "\\", "[CLS]", "é", "\0"])
            line = pick(["", "sentence ", "help ", "check ", "export weights ", "layer ", "weights[", "# "])
                + String(repeating: filler, count: 5000 / max(1, filler.unicodeScalars.count))
        case 58..<66:
            line = (0..<count(1...8)).map { _ in pick(Self.unicode) }.joined(separator: chance(50) ? " " : "")
            if chance(30) { line = pick(["sentence ", "layer ", "help ", "export weights ", "neuron ", ""]) + line }
        case 66..<72:
            line = invalidUTF8()
        case 72..<78:
            line = (0..<count(1...6)).map { _ in chance(50) ? pick(Self.controls) : pick(Commands.words) }.joined(separator: chance(50) ? " " : "")
        case 78..<82:
            line = chance(30) ? "sentence \"\(sentence())\(pick(["", "\\n", "\\t", "\\q", "\\", "\"", "\" trailing"]))\"" : "sentence " + sentence()
        case 82..<87:
            line = "\(pick(["model minilm", "model smollm2", "model", "model MINILM", "model minilm  "])) \(pick(modelPaths))"
        case 87..<92:
            line = "\(pick(["export weights", "export tokens", "export rollout", "export q", "plot weights", "plot rollout", "plot q", "save transcript", "save notebook", "save"])) \(pick(Self.paths))"
        case 92..<96:  // following lessons, two of which try to run lessons themselves
            line = pick(Self.lessonLines)
        default:
            line = mutated()
        }
        // A pipe never delivers a line end inside a line.
        line = String(String.UnicodeScalarView(line.unicodeScalars.filter { $0 != "\n" }))
        return isContained(line) ? line : "# (a line that would write outside the scratch directory)"
    }

    /// Whether every file this line could write lies inside `home`, or is /dev/full. The check
    /// parses the line with the session's own parser and resolves paths as the session does.
    func isContained(_ line: String) -> Bool {
        guard let path = Commands.command(line)?.writtenPath else { return true }
        if path == "/dev/full" { return true }
        let resolved = path == "~" || path.hasPrefix("~/") ? home + path.dropFirst() : path.hasPrefix("/") ? path : home + "/" + path
        return resolved.hasPrefix(home + "/") && !resolved.split(separator: "/").contains("..")
    }
}

@Suite("Hostile input: a seeded fuzz over the real MiniLM")
struct HostileFuzzTests {
    @Test("thousands of hostile lines: each gives its output or one error line, and the session still computes correctly")
    func fuzz() throws {
        let scratch = ScratchDirectory("fuzz")
        defer { scratch.remove() }
        // HOME and the working directory are the scratch directory; the model store holds MiniLM
        // only, so that `model smollm2` without a path fails fast instead of loading 100 MB.
        let home = scratch.directory("home")
        let store = scratch.directory("models")
        try FileManager.default.createSymbolicLink(atPath: store + "/minilm", withDestinationPath: ModelStore.directory(for: .minilm))
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = home
        environment["ATTN_MODELS"] = store

        // Things for paths to find: a directory, a file where a directory is expected, models
        // made of garbage.
        _ = scratch.directory("home/sub")
        try write(Array("not a directory".utf8), to: home + "/afile")
        let garbage = scratch.directory("home/garbage")
        var bytes = SplitMix64(state: 7)
        for name in ["config.json", "model.safetensors", "vocab.txt", "model.gguf"] {
            try write((0..<4096).map { _ in UInt8(truncatingIfNeeded: bytes.next()) }, to: garbage + "/" + name)
        }
        let halfReal = scratch.directory("home/half")
        try FileManager.default.copyItem(atPath: ModelStore.directory(for: .minilm) + "/config.json", toPath: halfReal + "/config.json")
        try write([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F] + Array("{}".utf8), to: halfReal + "/model.safetensors")
        try write(Array("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 16), to: home + "/bad.gguf")
        let modelPaths = ["/nonexistent", "/nonexistent/dir", garbage, garbage + "/model.gguf", halfReal, scratch.directory("home/empty"),
                          home + "/afile", home + "/bad.gguf", "/dev/null", "/dev/full", "/dev/zero", "sub", "garbage", "~", "",
                          "🐈", "\0", String(repeating: "x", count: 5000)]

        let session = Session(renderer: MatrixRenderer(width: 80), environment: environment, workingDirectory: home)
        let lessons = scratch.directory("lessons")
        for (name, text) in HostileLines.lessonFiles { try write(Array(text.utf8), to: lessons + "/" + name) }
        session.lessonsDirectory = lessons
        #expect(runLine(session, "sentence the cat sat on the mat") == "sentence: 8 tokens: [CLS] the cat sat on the mat [SEP]\n")

        var lines = HostileLines(seed: 0x5EED_A77E_0007, home: home, modelPaths: modelPaths)
        let echo = ProcessInfo.processInfo.environment["ATTN_FUZZ_ECHO"] != nil  // to find the line of a crash
        var errors = 0
        for index in 0..<3000 {
            let line = lines.next()
            if echo { FileHandle.standardError.write(Data("fuzz \(index): \(line.debugDescription)\n".utf8)) }
            let output = runLine(session, line)
            #expect(session.modelSource?.name == "minilm", "line \(index) \(line.debugDescription)")
            if output.hasPrefix("error") {
                errors += 1
                #expect(isOneErrorLine(output), "line \(index) \(line.debugDescription): \(output.prefix(300).debugDescription)")
            } else {
                #expect(!output.contains("\nerror: "), "line \(index) \(line.debugDescription): \(output.prefix(300).debugDescription)")
            }
        }
        // Most lines are wrong on purpose, but not all: a fuzz whose lines all passed, or all
        // failed (say, for want of a sentence), would test little.
        #expect(errors > 1000 && errors < 2700, "\(errors) errors")

        // Nothing was written outside the scratch directory's home; nothing half-written is left.
        #expect(scratch.names() == ["home", "lessons", "models"])
        #expect(scratch.names(in: store) == ["minilm"])
        let leftovers = FileManager.default.enumerator(atPath: home)?.compactMap { $0 as? String }.filter { $0.hasSuffix(".tmp") } ?? []
        #expect(leftovers.isEmpty, "\(leftovers)")

        // The session still computes correctly: the check passes and the numbers are a fresh session's.
        _ = runLine(session, "ablate clear")
        _ = runLine(session, "lesson stop")
        _ = runLine(session, "precision 4")
        #expect(runLine(session, "sentence the cat sat on the mat") == "sentence: 8 tokens: [CLS] the cat sat on the mat [SEP]\n")
        #expect(runLine(session, "layer 2") == "")
        #expect(runLine(session, "head 7") == "")
        #expect(session.modelSource?.name == "minilm")
        #expect(session.prompt == "minilm L2 H7> ")
        let check = runLine(session, "check softmax(Q @ K.T / sqrt(dk)) weights")
        #expect(check.hasPrefix("✓"), "\(check)")
        let fresh = Session(renderer: MatrixRenderer(width: 80), workingDirectory: home)
        let reference = runLine(fresh, "sentence the cat sat on the mat") + runLine(fresh, "layer 2") + runLine(fresh, "head 7")
        #expect(reference.hasPrefix("sentence: 8 tokens"))
        #expect(runLine(session, "weights") == runLine(fresh, "weights"))
    }
}

// MARK: - 2. Broken model files

/// A session over the real MiniLM in `directory`, at a sentence, layer and head that are not the defaults.
private func minilmSession(in directory: String) -> Session {
    let session = Session(renderer: MatrixRenderer(width: 80), workingDirectory: directory)
    #expect(runLine(session, "sentence the cat sat on the mat") == "sentence: 8 tokens: [CLS] the cat sat on the mat [SEP]\n")
    #expect(runLine(session, "layer 3") + runLine(session, "head 5") == "")
    return session
}

/// The message a failing command must give: all of it, or where a part depends on the platform
/// (Foundation's JSON errors) or on hashing order (which bad tensor is met first), its two ends.
struct ExpectedError: CustomStringConvertible {
    var prefix: String
    var suffix: String?

    static func exactly(_ message: String) -> ExpectedError { ExpectedError(prefix: message, suffix: nil) }

    func matches(_ message: String) -> Bool {
        guard let suffix else { return message == prefix }
        return message.hasPrefix(prefix) && message.hasSuffix(suffix) && message.count >= prefix.count + suffix.count
    }

    var description: String { suffix.map { "\(prefix)…\($0)" } ?? prefix }
}

/// The real MiniLM checkpoint, read only.
private enum RealMiniLM {
    static var directory: String { ModelStore.directory(for: .minilm) }
    static func file(_ name: String) -> String { directory + "/" + name }

    /// The safetensors header as JSON, the length it has in the file, and the size of the data after it.
    static func header() throws -> (entries: [String: Any], length: Int, dataSize: Int) {
        let path = file("model.safetensors")
        let length = try prefix(of: path, 8).reversed().reduce(0) { $0 << 8 | Int($1) }
        let bytes = try prefix(of: path, 8 + length)
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8...])) as? [String: Any])
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        return (entries, length, size - 8 - length)
    }

    /// The configuration as JSON.
    static func configuration() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: file("config.json")))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// A safetensors file: the header length (the JSON's unless given), the header, the data.
private func safetensors(_ header: Any, data: [UInt8] = [], length: UInt64? = nil) throws -> [UInt8] {
    let json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
    return withUnsafeBytes(of: (length ?? UInt64(json.count)).littleEndian, Array.init) + json + data
}

/// One way a MiniLM directory can be broken. Each writes config.json, model.safetensors and
/// vocab.txt into a directory (copies or symbolic links of the real ones, except the broken one).
enum BrokenMiniLM: String, CaseIterable, Sendable {
    case emptyWeights, truncatedWeights, hugeHeaderLength, headerNotJSON, headerNotObject, offsetsOutOfRange,
         unsupportedDType, missingTensor, transposedTensor, weightsAreADirectory, missingConfiguration,
         configurationNotJSON, tooManyLayers, headsDoNotDivide, missingVocabulary, emptyVocabulary, shortVocabulary,
         vocabularyNotUTF8

    /// Writes the broken directory and returns the error `model minilm DIRECTORY` must give.
    func build(in directory: String) throws -> ExpectedError {
        let weights = directory + "/model.safetensors", config = directory + "/config.json", vocab = directory + "/vocab.txt"
        let manager = FileManager.default
        try manager.copyItem(atPath: RealMiniLM.file("config.json"), toPath: config)
        try manager.copyItem(atPath: RealMiniLM.file("vocab.txt"), toPath: vocab)
        func realWeights() throws { try manager.createSymbolicLink(atPath: weights, withDestinationPath: RealMiniLM.file("model.safetensors")) }
        func configuration(_ change: (inout [String: Any]) -> Void) throws {
            var json = try RealMiniLM.configuration()
            change(&json)
            try manager.removeItem(atPath: config)
            try Data(try JSONSerialization.data(withJSONObject: json)).write(to: URL(fileURLWithPath: config))
        }
        /// The real header changed by `change`, over a sparse data section of the real size.
        func realHeader(_ change: (inout [String: Any]) -> Void) throws {
            var (entries, _, dataSize) = try RealMiniLM.header()
            change(&entries)
            let header = try safetensors(entries)
            try write(header, to: weights)
            extend(weights, to: header.count + dataSize)
        }

        switch self {
        case .emptyWeights:
            try write([], to: weights)
            return .exactly("\(weights) is not a safetensors file: it has 0 bytes, fewer than the 8-byte header length")
        case .truncatedWeights:
            // The real file's first 64 KB: the header whole, most tensors cut off.
            let (_, length, _) = try RealMiniLM.header()
            try write(try prefix(of: RealMiniLM.file("model.safetensors"), 65536), to: weights)
            return ExpectedError(prefix: "\(weights) is corrupt: tensor ",
                                 suffix: " but the data section has \(65536 - 8 - length); fetch the weights again")
        case .hugeHeaderLength:
            try write(try safetensors([String: Any](), length: .max), to: weights)
            return .exactly("\(weights) is corrupt: its header claims 18446744073709551615 bytes but the file has only 10; fetch the weights again")
        case .headerNotJSON:
            try write(withUnsafeBytes(of: UInt64(11).littleEndian, Array.init) + Array("{\"a\": nope}".utf8), to: weights)
            return ExpectedError(prefix: "\(weights) is corrupt: its header is not valid JSON (", suffix: "); fetch the weights again")
        case .headerNotObject:
            try write(try safetensors([1, 2, 3]), to: weights)
            return .exactly("\(weights) is corrupt: its header is not valid JSON (the top level is not an object); fetch the weights again")
        case .offsetsOutOfRange:
            try write(try safetensors(["t": ["dtype": "F32", "shape": [4], "data_offsets": [1 << 52, 1 << 52 + 16]]],
                                      data: [UInt8](repeating: 0, count: 8)), to: weights)
            return .exactly("\(weights) is corrupt: tensor t spans bytes 4503599627370496..<4503599627370512 but the data section has 8; fetch the weights again")
        case .unsupportedDType:
            try write(try safetensors(["t": ["dtype": "F64", "shape": [2], "data_offsets": [0, 16]]],
                                      data: [UInt8](repeating: 0, count: 16)), to: weights)
            return .exactly("\(weights): tensor t has dtype F64, which attn cannot read (supported: F32, F16, BF16, I64)")
        case .missingTensor:
            try realHeader { $0["encoder.layer.3.attention.self.key.weight"] = nil }
            return .exactly("\(weights) has no tensor encoder.layer.3.attention.self.key.weight: is this the right checkpoint?")
        case .transposedTensor:
            try realHeader {
                var entry = $0["encoder.layer.0.intermediate.dense.weight"] as? [String: Any] ?? [:]
                entry["shape"] = [384, 1536]
                $0["encoder.layer.0.intermediate.dense.weight"] = entry
            }
            return .exactly("tensor encoder.layer.0.intermediate.dense.weight has shape [384 × 1536], expected [1536 × 384]")
        case .weightsAreADirectory:
            try manager.createDirectory(atPath: weights, withIntermediateDirectories: false)
            return .exactly("cannot read \(weights): not a regular file")
        case .missingConfiguration:
            try manager.removeItem(atPath: config)
            try realWeights()
            return .exactly("cannot read \(config): no such file")
        case .configurationNotJSON:
            try manager.removeItem(atPath: config)
            try write(Array("{ \"hidden_size\": 384,".utf8), to: config)
            try realWeights()
            return .exactly("\(config) is not a usable model configuration: it is not valid JSON")
        case .tooManyLayers:
            try configuration { $0["num_hidden_layers"] = 7 }
            try realWeights()
            return .exactly("\(weights) has no tensor encoder.layer.6.attention.self.query.weight: is this the right checkpoint?")
        case .headsDoNotDivide:
            try configuration { $0["num_attention_heads"] = 5 }
            try realWeights()
            return .exactly("\(config) is not a usable model configuration: hidden_size 384 is not a multiple of num_attention_heads 5")
        case .missingVocabulary:
            try manager.removeItem(atPath: vocab)
            try realWeights()
            return .exactly("cannot read \(vocab): there is no such file, and no tokenizer.json beside it")
        case .emptyVocabulary:
            try write([], to: vocab)
            try realWeights()
            return .exactly("\(vocab) is not a usable vocabulary: the file is empty")
        case .shortVocabulary:
            let lines = try String(contentsOfFile: vocab, encoding: .utf8).split(separator: "\n").prefix(1000)
            try write(Array((lines.joined(separator: "\n") + "\n").utf8), to: vocab)
            try realWeights()
            return .exactly("\(vocab) is not a usable vocabulary: it has 1000 tokens but config.json says vocab_size 30522")
        case .vocabularyNotUTF8:
            try write(try prefix(of: vocab, 1 << 20) + [0xFF, 0xFE, 0x0A], to: vocab)
            try realWeights()
            return .exactly("\(vocab) is not a usable vocabulary: it is not UTF-8 text")
        }
    }
}

@Suite("Hostile input: broken MiniLM directories")
struct BrokenMiniLMTests {
    @Test("model minilm PATH on a broken directory: one specific error line, and the session keeps its model, sentence, layer and head",
          arguments: BrokenMiniLM.allCases)
    func broken(_ broken: BrokenMiniLM) throws {
        let scratch = ScratchDirectory("minilm-\(broken)")
        defer { scratch.remove() }
        let session = minilmSession(in: scratch.path)
        let before = SessionState(session)
        #expect(before.weights.hasPrefix("weights = softmax(masked)"))
        let directory = scratch.directory("broken model")
        let expected = try broken.build(in: directory)
        let output = runLine(session, "model minilm \(directory)")
        #expect(isOneErrorLine(output), "\(output)")
        #expect(expected.matches(String(output.dropFirst("error: ".count).dropLast())), "\(broken): \(output)expected: \(expected)")
        #expect(SessionState(session) == before)
    }
}

/// A GGUF file written field by field, little-endian (the layout is drawn in `GGUFFile`'s documentation).
private struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
    mutating func string(_ text: String) {
        u64(UInt64(text.utf8.count))
        bytes += text.utf8
    }
    /// "GGUF", version 3, the tensor and metadata counts.
    mutating func header(tensors: UInt64, metadata: UInt64) {
        bytes += "GGUF".utf8
        u32(3)
        u64(tensors)
        u64(metadata)
    }
    /// One tensor info: name, dimensions, ggml type id, offset in the data section.
    mutating func tensor(_ name: String, dimensions: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(dimensions.count))
        for n in dimensions { u64(n) }
        u32(type)
        u64(offset)
    }
    mutating func pad(to alignment: Int = 32) { bytes += [UInt8](repeating: 0, count: (alignment - bytes.count % alignment) % alignment) }
}

/// The real SmolLM2 file, read only.
private enum RealSmolLM2 {
    static var path: String { ModelStore.directory(for: .smollm2) + "/" + Llama.fileName }
    static func size() throws -> Int { try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) }
}

/// One way a SmolLM2 GGUF file can be broken: tiny files written here, or the real file's header
/// cut or patched (over a sparse data section of the real size where the tensors must be in range).
enum BrokenGGUF: String, CaseIterable, Sendable {
    case emptyFile, badMagic, truncatedHeader, realFirst4KB, realFirst64KB, hugeTensorCount, hugeMetadataCount, offsetOutOfRange,
         undefinedTensorType, notLlama, realHeaderWithoutData, realHeaderUnsupportedType, realHeaderMissingTensor,
         directoryWithoutGGUF, nonexistent, device

    /// Writes the broken file into `directory` and returns its path and the error `model smollm2 PATH` must give.
    func build(in directory: String) throws -> (path: String, expected: ExpectedError) {
        let path = directory + "/model.gguf"
        let invalid = "\(path) is not a usable GGUF file: "
        var file = GGUFBytes()
        switch self {
        case .emptyFile:
            try write([], to: path)
            return (path, .exactly(invalid + "the file is empty"))
        case .badMagic:
            try write(Array("PK\u{3}\u{4}".utf8) + [UInt8](repeating: 0, count: 60), to: path)
            return (path, .exactly(invalid + "it starts with the bytes 50 4B 03 04, not \"GGUF\"; it is not a GGUF file"))
        case .truncatedHeader:
            try write(try prefix(of: RealSmolLM2.path, 10), to: path)
            return (path, .exactly(invalid + "its header is truncated: the file has 10 bytes, fewer than the 24 of a GGUF header"))
        case .realFirst4KB:
            // Too short for its 272 tensor infos (2 + 9 per layer): refused before the metadata is read.
            try write(try prefix(of: RealSmolLM2.path, 4096), to: path)
            return (path, .exactly(invalid + "its header claims 272 tensors, more than its 4096 bytes can hold"))
        case .realFirst64KB:
            // Cut inside the vocabulary: the array's length is checked against the bytes left.
            try write(try prefix(of: RealSmolLM2.path, 65536), to: path)
            return (path, ExpectedError(prefix: invalid + "metadata key tokenizer.ggml.tokens claims an array of 49152 string values, more than the ",
                                        suffix: " bytes left in the file can hold"))
        case .hugeTensorCount:
            file.header(tensors: 1 << 60, metadata: 0)
            try write(file.bytes, to: path)
            return (path, .exactly(invalid + "its header claims 1152921504606846976 tensors, more than its 24 bytes can hold"))
        case .hugeMetadataCount:
            file.header(tensors: 0, metadata: 1 << 40)
            try write(file.bytes, to: path)
            return (path, .exactly(invalid + "its header claims 1099511627776 metadata entries, more than its 24 bytes can hold"))
        case .offsetOutOfRange:
            file.header(tensors: 1, metadata: 0)
            file.tensor("t", dimensions: [4], type: 0, offset: 1 << 40)
            file.pad()
            try write(file.bytes + [UInt8](repeating: 0, count: 32), to: path)
            return (path, .exactly(invalid + "tensor t needs 16 bytes at offset 1099511627776 of the data section, which has only 32 bytes: the file is truncated or its offsets are wrong"))
        case .undefinedTensorType:
            file.header(tensors: 1, metadata: 0)
            file.tensor("t", dimensions: [4], type: 99, offset: 0)
            file.pad()
            try write(file.bytes + [UInt8](repeating: 0, count: 32), to: path)
            return (path, .exactly("\(path): tensor t is stored as type id 99, which attn cannot read (it reads F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and BF16); use a file quantized to one of those"))
        case .notLlama:
            file.header(tensors: 0, metadata: 1)
            file.string("general.architecture")
            file.u32(8)
            file.string("bert")
            try write(file.bytes, to: path)
            return (path, .exactly("\(path) is not a usable model configuration: general.architecture is bert; attn reads llama decoders"))
        case .realHeaderWithoutData:
            let real = try GGUFFile(path: RealSmolLM2.path)
            try write(try prefix(of: RealSmolLM2.path, real.dataOffset), to: path)
            let first = try #require(real.tensors[real.tensorNames[0]])
            return (path, .exactly(invalid + "tensor \(first.name) needs \(first.byteRange.count) bytes at offset 0 of the data section, which has only 0 bytes: the file is truncated or its offsets are wrong"))
        case .realHeaderUnsupportedType:
            // token_embd.weight re-labelled IQ4_NL, a ggml type attn does not dequantize (32-element blocks too).
            let real = try GGUFFile(path: RealSmolLM2.path)
            var header = try prefix(of: RealSmolLM2.path, real.dataOffset)
            var name = GGUFBytes()
            name.string("token_embd.weight")
            let start = try #require(header.indices.first { header[$0...].starts(with: name.bytes) })
            // After the name: the dimension count (4 bytes), the dimensions (8 each), the type.
            let typeOffset = start + name.bytes.count + 4 + 8 * (real.tensors["token_embd.weight"]?.dimensions.count ?? 0)
            #expect(header[typeOffset] == UInt8(GGMLType.q8_0.rawValue))
            header[typeOffset] = UInt8(GGMLType.iq4_nl.rawValue)
            try write(header, to: path)
            extend(path, to: try RealSmolLM2.size())
            return (path, .exactly("\(path): tensor token_embd.weight is stored as IQ4_NL, which attn cannot read (it reads F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and BF16); use a file quantized to one of those"))
        case .realHeaderMissingTensor:
            // One tensor fewer in the count: the last tensor's info is left unread.
            let real = try GGUFFile(path: RealSmolLM2.path)
            var header = try prefix(of: RealSmolLM2.path, real.dataOffset)
            var count = GGUFBytes()
            count.u64(UInt64(real.tensorNames.count - 1))
            header.replaceSubrange(8..<16, with: count.bytes)
            try write(header, to: path)
            extend(path, to: try RealSmolLM2.size())
            return (path, .exactly("\(path) has no tensor \(real.tensorNames.last ?? ""): is this the right checkpoint?"))
        case .directoryWithoutGGUF:
            try write(Array("not a model".utf8), to: directory + "/model.safetensors")
            return (directory, .exactly("cannot read \(directory): the directory holds no .gguf file"))
        case .nonexistent:
            return ("/nonexistent/model.gguf", .exactly("cannot read /nonexistent/model.gguf: no such .gguf file or directory"))
        case .device:
            return ("/dev/null", .exactly("cannot read /dev/null: not a regular file"))
        }
    }
}

/// The file's one SmolLM2 session: loading the model takes seconds in a debug build, so it is
/// loaded once. The session starts on MiniLM with a sentence that is short for MiniLM's WordPiece
/// (long words become one [UNK]) but longer than SmolLM2's trace limit in byte-level BPE tokens,
/// then switches, so that the switch itself is tested too.
private enum SmolLM2Session {
    /// 300 words of 104 letters: 302 MiniLM tokens (each word one [UNK]), more SmolLM2 tokens
    /// than its 8192 positions.
    static let longForSmolLM2 = Array(repeating: String(repeating: "qxzj", count: 26), count: 300).joined(separator: " ")

    struct Shared: @unchecked Sendable {
        // @unchecked: only the tests of the serialized suite below touch it, one at a time.
        let session: Session
        /// What `model smollm2` printed when it replaced MiniLM.
        let switchOutput: String
        /// The sentence before the switch and after it.
        let sentenceBefore: String?
        let sentenceAfter: String?
        /// What a step printed right after the switch.
        let weightsAfter: String
    }

    static let shared: Shared = {
        let session = Session(renderer: MatrixRenderer(width: 80), workingDirectory: NSTemporaryDirectory())
        _ = runLine(session, "sentence " + longForSmolLM2)
        let sentenceBefore = session.sentence
        let switchOutput = runLine(session, "model smollm2")
        return Shared(session: session, switchOutput: switchOutput, sentenceBefore: sentenceBefore,
                      sentenceAfter: session.sentence, weightsAfter: runLine(session, "weights"))
    }()

    /// The shared session at a short sentence, layer 4 and head 5.
    static func ready() -> Session {
        let session = shared.session
        if session.sentence != "The capital of France is" {
            #expect(runLine(session, "sentence The capital of France is") == "sentence: 5 tokens: The ·capital ·of ·France ·is\n")
        }
        _ = runLine(session, "layer 4")
        _ = runLine(session, "head 5")
        #expect(session.prompt == "smollm2 L4 H5> ")
        return session
    }
}

@Suite("Hostile input: SmolLM2 (one model load for the whole suite)", .serialized)
struct HostileSmolLM2Tests {
    @Test("model smollm2 PATH on a broken GGUF file: one specific error line, and the session keeps its model, sentence, layer and head",
          arguments: BrokenGGUF.allCases)
    func broken(_ broken: BrokenGGUF) throws {
        let session = SmolLM2Session.ready()
        let before = SessionState(session)
        #expect(before.model == "smollm2" && before.weights.hasPrefix("weights = softmax(masked)"))
        let scratch = ScratchDirectory("gguf-\(broken)")
        defer { scratch.remove() }
        let (path, expected) = try broken.build(in: scratch.path)
        let output = runLine(session, "model smollm2 \(path)")
        #expect(isOneErrorLine(output), "\(output)")
        #expect(expected.matches(String(output.dropFirst("error: ".count).dropLast())), "\(broken): \(output)expected: \(expected)")
        #expect(SessionState(session) == before)
    }

    @Test("switching from MiniLM to SmolLM2 with a sentence longer than SmolLM2 traces says that the sentence was dropped, and why")
    func switchWithLongSentence() throws {
        let shared = SmolLM2Session.shared
        #expect(shared.sentenceBefore == SmolLM2Session.longForSmolLM2)
        #expect(shared.session.modelSource?.name == "smollm2")
        guard let llama = shared.session.model as? Llama else { return }
        let count = llama.tokenizer.encode(SmolLM2Session.longForSmolLM2).count
        #expect(count > llama.tokenLimit && llama.tokenLimit == 8192)
        // The sentence cannot be traced by SmolLM2, so it goes, but not silently.
        let lines = shared.switchOutput.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first?.hasPrefix("model smollm2: SmolLM2-135M-Instruct (Llama decoder)") == true)
        #expect(shared.switchOutput.replacingOccurrences(of: "\n  ", with: " ").hasSuffix(
            "\nsentence dropped: the sentence has \(count) tokens but the model reads at most 8192: shorten it\n"),
            "\(shared.switchOutput)")
        #expect(shared.sentenceAfter == nil)
        #expect(shared.weightsAfter == "error: no sentence yet: type, for example, sentence the cat sat on the mat\n")
    }
}

@Suite("The logits of a long text: refused beyond 1 GiB, with what to do")
struct LogitsBudgetTests {
    @Test("where the whole T × vocabulary logits fit: SmolLM2 up to 5461 tokens, Gemma 3 up to 1024")
    func limits() {
        #expect(ModelBudget.logitsFit(tokens: 5461, vocabulary: 49152))
        #expect(!ModelBudget.logitsFit(tokens: 5462, vocabulary: 49152))
        #expect(ModelBudget.logitsFit(tokens: 1024, vocabulary: 262_144))
        #expect(!ModelBudget.logitsFit(tokens: 1025, vocabulary: 262_144))
    }

    @Test("Gemma 3 on 1051 tokens: logits, export logits, export lens and the math's logits are refused in one line; predict answers")
    func gemmaLongText() throws {
        let session = Session(renderer: MatrixRenderer(width: 80))
        let scratch = ScratchDirectory("logits-budget")
        defer { scratch.remove() }
        #expect(!runLine(session, "model gemma3").hasPrefix("error"))
        let text = String(repeating: "The river is long and the city is old. ", count: 105)
        #expect(!runLine(session, "sentence \(text)").hasPrefix("error"))
        let count = try #require(session.currentTrace?.count)
        #expect(count > 1024 && count < 1200, "\(count) tokens")
        let refusal = "error: the logits of \(count) tokens are \(count) × 262144 numbers"
        for line in ["logits", "export logits \(scratch.path)/l.npy", "A = logits", "export lens \(scratch.path)/lens.csv"] {
            let output = runLine(session, line)
            #expect(output.hasPrefix(refusal) && isOneErrorLine(output), "\(line): \(output)")
            #expect(output.hasSuffix("predict shows the next token's; a sentence of at most 1024 tokens shows them all\n"))
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/l.npy"))
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/lens.csv"))
        #expect(runLine(session, "predict 3").hasPrefix("p(next token)"))
    }
}

// MARK: - 3. Exports that cannot be written

@Suite("Hostile input: exports that cannot be written")
struct HostileExportTests {
    @Test("export, plot, save transcript and save notebook to a path under a file, a directory, /dev/full: one clear error line, nothing left behind")
    func unwritable() throws {
        let scratch = ScratchDirectory("export")
        defer { scratch.remove() }
        let session = minilmSession(in: scratch.path)
        let before = SessionState(session)
        try write(Array("a file".utf8), to: scratch.path + "/afile")
        let directory = scratch.directory("adir")
        let long = String(repeating: "n", count: 300) + ".npy"
        let cases: [(line: String, error: String)] = [
            ("export weights /etc/passwd/x.npy", "cannot write /etc/passwd/x.npy: Not a directory"),
            ("export weights afile/x.npy", "cannot write \(scratch.path)/afile/x.npy: Not a directory"),
            ("export weights adir", "cannot write adir: it is a directory"),
            ("export weights \(directory)", "cannot write \(directory): it is a directory"),
            ("export tokens adir", "cannot write adir: it is a directory"),
            ("export weights /dev/full", "cannot write /dev/full: No space left on device"),
            ("export tokens /dev/full", "cannot write /dev/full: No space left on device"),
            ("export rollout /dev/full", "cannot write /dev/full: No space left on device"),
            ("export weights missing/x.npy", "cannot write \(scratch.path)/missing/x.npy: No such file or directory"),
            ("export weights \(long)", "cannot write \(scratch.path)/\(long): File name too long"),
            ("plot weights /etc/passwd/x.svg", "cannot write /etc/passwd/x.svg: Not a directory"),
            ("plot weights adir/../afile/x.svg", "cannot write \(scratch.path)/adir/../afile/x.svg: Not a directory"),
            ("save transcript /etc/passwd/t.md", "cannot write /etc/passwd/t.md: Not a directory"),
            ("save transcript afile/t.md", "cannot write \(scratch.path)/afile/t.md: Not a directory"),
            ("save notebook afile/n.html", "cannot write \(scratch.path)/afile/n.html: Not a directory"),
            ("save notebook adir", "cannot write adir: it is a directory"),
            ("save notebook /dev/full", "cannot write /dev/full: No space left on device"),
        ]
        for (line, error) in cases {
            #expect(runLine(session, line) == "error: \(error)\n", "\(line)")
        }
        // Nothing was created, nothing half-written or temporary is left, the file and the device are as they were.
        #expect(scratch.names() == ["adir", "afile"])
        #expect(scratch.names(in: directory) == [])
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/afile")) == Data("a file".utf8))
        var info = stat()
        #expect(stat("/dev/full", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
        #expect(SessionState(session) == before)
    }

    @Test("export over an existing file: a failure keeps the old file whole, a link planted at the temporary name is not written through")
    func keepsTheOldFile() throws {
        let scratch = ScratchDirectory("export-old")
        defer { scratch.remove() }
        let session = minilmSession(in: scratch.path)
        let target = scratch.path + "/w.npy"
        #expect(runLine(session, "export weights w.npy") == "wrote weights (layer 3, head 5) [8 × 8] to w.npy\n")
        let old = try Data(contentsOf: URL(fileURLWithPath: target))
        _ = runLine(session, "layer 4")  // another matrix: a replaced file would show it
        // AtomicFile writes `.w.npy.PID.tmp` beside the target, then renames it into place.
        let temporaryName = ".w.npy.\(getpid()).tmp"
        let temporary = scratch.path + "/" + temporaryName

        // 1. The temporary file's name is taken by a directory: the write cannot begin.
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: false)
        let blocked = runLine(session, "export weights w.npy")
        #expect(isOneErrorLine(blocked) && blocked.hasPrefix("error: cannot write \(target): "), "\(blocked)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == old)
        #expect(scratch.names() == [temporaryName, "w.npy"])
        try FileManager.default.removeItem(atPath: temporary)

        // 2. A symbolic link planted at that name, to someone else's file: the export must not write
        //    through it.
        let victim = scratch.path + "/victim.txt"
        try write(Array("precious".utf8), to: victim)
        try FileManager.default.createSymbolicLink(atPath: temporary, withDestinationPath: victim)
        #expect(runLine(session, "export weights w.npy") == "wrote weights (layer 4, head 5) [8 × 8] to w.npy\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: victim)) == Data("precious".utf8))
        #expect(try NumPyFile.read(path: target).shape == [8, 8])
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) != old)
        #expect(scratch.names() == ["victim.txt", "w.npy"])  // no temporary file, no link
    }
}

// MARK: - 4. Sentences longer than the model reads

@Suite("Hostile input: sentences longer than the model reads")
struct HostileSentenceTests {
    @Test("MiniLM: more than 512 tokens is one clear error line, and the previous sentence stays")
    func minilm() {
        let scratch = ScratchDirectory("long-minilm")
        defer { scratch.remove() }
        let session = minilmSession(in: scratch.path)
        let before = SessionState(session)
        let tokens = runLine(session, "tokens")
        let cases: [(line: String, tokens: Int)] = [
            ("sentence " + Array(repeating: "word", count: 511).joined(separator: " "), 513),   // one past the limit
            ("sentence " + String(repeating: "猫", count: 600), 602),                           // CJK: a token per character
            ("sentence " + String(repeating: "🐈 ", count: 1000), 1002),                        // [UNK] each
            ("sentence " + String(repeating: "[SEP] ", count: 600), 602),                       // special tokens
            ("sentence \"" + String(repeating: "a\\n", count: 600) + "\"", 602),                // quoted, with escapes
            ("sentence " + String(repeating: "embeddings ", count: 1000), 4002),                // em ##bed ##ding ##s
        ]
        for (line, count) in cases {
            #expect(runLine(session, line) == "error: the sentence has \(count) tokens but the model reads at most 512: shorten it\n",
                    "\(line.prefix(40))")
            #expect(SessionState(session) == before)
            #expect(runLine(session, "tokens") == tokens)
        }
    }
}

extension HostileSmolLM2Tests {
    @Test("SmolLM2: more tokens than it traces is one clear error line, and the previous sentence stays")
    func longSentence() throws {
        let session = SmolLM2Session.ready()
        let before = SessionState(session)
        let tokens = runLine(session, "tokens")
        let limit = try #require(session.model).tokenLimit
        #expect(limit == 8192)
        let half = limit / 2 + 1
        let cases: [(line: String, tokens: Int)] = [
            ("sentence " + Array(repeating: "word", count: limit + 1).joined(separator: " "), limit + 1),
            ("sentence " + String(repeating: "<|im_start|>", count: limit + 1), limit + 1),
            ("sentence \"" + String(repeating: "word\\n", count: half) + "\"", 2 * half),             // quoted, with escapes
            ("sentence " + String(repeating: "word ", count: 50_000), 50_000),                 // 250 KB
        ]
        for (line, count) in cases {
            let output = runLine(session, line)
            #expect(output == "error: the sentence has \(count) tokens but the model reads at most 8192: shorten it\n", "\(line.prefix(40))")
            #expect(SessionState(session) == before)
            #expect(runLine(session, "tokens") == tokens)
        }
    }
}

// MARK: - 5. Very long lines and many blank lines

@Suite("Hostile input: very long lines and many blank lines")
struct HostileLongLineTests {
    @Test("1 MB lines: each gives one error line or nothing, within seconds, and the session is unchanged")
    func megabyteLines() {
        let scratch = ScratchDirectory("long-lines")
        defer { scratch.remove() }
        let session = minilmSession(in: scratch.path)
        let before = SessionState(session)
        let size = 1 << 20
        let lines: [(name: String, line: String)] = [
            ("one unknown word", String(repeating: "a", count: size)),
            ("math without spaces", String(repeating: "Q+", count: size / 2) + "Q"),
            ("math with spaces", String(repeating: "Q + ", count: size / 4) + "Q"),
            ("open brackets", String(repeating: "(", count: size)),
            ("help on a long topic", "help " + String(repeating: "x", count: size)),
            ("a long layer number", "layer " + String(repeating: "9", count: size)),
            ("a long slice", "weights[" + String(repeating: "1", count: size) + "]"),
            ("check a long expression", "check " + String(repeating: "Q + ", count: size / 4) + "Q weights"),
            ("export to a long path", "export weights " + String(repeating: "p", count: size) + ".npy"),
            ("model from a long path", "model minilm " + String(repeating: "d/", count: size / 2)),
            ("invalid UTF-8", String(decoding: [UInt8](repeating: 0xFF, count: size), as: UTF8.self)),
            ("a comment", "# " + String(repeating: "c", count: size)),
            ("spaces", String(repeating: " ", count: size)),
            // Tokenizing is linear but slow in a debug build (microseconds a character): a quarter
            // as much. CJK is the case that was quadratic (seconds at this size, minutes at 1 MB).
            ("a sentence of many words", "sentence " + String(repeating: "word ", count: size / 20)),
            ("a sentence of CJK", "sentence " + String(repeating: "注意力", count: size / 12)),
            ("a quoted sentence", "sentence \"" + String(repeating: "a\\n", count: size / 48) + "\""),
        ]
        for (name, line) in lines {
            let start = ContinuousClock.now
            let output = runLine(session, line)
            let elapsed = ContinuousClock.now - start
            #expect(output.isEmpty || isOneErrorLine(output), "\(name): \(output.prefix(200))")
            // A guard against a hang or a quadratic blow-up (minutes), not a speed goal: a debug
            // build on two busy cores took up to 10 s for the CJK line.
            #expect(elapsed < .seconds(30), "\(name): \(elapsed)")
        }
        #expect(SessionState(session) == before)
    }

    @Test("a long sentence is tokenized exactly as its parts are: normalizing it in stretches changes nothing")
    func longSentenceTokens() throws {
        let bert = try Bert(directory: ModelStore.directory(for: .minilm))
        // Accents, marks out of canonical order, Hangul, a Tibetan vowel that decomposes into two
        // marks, a dotted capital I, a ligature: each NFD case near a place a long text may be cut.
        let piece = "Crème BRÛLÉE 한국어 e\u{301}\u{316}x ñ Ω ḁ\u{0F73} İstanbul ﬁne Å\u{30A}"
        let ids = try bert.tokenizer.encode(piece)
        let long = try bert.tokenizer.encode(Array(repeating: piece, count: 300).joined(separator: " "), limit: .max)
        #expect(long == [ids[0]] + Array(repeating: ids.dropFirst().dropLast(), count: 300).joined() + [ids[ids.count - 1]])
    }

    @Test("200,000 blank, whitespace and comment lines, some with Windows line ends: quick, and the session goes on")
    func manyBlankLines() {
        let scratch = ScratchDirectory("blank-lines")
        defer { scratch.remove() }
        let session = minilmSession(in: scratch.path)
        let text = String(repeating: "\n", count: 100_000) + String(repeating: " \t \r\n", count: 50_000)
            + String(repeating: "# a comment\n", count: 50_000) + "layer 2\r\nhead 7\r\nweights\nsave transcript t.md\n"
        let start = ContinuousClock.now
        var source = ScriptLines(text: text)
        var output = ""
        Runner.runAll(session, &source) { output += $0 }
        let elapsed = ContinuousClock.now - start
        #expect(output.hasPrefix("weights = softmax(masked)") && output.contains("[8 × 8]\nlayer 2, head 7\n"), "\(output.prefix(200))")
        // The three commands of the set-up and the three above; blank lines are not commands.
        #expect(output.hasSuffix("\nwrote 6 commands with their output to t.md\n"), "\(output.suffix(100))")
        #expect(elapsed < .seconds(10), "\(elapsed)")
    }
}
