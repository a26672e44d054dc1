import AttnCore
import Foundation

/// Direct logit attribution: a decoder's logit of one token after the sentence (or the
/// difference of two), split exactly into what each part of the model wrote into the residual
/// stream of the last position, each read through the final norm with its scale frozen at the
/// value of the real pass (``FrozenNorm``).
/// ```
/// out = embedding + Σ_l Σ_h z_{l,h} · W_O,hᵀ (+ b_O) + Σ_l ffn_out_l        the residual stream is a sum
/// logit(t) = final_norm(out) · E[t] = Σ_parts frozen(part) · E[t]           (+ β · E[t] after a LayerNorm)
/// logit(a) − logit(b) = Σ_parts frozen(part) · (E[a] − E[b])
/// ```
/// A pure function of the trace and the model's weights: no forward pass.
struct LogitAttribution: Sendable {
    /// One part of the residual stream and what it gives the logit.
    struct Part: Sendable, Equatable {
        enum Kind: Sendable, Equatable {
            /// The token's row of the embedding (Gemma 3's times √d_model), or GPT-2's two rows.
            case embedding, tokenEmbedding, positionEmbedding
            case head(layer: Int, head: Int)
            /// The attention output's bias (GPT-2's b_proj).
            case attentionBias(layer: Int)
            case feedForward(layer: Int)
            /// The final LayerNorm's β.
            case normShift
        }
        var kind: Kind
        var contribution: Double

        /// `L27 H3`, `MLP 29`, `embedding`: how the table and the CSV name it.
        var name: String {
            switch kind {
            case .embedding: "embedding"
            case .tokenEmbedding: "token embedding"
            case .positionEmbedding: "position embedding"
            case let .head(l, h): "head L\(l) H\(h)"
            case let .attentionBias(l): "attn bias L\(l)"
            case let .feedForward(l): "MLP L\(l)"
            case .normShift: "final norm β"
            }
        }
        var layer: Int? {
            switch kind {
            case let .head(l, _), let .attentionBias(l), let .feedForward(l): l
            default: nil
            }
        }
        var head: Int? { if case let .head(_, h) = kind { h } else { nil } }
        /// The group the totals put it in.
        var group: String {
            switch kind {
            case .embedding, .tokenEmbedding, .positionEmbedding: "embedding"
            case .head, .attentionBias: "attention"
            case .feedForward: "MLP"
            case .normShift: "final norm β"
            }
        }
    }

    /// Every part, in the order of the computation: embedding, then per layer its heads, its
    /// attention bias and its feed-forward, then β.
    let parts: [Part]
    /// The model's own logit (or difference of logits) at the last position, from its logits.
    let modelLogit: Double
    /// The position whose next token is attributed (the last).
    let position: Int
    /// The tokens: a, and b for a difference.
    let tokens: [Int]
    /// `logit(·Paris)` or `logit(·Paris) − logit(·London)`.
    let formula: String
    /// The frozen scale, 1/rms or 1/σ of the last out's row, for the formula line.
    let frozenInverse: Float
    let centres: Bool

    /// The parts' sum, in Double.
    var sum: Double { parts.reduce(0) { $0 + $1.contribution } }

    /// Attributes `logit(plus) − logit(minus)` (minus nil: `logit(plus)`) after the last token of `trace`.
    init(_ model: any ResidualStreamDecoder, trace: Trace, plus: Int, minus: Int?, formula: String) {
        let t = trace.count - 1
        let norm = model.frozenFinalNorm(position: t, trace: trace)
        var e = model.unembeddingRow(plus)
        if let minus { e = zip(e, model.unembeddingRow(minus)).map { $0 - $1 } }
        func read(_ write: [Float]) -> Double {
            zip(norm.apply(write), e).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        var parts: [Part] = []
        if let position = trace.positionEmbeddings {
            parts.append(Part(kind: .tokenEmbedding, contribution: read(trace.tokenEmbeddings.row(t))))
            parts.append(Part(kind: .positionEmbedding, contribution: read(position.row(t))))
        } else {
            parts.append(Part(kind: .embedding, contribution: read(trace.embeddings.row(t))))
        }
        for l in trace.layers.indices {
            for h in trace.layers[l].heads.indices {
                parts.append(Part(kind: .head(layer: l, head: h), contribution: read(model.headWrite(layer: l, head: h, position: t, trace: trace))))
            }
            if let bias = model.attentionBiasWrite(layer: l, position: t, trace: trace) {
                parts.append(Part(kind: .attentionBias(layer: l), contribution: read(bias)))
            }
            parts.append(Part(kind: .feedForward(layer: l), contribution: read(model.feedForwardWrite(layer: l, position: t, trace: trace))))
        }
        if let shift = norm.shift {
            parts.append(Part(kind: .normShift, contribution: zip(shift, e).reduce(0) { $0 + Double($1.0) * Double($1.1) }))
        }
        self.parts = parts
        let logits = trace.logits(row: t) ?? []
        let value: (Int) -> Double = { logits.indices.contains($0) ? Double(logits[$0]) : .nan }
        modelLogit = value(plus) - (minus.map(value) ?? 0)
        position = t
        tokens = [plus] + (minus.map { [$0] } ?? [])
        self.formula = formula
        frozenInverse = norm.inverse
        centres = norm.centres
    }

    /// The parts by |contribution|, largest first (ties in the computation's order).
    var ranked: [Part] {
        parts.enumerated().sorted { a, b in
            abs(a.element.contribution) != abs(b.element.contribution) ? abs(a.element.contribution) > abs(b.element.contribution) : a.offset < b.offset
        }.map(\.element)
    }

    /// The sum of each group's parts, in the order embedding, attention, MLP, β.
    var groupTotals: [(group: String, count: Int, total: Double)] {
        ["embedding", "attention", "MLP", "final norm β"].compactMap { g in
            let members = parts.filter { $0.group == g }
            return members.isEmpty ? nil : (g, members.count, members.reduce(0) { $0 + $1.contribution })
        }
    }

    /// The heads' contributions as a layers × heads matrix.
    func headMatrix(layers: Int, heads: Int) -> Matrix {
        var m = Matrix(rows: layers, columns: heads)
        for part in parts { if case let .head(l, h) = part.kind { m.values[l * heads + h] = Float(part.contribution) } }
        return m
    }

    /// Each layer's feed-forward contribution, a column.   (layers × 1)
    func feedForwardColumn(layers: Int) -> Matrix {
        var m = Matrix(rows: layers, columns: 1)
        for part in parts { if case let .feedForward(l) = part.kind { m.values[l] = Float(part.contribution) } }
        return m
    }
}
