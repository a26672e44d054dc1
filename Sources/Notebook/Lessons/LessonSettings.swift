import AttnCore
import Foundation

/// What setting up a lesson can change in a session, to say what it changed.
struct LessonSettings {
    let model: String?, location: String?, sentence: String?
    let layer: Int, head: Int, precision: Int, temperature: Float
    let ablated: Set<Attention.HeadIndex>
    /// top-k, top-p and seed in one line.
    let sampling: String
    let target: ExplanationTarget
    let classifier: Classifier?

    init(_ session: Session) {
        model = session.modelSource?.name
        location = session.modelLocation
        sentence = session.sentence
        (layer, head, precision, temperature) = (session.layer, session.head, session.renderer.precision, session.temperature)
        ablated = session.ablated
        sampling = "\(session.topK.map(String.init) ?? "-") \(session.topP.map { "\($0)" } ?? "-") \(session.seed)"
        (target, classifier) = (session.explanationTarget, session.classifier)
    }

    /// What differs from `was`, each as the setting to show: `model smollm2`, `layer 0, head 0`.
    func changes(since was: LessonSettings) -> [String] {
        var changes: [String] = []
        if (was.model ?? "minilm") != (model ?? "minilm") || (was.location != nil && location == nil) { changes.append("model \(model ?? "minilm")") }
        if was.sentence != sentence, let sentence { changes.append("sentence \(sentence)") }
        if was.layer != layer || was.head != head { changes.append("layer \(layer), head \(head)") }
        if was.precision != precision { changes.append("precision \(precision)") }
        if was.sampling != sampling { changes.append("no top-k or top-p, seed 0") }
        if was.temperature != temperature { changes.append("temperature \(String(format: "%g", Double(temperature)))") }
        if was.classifier != classifier {
            changes.append(classifier.map { "classify " + $0.labels.joined(separator: "|") } ?? "no classifier")
        }
        if was.target != target { changes.append(target.command) }
        if was.ablated != ablated {
            changes.append(ablated.isEmpty ? "no ablated heads"
                           : "ablated " + ablated.sorted().map { "L\($0.layer)H\($0.head)" }.joined(separator: ","))
        }
        return changes
    }
}
