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
