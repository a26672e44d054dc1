import AttnCore

/// What the notebook says about each step: its formula, which sizes it has, and a short explanation.
public struct StepInfo: Sendable {
    public let step: Step
    /// The formula in the header, e.g. `scaled = scores / √dₕ`; `dₕ` is replaced by its value.
    public let formula: String
    /// Two or three sentences for `help STEP`.
    public let explanation: String

    public static let all: [StepInfo] = [
        StepInfo(step: .tokenEmbeddings, formula: "token_embeddings = E_token[ids]",
                 explanation: "Each token id picks one row of the token embedding table: the model's learned vector for that word piece, before it knows anything about position."),
        StepInfo(step: .positionEmbeddings, formula: "position_embeddings = E_position[0…T−1]",
                 explanation: "One learned vector per position. Attention itself ignores order (it is a weighted sum over a set), so position has to be added to the input."),
        StepInfo(step: .typeEmbeddings, formula: "type_embeddings = E_type[0]",
                 explanation: "BERT can read two segments (type 0 and 1); a single sentence is all type 0, so every row is the same vector."),
        StepInfo(step: .embeddings, formula: "embeddings = LN(token + position + type)",
                 explanation: "The three embeddings are summed and layer-normalized (each row to mean 0, variance 1, then scaled and shifted by learned γ and β). This is layer 0's input x. GPT-2 adds token and position embeddings without a norm; a decoder with RoPE uses the token embeddings alone: position enters inside attention."),
        StepInfo(step: .x, formula: "x = input of layer {L}",
                 explanation: "The layer's input: the embeddings for layer 0, the previous layer's out otherwise. Every head of the layer reads the same x."),
        StepInfo(step: .rmsnorm, formula: "rmsnorm = x / √(mean(x²) + ε) ⊙ g",
                 explanation: "A decoder normalizes before attention (pre-norm): each row is divided by its root mean square and scaled by learned gains g. Unlike LayerNorm there is no mean subtraction and no shift."),
        StepInfo(step: .layerNorm1, formula: "ln_1 = LN(x)",
                 explanation: "GPT-2 normalizes before attention (pre-norm): each row to mean 0 and variance 1, then scaled and shifted by learned γ and β. The residual stream x itself stays unnormalized, unlike BERT's."),
        StepInfo(step: .queriesBeforeRotation, formula: "q_prerope = rmsnorm · W_Q",
                 explanation: "The decoder's queries before their rotation by position (RoPE). Shown in Hugging Face's layout: dimensions i and i + dₕ/2 form a rotation pair."),
        StepInfo(step: .keysBeforeRotation, formula: "k_prerope = rmsnorm · W_K",
                 explanation: "The decoder's keys before RoPE; with grouped-query attention, several query heads share this key head."),
        StepInfo(step: .queriesNormalized, formula: "q_norm = RMSNorm(q_prerope) ⊙ g_q",
                 explanation: "QK-norm (Gemma 3): each head's query row is divided by its root mean square and scaled by learned gains, before RoPE. Every query then has a length near √dₕ times its gains, so q · k, and with it the scores, cannot grow without bound however large x becomes."),
        StepInfo(step: .keysNormalized, formula: "k_norm = RMSNorm(k_prerope) ⊙ g_k",
                 explanation: "QK-norm's other half: each key row normalized the same way, with its own gains. Bounded queries and keys give bounded scores, which keeps the softmax from saturating and training stable."),
        StepInfo(step: .q, formula: "q = x · W_Q + b_Q",
                 explanation: "The queries: what each token is looking for. The head's d_model × dₕ slice of W_Q projects each row of x to dₕ numbers."),
        StepInfo(step: .k, formula: "k = x · W_K + b_K",
                 explanation: "The keys: what each token offers to be found by. A query matches a key when their dot product is large."),
        StepInfo(step: .v, formula: "v = x · W_V + b_V",
                 explanation: "The values: what each token passes on when it is attended to. The output of the head is a weighted average of these rows."),
        StepInfo(step: .scores, formula: "scores = q · kᵀ",
                 explanation: "Every query against every key: scores[i, j] = q_i · k_j. Row i says how well token i's query matches each token's key; shape (T × dₕ)·(dₕ × T) → T × T."),
        StepInfo(step: .scaled, formula: "scaled = scores / √{D}",
                 explanation: "Dividing by √dₕ keeps the scores' spread near 1 whatever the head size: a dot product of dₕ unit-variance terms has variance dₕ. Without it the softmax saturates to one-hot rows."),
        StepInfo(step: .masked, formula: "masked = scaled + mask",
                 explanation: "Cells a query may not see become −∞, so that the softmax gives them exactly 0. For one unpadded sentence in BERT nothing is masked; a decoder masks every future token."),
        StepInfo(step: .weights, formula: "weights = softmax(masked)   (by rows)",
                 explanation: "Each row becomes a probability distribution over the keys: exp(s − max s) / Σ exp(s − max s). Subtracting the row max avoids overflow and changes nothing else; rows sum to 1."),
        StepInfo(step: .z, formula: "z = weights · v",
                 explanation: "Each token's output from this head: the average of the value rows, weighted by its row of attention weights; (T × T)·(T × dₕ) → T × dₕ."),
        StepInfo(step: .concat, formula: "concat = [z₀ | z₁ | … | z{LASTHEAD}]",
                 explanation: "The heads' outputs side by side: every head contributes dₕ columns, together d_model."),
        StepInfo(step: .attentionOutput, formula: "attn_out = concat · W_O + b_O",
                 explanation: "The output projection mixes the heads' results back into the model's d_model dimensions."),
        StepInfo(step: .attentionPostNorm, formula: "post_attn_norm = RMSNorm(attn_out) ⊙ g",
                 explanation: "Gemma 3 normalizes attention's output too, before adding it to the residual stream: a norm on each side of the sublayer (sandwich norm), so no layer can add a change of arbitrary size."),
        StepInfo(step: .attentionResidual, formula: "attn_residual = x + attn_out",
                 explanation: "The decoder's residual stream after attention: attention's output is added to the layer's input, unnormalized."),
        StepInfo(step: .feedForwardInput, formula: "ffn_norm = RMSNorm(attn_residual)",
                 explanation: "The decoder normalizes again before the feed-forward network."),
        StepInfo(step: .layerNorm2, formula: "ln_2 = LN(attn_residual)",
                 explanation: "GPT-2 normalizes again before the MLP; what the MLP adds goes straight back into the residual stream."),
        StepInfo(step: .feedForwardGate, formula: "ffn_gate = ffn_norm · W_gate",
                 explanation: "SwiGLU's gate: passed through SiLU, it decides how much of each hidden unit gets through."),
        StepInfo(step: .feedForwardUp, formula: "ffn_up = ffn_norm · W_up",
                 explanation: "SwiGLU's up projection: the values the gate lets through."),
        StepInfo(step: .feedForwardPostNorm, formula: "post_ffn_norm = RMSNorm(ffn_out) ⊙ g",
                 explanation: "Gemma 3's norm after the feed-forward network, the second half of its sandwich: what the layer adds to the residual stream is normalized and scaled by learned gains."),
        StepInfo(step: .attentionNorm, formula: "attn_norm = LN(x + attn_out)",
                 explanation: "The residual connection adds the layer's input back, so attention only has to learn a change; LayerNorm then rescales each row."),
        StepInfo(step: .feedForwardHidden, formula: "ffn_hidden = attn_norm · W₁ + b₁",
                 explanation: "The feed-forward network widens each token's vector to d_ff dimensions, independently per token."),
        StepInfo(step: .feedForwardActivation, formula: "ffn_act = GELU(ffn_hidden)",
                 explanation: "GELU(x) = x · ½(1 + erf(x/√2)): close to 0 for negative inputs, close to x for positive ones; the non-linearity of the layer. In a decoder, SwiGLU: SiLU(gate) ⊙ up, with SiLU(x) = x · σ(x)."),
        StepInfo(step: .feedForwardOutput, formula: "ffn_out = ffn_act · W₂ + b₂",
                 explanation: "The feed-forward network narrows back to d_model."),
        StepInfo(step: .out, formula: "out = LN(attn_norm + ffn_out)",
                 explanation: "A second residual connection and LayerNorm give the layer's output, the next layer's x."),
        StepInfo(step: .finalNorm, formula: "final_norm = RMSNorm(out of the last layer)",
                 explanation: "The decoder's last hidden states, normalized once more before they are compared with every vocabulary embedding."),
        StepInfo(step: .logits, formula: "logits = final_norm · Eᵀ",
                 explanation: "A score for every token of the vocabulary at every position: the dot product of the hidden state with each token's embedding (the embedding table is tied to the output). The last row predicts the next token."),
    ]

    /// The names the learner types, in the order of the computation.
    public static let names: [String] = all.map(\.step.rawValue)

    public static func info(_ step: Step) -> StepInfo {
        all.first { $0.step == step } ?? StepInfo(step: step, formula: step.rawValue, explanation: "")
    }
}
