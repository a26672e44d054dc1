import AttnCore
import Foundation

/// The learner's own math: names bound to the selected layer and head, expressions, and `check`.
extension Session {
    /// Every name the learner can use now: the model's (for this layer and head) and their own.
    var mathNames: [String] {
        Self.boundNames + availableSteps.map(\.rawValue) + learnerNames.keys.sorted()
    }

    /// The model's numbers under the names of the math, in the orientation of the math:
    /// `X @ W_Q + b_Q` equals `Q` (W_Q is the head's d_model × dₕ slice, the transpose of the
    /// checkpoint's rows).
    func boundValues() throws -> [String: MathValue] {
        let trace = try requireTrace()
        guard let model else { return [:] }
        var names: [String: MathValue] = [:]
        // Every step of this layer and head under its own name: x, q, scores, attn_out, …
        for step in availableSteps {
            if let m = trace.matrix(step, layer: layer, head: head) { names[step.rawValue] = .matrix(m) }
        }
        let l = trace.layers[layer], h = l.heads[head]
        names["X"] = .matrix(l.x)
        names["Q"] = .matrix(h.q)
        names["K"] = .matrix(h.k)
        names["V"] = .matrix(h.v)
        names["scores"] = .matrix(h.scores)
        names["scaled"] = .matrix(h.scaled)
        names["masked"] = .matrix(h.masked)
        names["weights"] = .matrix(h.weights)
        names["Z"] = .matrix(h.z)
        names["dk"] = .scalar(Float(model.headDimension))
        names["T"] = .scalar(Float(trace.count))
        // The mask as a matrix: 0 where a query may look, −∞ where it may not.
        names["M"] = .matrix(h.masked.map { $0 == -.infinity ? -.infinity : 0 })
        switch model {
        case let .minilm(bert):
            let w = bert.weights.layers[layer]
            let dh = model.headDimension
            let rows = (head * dh)..<((head + 1) * dh)
            names["W_Q"] = .matrix(w.query.weight.rows(rows).transposed)
            names["W_K"] = .matrix(w.key.weight.rows(rows).transposed)
            names["W_V"] = .matrix(w.value.weight.rows(rows).transposed)
            names["b_Q"] = .matrix(Matrix(rows: 1, columns: dh, values: Array(w.query.bias[rows])))
            names["b_K"] = .matrix(Matrix(rows: 1, columns: dh, values: Array(w.key.bias[rows])))
            names["b_V"] = .matrix(Matrix(rows: 1, columns: dh, values: Array(w.value.bias[rows])))
            names["W_O"] = .matrix(w.attentionOutput.weight.transposed)
            names["b_O"] = .matrix(row(w.attentionOutput.bias))
            // The rest of the layer: the feed-forward and the LayerNorms' γ and β.
            names["W_1"] = .matrix(w.intermediate.weight.transposed)
            names["b_1"] = .matrix(row(w.intermediate.bias))
            names["W_2"] = .matrix(w.output.weight.transposed)
            names["b_2"] = .matrix(row(w.output.bias))
            names["gamma_attn"] = .matrix(row(w.attentionNorm.gamma))
            names["beta_attn"] = .matrix(row(w.attentionNorm.beta))
            names["gamma_out"] = .matrix(row(w.outputNorm.gamma))
            names["beta_out"] = .matrix(row(w.outputNorm.beta))
            names["gamma_emb"] = .matrix(row(bert.weights.embeddingNorm.gamma))
            names["beta_emb"] = .matrix(row(bert.weights.embeddingNorm.beta))
        case let .smollm2(llama):
            let c = llama.configuration
            let w = llama.weights.layers[layer]
            let dh = c.headDimension, kv = h.keyValueHead
            names["H"] = l.attentionInput.map(MathValue.matrix)
            names["Q_pre"] = h.queriesBeforeRotation.map(MathValue.matrix)
            names["K_pre"] = h.keysBeforeRotation.map(MathValue.matrix)
            names["W_Q"] = .matrix(w.query.rows((head * dh)..<((head + 1) * dh)).transposed)
            names["W_K"] = .matrix(w.key.rows((kv * dh)..<((kv + 1) * dh)).transposed)
            names["W_V"] = .matrix(w.value.rows((kv * dh)..<((kv + 1) * dh)).transposed)
            names["W_O"] = .matrix(w.output.transposed)
            names["g_attn"] = .matrix(row(w.attentionNorm))
            names["g_ffn"] = .matrix(row(w.feedForwardNorm))
            names["W_gate"] = .matrix(w.gate.transposed)
            names["W_up"] = .matrix(w.up.transposed)
            names["W_down"] = .matrix(w.down.transposed)
            // RoPE as Hugging Face writes it: q' = q ⊙ COS + rotate_half(q) ⊙ SIN, (T × dₕ).
            let rotation = Rotation(headDimension: dh, base: c.ropeBase, positions: 0..<trace.count)
            names["COS"] = .matrix(Matrix.concatenateColumns([rotation.cosines, rotation.cosines]))
            names["SIN"] = .matrix(Matrix.concatenateColumns([rotation.sines, rotation.sines]))
        }
        for (name, value) in learnerNames { names[name] = value }
        return names
    }

