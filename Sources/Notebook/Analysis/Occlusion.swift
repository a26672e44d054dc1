import AttnCore

/// Occlusion, in the spirit of LIME: each token is removed in turn, the model runs again on the
/// rest, and a measure says how far the output moved.
/// ```
/// encoder:  importance(i) = 1 − cos(embedding(all tokens), embedding(all but i))
/// decoder:  importance(i) = p(next | all tokens) − p(next | all but i)
/// ```
/// It costs one forward pass per token, so each function reports how far it has come and stops
/// early when asked to, with the values of the tokens done.
enum Occlusion {
    /// One removed token: its position in the sentence and what the measure gave without it.
    typealias Value = (index: Int, value: Double)

    /// The tokens an encoder's occlusion removes: every word piece between [CLS] and [SEP].
    /// Those two frame every input: removing them asks a question the model never saw.
    static func wordPieces(of trace: Trace) -> [Int] {
        trace.count > 2 ? Array(1..<(trace.count - 1)) : []
    }

    /// Encoder: how far the sentence embedding turns without each word piece.
    /// ```
    /// importance(i) = 1 − cos(e(all tokens), e(all but i)),   e = SentenceEmbedding.meanPooled
    /// ```
    /// - Parameters:
    ///   - progress: called with the number of tokens done before each forward pass.
    ///   - isInterrupted: asked before each forward pass; `true` stops with the values so far.
    static func sentenceEmbedding(_ model: any TransformerModel, _ trace: Trace, ablating ablated: Set<Attention.HeadIndex>,
                                  progress: (Int) -> Void, isInterrupted: () -> Bool) -> [Value] {
        let full = SentenceEmbedding.meanPooled(trace)
        return removing(wordPieces(of: trace), from: trace, progress: progress, isInterrupted: isInterrupted) { ids in
            1 - SentenceEmbedding.cosine(full, SentenceEmbedding.meanPooled(model.trace(ids: ids, ablating: ablated)))
        }
    }

    /// Decoder: how much the probability of the token `next` falls without each token; `baseline`
    /// is its probability after the whole sentence. A negative value: the token works against `next`.
    /// ```
    /// importance(i) = p(next | all tokens) − p(next | all but i),   p = softmax(logits / τ)
    /// ```
    /// - Parameters: as ``sentenceEmbedding(_:_:ablating:progress:isInterrupted:)``; the baseline's
    ///   forward pass comes after `progress(0)`.
    /// - Precondition: `trace` has at least two tokens (one is removed at a time); callers check.
    static func nextTokenProbability(_ decoder: any DecoderModel, _ trace: Trace, next: Int, temperature: Float,
                                     ablating ablated: Set<Attention.HeadIndex>,
                                     progress: (Int) -> Void, isInterrupted: () -> Bool) -> (baseline: Double, values: [Value]) {
        func probability(_ logits: [Float]) -> Double {
            Double(probabilities(logits: logits, temperature: temperature)[next])
        }
        progress(0)
        // The whole sentence once, keeping its keys and values: without token i, positions
        // 0…i−1 are what they were, so a pass starts from their cache (a prefix of this one) and
        // runs only the tokens after i, half the work on average.
        let ids = trace.tokenIds
        var full = KeyValueCache(layers: decoder.sizes.layers)
        let baseline = probability(decoder.forward(ids, cache: &full, ablating: ablated))
        let values = removing(Array(0..<trace.count), from: trace, progress: progress, isInterrupted: isInterrupted) { reduced in
            // The first removed position: where `reduced` starts to differ from `ids`.
            let i = reduced.indices.first { reduced[$0] != ids[$0] } ?? reduced.count
            // At least one token to run: without the last token, run the one before it again.
            let start = min(i, reduced.count - 1)
            if var cache = full.prefix(start) {
                return baseline - probability(decoder.forward(Array(reduced[start...]), cache: &cache, ablating: ablated))
            }
            var cache = KeyValueCache(layers: decoder.sizes.layers)
            return baseline - probability(decoder.forward(reduced, cache: &cache, ablating: ablated))
        }
        return (baseline, values)
    }

    /// `measure` of the sentence's token ids without each of `candidates` in turn, in order; stops
    /// early when `isInterrupted` says so.
    static func removing(_ candidates: [Int], from trace: Trace, progress: (Int) -> Void, isInterrupted: () -> Bool,
                         measure: ([Int]) -> Double) -> [Value] {
        var values: [Value] = []
        for i in candidates {
            if isInterrupted() { break }
            progress(values.count)
            var ids = trace.tokenIds
            ids.remove(at: i)
            values.append((i, measure(ids)))
        }
        return values
    }
}
