/// Generation, for any decoder: built on its ``DecoderModel/forward(_:cache:ablating:)``.
extension DecoderModel {
    /// Decoding with a KV cache: the prompt once, then one token at a time, each chosen from the
    /// logits by `rule` (the argmax, or a draw). `onToken` receives each new id.
    ///
    /// `isInterrupted` is asked before every choice, so a stop asked for while a forward pass
    /// runs (Ctrl-C) is honoured before another token is chosen and shown.
    /// - Returns: the new ids, the end-of-text token included when the model chose it.
    public func generate(prompt: [Int], count: Int, rule: DecodingRule = .greedy,
                         ablating ablated: Set<Attention.HeadIndex> = [],
                         isInterrupted: () -> Bool = { false }, onToken: (Int) -> Void) -> [Int] {
        var cache = KeyValueCache(layers: sizes.layers)
        var logits = forward(prompt, cache: &cache, ablating: ablated)
        var generator = rule.generator
        var produced: [Int] = []
        for _ in 0..<count {
            guard cache.count < sizes.context, !isInterrupted() else { break }
            let next = rule.choose(from: logits, using: &generator)
            produced.append(next)
            onToken(next)
            guard next != tokenizer.eosId, produced.count < count, !isInterrupted() else { break }
            logits = forward([next], cache: &cache, ablating: ablated)
        }
        return produced
    }

    /// Greedy decoding: ``generate(prompt:count:rule:ablating:isInterrupted:onToken:)`` with the
    /// argmax; returning `false` from `onToken` stops.
    public func generateGreedy(prompt: [Int], count: Int, ablating ablated: Set<Attention.HeadIndex> = [],
                               onToken: (Int) -> Bool) -> [Int] {
        var stopped = false
        return generate(prompt: prompt, count: count, ablating: ablated, isInterrupted: { stopped }) { stopped = !onToken($0) }
    }
}
