import AttnCore
import Foundation

/// `help`: the commands by group, each step's formula and meaning, each command and function.
extension Session {

    func help(_ topic: String?) throws -> String {
        guard let topic else {
            let steps = wrap(availableSteps.map(\.rawValue).joined(separator: " "), indent: "         ", first: "         ")
            return """
                select   model minilm|smollm2 [PATH]   sentence TEXT (or "…" with escapes)
                         layer N    head N
                steps    tokens    walk (every step of this layer and head, one per Enter)
                \(steps)
                         show STEP[rows, columns]   e.g. show q[0:4, 0:8], show weights[2, :]
                         STEP all (every layer and head), e.g. weights all
                decoder  predict [K]    temperature X    generate N    rope [PAIR]    kvmap
                         sample N    greedy N    top-k K    top-p P    seed N
                         chat TEXT    sentence + (prompt and what was generated)
                         (these need model smollm2)
                math     NAME = EXPR    EXPR    check EXPR STEP    names    del NAME
                         help math
                lessons  lessons    lesson N    next (or Enter)    back    where    hint    skip
                         lesson stop
                explore  heads [all]    neuron I J    rollout    importance
                         ablate head L H    ablate clear
                export   export STEP PATH.npy | PATH.csv    export tokens PATH.tsv | PATH.txt
                         export STEP all PATH.npy    export NAME PATH    export R[2, :] PATH
                         export rollout PATH    plot STEP PATH.svg    save transcript PATH.md
                         a file this session did not write: PATH! replaces it
                view     precision N
                other    help STEP (its formula and meaning)    quit

                """
        }
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
        if let text = Self.commandHelp[words] ?? Self.commandHelp[String(words.prefix { $0 != " " })] {
            return wrap(text) + "\n"
        }
        throw NotebookError.noHelp(topic, suggestion: closest(to: topic, in: Self.helpTopics))
    }

    /// Every topic `help TOPIC` answers: the commands, the steps, the math and its functions.
    static var helpTopics: [String] {
        Array(commandHelp.keys).sorted() + StepInfo.names + ["math"] + MathSyntax.functions
    }