    /// A vector as a 1 × n row, which broadcasts over the rows of a T × n matrix.
    func row(_ values: [Float]) -> Matrix { Matrix(rows: 1, columns: values.count, values: values) }

    /// `NAME = EXPR` binds a name; `EXPR` prints its value.
    func math(_ line: String) throws -> String {
        let statement = try MathParser.parse(line)
        let evaluator = MathEvaluator(names: try boundValues())
        switch statement {
        case let .assign(name, expression):
            guard !Self.boundNames.contains(name), Step(rawValue: name) == nil else {
                throw NotebookError.math("\(name) is the model's own name: choose another, e.g. my_\(name)")
            }
            let value = try evaluator.evaluate(expression)
            learnerNames[name] = value
            return "\(name) = \(describe(value))\n"
        case let .evaluate(expression):
            return try render(evaluator.evaluate(expression), title: expression.text)
        }
    }

    /// `check EXPR STEP`: the learner's value against the model's step, at this layer and head.
    func check(_ expression: String, against stepName: String) throws -> String {
        let trace = try requireTrace()
        guard let step = Step(rawValue: stepName) else { throw NotebookError.unknownStep(stepName, suggestion: nil) }
        let reference = try stepMatrix(trace, step)
        let value: MathValue
        switch try MathParser.parse(expression) {
        case let .evaluate(e): value = try MathEvaluator(names: try boundValues()).evaluate(e)
        case .assign: throw NotebookError.math("check takes an expression, not an assignment: check A \(stepName)")
        }
        let tokens = trace.tokens
        let result = Check.compare(value, with: reference, stepName: stepName,
                                   rowLabels: reference.rows == tokens.count ? tokens : nil,
                                   columnLabels: reference.columns == tokens.count ? tokens : nil)
        var text = wrap(result.message) + "\n"
        if result.passed { text += exercisePassed(step: stepName) }
        return text
    }

    /// `names`: what the learner can use, with shapes.
    func listNames() throws -> String {
        let values = try boundValues()
        let model = Self.boundNames.compactMap { name in values[name].map { "\(name) \(describe($0))" } }
        var text = "the model's (layer \(layer), head \(head)):\n" + wrap(model.joined(separator: ",  "), indent: "  ") + "\n"
        text += "every step under its own name, e.g. scores, attn_out, out\n"
        if !learnerNames.isEmpty {
            let mine = learnerNames.sorted { $0.key < $1.key }.map { "\($0.key) \(describe($0.value))" }
            text += "yours:\n" + wrap(mine.joined(separator: ",  "), indent: "  ") + "\n"
        }
        return text
    }

    /// A number on its own: whole numbers without decimals (`dk` is 32, not 32.0000).
    func formatScalar(_ x: Float) -> String {
        if x.isFinite, x == x.rounded(), abs(x) < 1e7 { return String(Int(x)) }
        return renderer.format(x)
    }

    func describe(_ value: MathValue) -> String {
        switch value {
        case let .scalar(x): return formatScalar(x)
        case let .matrix(m): return m.shapeDescription
        }
    }

    /// A value as the learner sees it: a number, or a matrix labelled with tokens where its rows
    /// (or columns) are the sentence's tokens.
    func render(_ value: MathValue, title: String) -> String {
        switch value {
        case let .scalar(x):
            return "\(formatScalar(x))\n"
        case let .matrix(m):
            let tokens = cachedTokens
            let rowLabels = m.rows == tokens.count ? tokens : []
            let columnLabels = m.columns == tokens.count && m.rows == tokens.count ? tokens : nil
            return "\(title)   \(m.shapeDescription)\n"
                + renderer.render(m, rowLabels: rowLabels, columnLabels: columnLabels, shade: columnLabels != nil) + "\n"
        }
    }
}
