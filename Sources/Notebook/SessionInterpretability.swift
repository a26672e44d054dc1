import AttnCore
import Foundation

/// SVG heatmaps of the session's trace, and the transcript. (The explore commands' text is in
/// ExploreCommands.swift, their arithmetic in Analysis/.)
extension Session {
    // MARK: plot

    /// `plot STEP PATH.svg`: a token × token step (or the rollout) as an SVG heatmap.
    func plot(_ what: String, to path: String) throws -> String {
        let trace = try requireTrace()
        let model = try requireModel()
        let target = try writeTarget(path, command: "plot \(what)", suffixes: [".svg"]) {
            NotebookError.fileType(path: $0, command: "plot", expected: "svg")
        }
        let matrix: Matrix, title: String, location: String
        if what == "rollout" {
            matrix = rolloutMatrix(trace)
            title = "rollout = Â\(model.sizes.layers - 1) · … · Â0,  Âₗ = rownorm(mean over heads of weightsₗ + I)"
            location = "layers 0…\(model.sizes.layers - 1)"
        } else {
            guard let step = Step(rawValue: what) else { throw NotebookError.unknownStep(what, suggestion: nil) }
            let m = try stepMatrix(trace, step)
            guard step.isTokenByToken else { throw NotebookError.notTokenByToken(what, shape: m.shapeDescription) }
            matrix = m
            title = header(step, m).components(separatedBy: "   [").first ?? step.rawValue
            location = "layer \(layer), head \(head)"
        }
        var subtitle = "\(describeModelShort) · \(location) · \(trace.count) tokens"
        if !ablated.isEmpty { subtitle += " · ablated \(ablationList)" }
        let heatmap = SVGHeatmap(matrix: matrix, rowLabels: trace.tokens, columnLabels: trace.tokens,
                                 title: "\(title)   \(matrix.shapeDescription)", subtitle: subtitle,
                                 format: { [renderer] in renderer.format($0) })
        try write(Data(heatmap.render().utf8), to: target)
        return "wrote \(what) (\(location)) \(matrix.shapeDescription) as an SVG heatmap to \(target.described)\n"
    }

    var describeModelShort: String { (modelSource ?? .minilm).title }

    /// `save transcript PATH.md`: every command so far with its output, as Markdown.
    func saveTranscript(to path: String) throws -> String {
        let target = try writeTarget(path, command: "save transcript", suffixes: [".md", ".markdown"]) {
            NotebookError.fileType(path: $0, command: "save transcript", expected: "md")
        }
        let markdown = transcript.markdown(model: model.map { _ in describeModelShort })
        try write(Data(markdown.utf8), to: target)
        return "wrote \(transcript.commandCount) command\(transcript.commandCount == 1 ? "" : "s") with their output to \(target.described)\n"
    }
}