    static let commandHelp: [String: String] = [
        "model": "model minilm [PATH]: selects all-MiniLM-L6-v2, from the cache or from a directory holding config.json, model.safetensors and vocab.txt. A bad PATH keeps the previous model.",
        "sentence": "sentence TEXT: the rest of the line is the sentence; sentence \"…\" takes the escapes \\n \\t \\r \\\" \\\\. The model runs once and every step is kept. sentence + (smollm2): the prompt of the last generate, sample or chat followed by what the model wrote.",
        "layer": "layer N: selects a layer, 0-based.",
        "head": "head N: selects a head of the layer, 0-based.",
        "tokens": "tokens: the pieces of the sentence with their ids; on minilm [CLS] starts it and [SEP] ends it, on smollm2 byte-level pieces with · for a space.",
        "show": "show STEP[rows, columns]: a slice of a step, NumPy style: show q[0:4, 0:8], show weights[2, :], show out[-1].",
        "walk": "walk: every step of the selected layer and head, from x to out, one per Enter (all at once in a script).",
        "export": "export STEP PATH: writes the whole step as .npy (float32, C order) or .csv (%.9g); export tokens PATH writes id<TAB>token lines to .tsv or .txt; a device such as /dev/stdout gets text. A file that is there and that this session did not write is replaced only when the name ends with ! (export weights w.npy!); a lesson never replaces one. export STEP all PATH.npy writes every layer and head as one array: [layers, heads, T, T] for scores, scaled, masked and weights (what torch.stack(outputs.attentions)[:, 0] gives), [layers, heads, T, dₕ] for q, k, v and z, [layers, T, d] for x, attn_out, out and the other steps of a layer; .csv holds only two dimensions. export NAME PATH writes one of your names or the model's (export R r.csv, export W_Q wq.npy), export weights[2, :] PATH a slice, evaluated as the math evaluates it.",
        "all": "STEP all (weights all, scores all, q all, x all, …): the step of every layer and head at once, layers as rows and heads as columns, in bands that fit the width. A token × token step shows each head as one character per query row, naming the key where that row is largest (for weights: the key the query attends to most), 0–9, a–z, A–Z as the legend says; another step shows the mean length of its rows. export STEP all PATH.npy writes every number.",
        "precision": "precision N: digits after the decimal point, 0…8.",
        "quit": "quit (or exit, or Ctrl-D): leaves attn.",
        "exit": "exit (or quit, or Ctrl-D): leaves attn.",
        "help": "help: the commands by group; help TOPIC explains a command (help lesson stop), a step (help weights), the math (help math) or one of its functions (help softmax).",
        "?": "? is help: the commands by group; ? TOPIC explains one.",
        "next": "next (or Enter): in a lesson, runs the commands shown and goes on to the next step; at an exercise it says what the exercise waits for.",
        "back": "back: in a lesson, goes back one step and shows it again.",
        "where": "where: in a lesson, which lesson and which step of it you are at.",
        "lesson stop": "lesson stop: leaves the lesson; your place is remembered, and lesson N resumes it.",
        "ablate clear": "ablate clear: restores every ablated head; the model runs again as it was.",
        "heads all": "heads all: the heads table of every layer at once: entropy, most attended key and pattern tag per head.",
        "save transcript": "save transcript PATH.md: the session so far as Markdown, every command with its output.",
        "predict": "predict [K] (smollm2): the K most likely next tokens after the sentence: softmax of the last row of logits, divided by the temperature.",
        "temperature": "temperature X (smollm2), 0 ≤ X ≤ 100: predict shows softmax(logits / X); below 1 sharpens, above 1 flattens. generate samples from it when X is neither 0 (the argmax) nor 1 (the default, where generate stays greedy); sample N draws at any X above 0.",
        "generate": "generate N (smollm2): up to N tokens after the sentence with a KV cache, streamed as they come; Ctrl-C stops before the next one. Greedy (the argmax) at temperature 0 and 1, else sampled as sample N; the first lines say which. sentence + then makes sentence and continuation the sentence.",
        "sample": "sample N (smollm2): up to N tokens, each drawn from softmax(logits / temperature), kept to the top-k tokens and then to the top-p nucleus (as Hugging Face's generate), with a generator seeded by seed: the same seed gives the same text on every machine.",
        "greedy": "greedy N (smollm2): up to N tokens, each the argmax of the logits, whatever the temperature.",
        "top-k": "top-k K (smollm2): sampling keeps only the K tokens with the largest logits (ties with the K-th stay), after the temperature; top-k off (or 0) keeps all.",
        "top-p": "top-p P (smollm2), 0 < P ≤ 1: after top-k, sampling keeps the smallest set of most likely tokens whose probabilities add up to at least P (at least one); top-p off (or 1) keeps all.",
        "seed": "seed N (smollm2): where sampling's random numbers start (SplitMix64; 0 until set). Every sample, generate or chat starts from it, so the same seed and settings give the same text; another seed, another draw.",
        "chat": "chat TEXT (smollm2): your text as the user's turn in the model's own chat template (tokenizer.chat_template from the GGUF file), its tokens shown, then the assistant's answer, up to 200 tokens, until it ends its turn with <|im_end|>. Greedy or sampled as generate. sentence + then shows the attention over prompt and answer.",
        "rope": "rope [PAIR] (smollm2): the rotation angle p · θₖ of every position and pair; with PAIR, this head's q before and after RoPE for that pair.",
        "kvmap": "kvmap (smollm2): which query heads share each key/value head (grouped-query attention), and what it saves.",
        "check": "check EXPR STEP: computes EXPR with the names of this layer and head (names lists them) and compares it with the model's STEP: ✓ when the shapes agree and max|Δ| ≤ 1e-4, else ✗ with where the difference is largest. STEP may be a slice of a step: check weights[1] @ V z[1] checks one row.",
        "names": "names: the names your math can use (X, Q, K, V, W_Q, …, dk, T) with their shapes, and the ones you bound.",
        "del": "del NAME …: forgets names you bound. One of your names holds at most \(megabytes(cells: Double(MathEvaluator.maximumCells))) (\(MathEvaluator.maximumCells) numbers), all of them together \(megabytes(cells: Double(maximumLearnerCells))), and one line's math makes at most \(megabytes(cells: Double(MathEvaluator.maximumCellsPerLine))) of matrices.",
        "lessons": "lessons: the lessons with your progress; lesson N starts or resumes one.",
        "lesson": "lesson N (or its name): starts or resumes a lesson. Enter or next runs the shown commands, back goes back, where tells the position, lesson stop leaves; you may type any command in between.",
        "hint": "hint: at an exercise, the next hint, and finally the solution.",
        "skip": "skip: at an exercise, shows and runs the solution and goes on.",
        "heads": "heads (heads all: every layer): one row per head of the selected layer: the entropy of its weights in bits (mean over the query rows), the key most queries attend to most (a token, or i−1 for the previous token, i for itself), and a pattern tag computed from the weights: previous token, same token, next token (an encoder), [CLS] or first-token sink, [SEP] sink, broad (high entropy) or mixed, with its mean weight.",
        "neuron": "neuron I J: the neuron view of one score of the selected head: for query token I and key token J (numbered as tokens shows them), the products q_I[d]·k_J[d] of every dimension, their sum, which is scores[I, J], and the dimensions that push it up and down most.",
        "rollout": "rollout: attention rollout (Abnar & Zuidema 2020): per layer the mean of the heads' weights plus the identity for the residual, rows renormalised, multiplied from layer 0 up; row i says how much of each input token reaches token i. export rollout PATH and plot rollout PATH.svg write it.",
        "ablate": "ablate head L H: zeroes the output z of layer L's head H and runs the model again; everything after it changes, everything before stays. Shows the effect: minilm, the cosine of the sentence embedding before and after; smollm2, the next-token top 5 before → after. Steps, exports and plots show the ablated model until ablate clear restores every head.",
        "importance": "importance: occlusion, in the spirit of LIME: each token is removed in turn and the model runs again. minilm: 1 − cosine between the sentence embedding with and without the token ([CLS] and [SEP] stay); smollm2: how much the probability of the predicted next token drops without it. Drawn as a bar chart. One forward pass per token: it shows how far it has come, and Ctrl-C stops it with the tokens done.",
        "plot": "plot STEP PATH.svg: an SVG heatmap of a token × token step (scores, scaled, masked, weights) or of rollout, with the tokens on both axes, a colour legend, the formula, layer and head in the title and every cell's value on hover; opens in any browser. An existing file this session did not write needs ! after the name (plot weights w.svg!).",
        "save": "save transcript PATH.md: the session so far as Markdown: every command after its prompt, with its output, in fenced blocks; # comments become paragraphs. An existing file this session did not write needs ! after the name (save transcript t.md!).",
    ]
}
