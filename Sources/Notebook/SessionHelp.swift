import AttnCore
import Foundation

/// `help`: the commands by group, each step's formula and meaning, each command and function.
extension Session {

    func help(_ topic: String?) throws -> String {
        guard let topic else { return Commands.overview(self) }
        if let step = Step(rawValue: topic) {
            let info = StepInfo.info(step)
            let formula = info.formula.replacingOccurrences(of: "{D}", with: "dₕ").replacingOccurrences(of: "{L}", with: "L")
                .replacingOccurrences(of: "{LASTHEAD}", with: "ₕ")
            return "\(formula)\n" + wrap(info.explanation) + "\n"
        }
        if topic == "math" { return MathSyntax.help }
        if let function = MathSyntax.function(named: topic) {
            return wrap("\(function.usage): \(function.summary)") + "\n(help math lists every function and operator)\n"
        }
        // `help lesson stop`, `help ablate clear`: the whole topic, else its first word.
        let words = topic.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
        if let text = Commands.help(words) ?? Commands.help(String(words.prefix { $0 != " " })) {
            return wrap(text) + "\n"
        }
        throw NotebookError.noHelp(topic, suggestion: closest(to: topic, in: Self.helpTopics))
    }

    /// Every topic `help TOPIC` answers: the commands, the steps, the math and its functions.
    static var helpTopics: [String] {
        Commands.helpTopics.sorted() + StepInfo.names + ["math"] + MathSyntax.functions
    }
}
