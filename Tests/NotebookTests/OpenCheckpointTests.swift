import AttnCore
import Foundation
@testable import Notebook
import Testing

/// The tiny GPT-2 and BERT checkpoints of the test fixtures, opened in a session by name through
/// `HF_HUB_CACHE`, as a learner with the real ones in their Hugging Face cache opens those.
enum TinyHub {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let environment = ProcessInfo.processInfo.environment.merging(
        ["HF_HUB_CACHE": repository + "/Tests/AttnCoreTests/Fixtures/hub"]) { $1 }

    /// The snapshot directory of `attn-tiny/NAME`.
    static func snapshot(_ name: String) throws -> String {
        try #require(try HubCache.snapshot(of: "attn-tiny/\(name)", environment: environment)).directory
    }

    /// The model `attn-tiny/NAME`, opened as its config.json says.
    static func open(_ name: String) throws -> any TransformerModel {
        let directory = try snapshot(name)
        return try ModelSource.hubCheckpoint(name: name, id: "attn-tiny/\(name)", directory: directory).open(directory)
    }

    /// A session whose Hugging Face cache holds the six tiny checkpoints; progress is not kept.
    static func session() -> Session {
        let session = Session(renderer: MatrixRenderer(width: 80), environment: environment,
                              workingDirectory: NSTemporaryDirectory())
        session.lessonsDirectory = repository + "/Lessons"
        return session
    }
}

@Suite("GPT-2 in the notebook: every command the other decoder has, on the tiny GPT-2")
struct GPT2SessionTests {
    @Test("model, tokens, a step with its provenance, predict, generate, heads, ablate and importance")
    func commands() throws {
        let session = TinyHub.session()
        let model = try session.execute("model attn-tiny/gpt2").replacingOccurrences(of: "\n  ", with: " ")
        #expect(model.contains("GPT-2 decoder from the Hugging Face cache (attn-tiny/gpt2): 3 layers, 5 heads, d_model 60"), "\(model)")
        let sentence = try session.execute("sentence The cat sat on the mat.")
        #expect(sentence.hasPrefix("sentence: 11 tokens: T he ·c at"), "\(sentence)")
        // No token is added in front: GPT-2's tokenizer adds none.
        #expect(!(try session.execute("tokens")).contains("<|endoftext|>"))
        _ = try session.execute("layer 1")
        _ = try session.execute("head 3")
        let q = try session.execute("q")
        #expect(q.hasPrefix("q = ln_1 · W_Q + b_Q   [11 × 12]\nlayer 1, head 3: 12 columns of the 60 × 180 c_attn (Q | K | V)\n"
                            + "  W_Q = transformer.h.1.attn.c_attn.weight[:, 36:48]\n  b_Q = transformer.h.1.attn.c_attn.bias[36:48]\n"), "\(q)")
        #expect(try session.execute("v").contains("W_V = transformer.h.1.attn.c_attn.weight[:, 156:168]"))
        #expect(try session.execute("ln_2").hasPrefix("ln_2 = LN(attn_residual)   [11 × 60]"))
        #expect(try session.execute("ffn_act").hasPrefix("ffn_act = GELU_tanh(ffn_hidden)   [11 × 240]"))
        #expect(try session.execute("masked").contains("−∞"))
        // Steps of another architecture are refused by name.
        #expect(throws: NotebookError.self) { try session.execute("rmsnorm") }
        #expect(throws: NotebookError.self) { try session.execute("attn_norm") }
        #expect(throws: NotebookError.self) { try session.execute("rope") }
        // The next token and the continuation, which the KV cache writes as the trace would.
        let trace = try TinyHub.open("gpt2").trace("The cat sat on the mat.", ablating: [])
        let top = try #require(trace.logits.map { topTokens(logits: $0.row($0.rows - 1), count: 1, temperature: 1)[0] })
        let predict = try session.execute("predict 3")
        #expect(predict.contains(" \(top.id) "), "\(predict)")
        _ = try session.execute("generate 4")
        let decoder = try #require(try TinyHub.open("gpt2") as? any DecoderModel)
        let expected = decoder.generateGreedy(prompt: trace.tokenIds, count: 4) { _ in true }
        #expect(session.lastGeneration?.produced == expected)
        let heads = try session.execute("heads")
        #expect(heads.hasPrefix("heads of layer 1: 5 heads, 11 tokens"), "\(heads)")
        let ablate = try session.execute("ablate head 1 3")
        #expect(ablate.contains("layers 0…0 are exactly unchanged"), "\(ablate)")
        let importance = try session.execute("importance")
        #expect(importance.contains("importance = p("), "\(importance)")
    }

    @Test("the learner's math binds GPT-2's weights in the math's orientation, and its own GELU")
    func math() throws {
        let session = TinyHub.session()
        for line in ["model attn-tiny/gpt2", "sentence The cat sat on the mat.", "layer 2", "head 4"] { _ = try session.execute(line) }
        for check in ["check layernorm(X, gamma_1, beta_1) ln_1", "check ln_1 @ W_Q + b_Q q", "check ln_1 @ W_K + b_K k",
                      "check ln_1 @ W_V + b_V v", "check softmax(Q @ K.T / sqrt(dk) + M) weights", "check X + attn_out attn_residual",
                      "check layernorm(attn_residual, gamma_2, beta_2) ln_2", "check ln_2 @ W_fc + b_fc ffn_hidden",
                      "check gelu_tanh(ffn_hidden) ffn_act", "check ffn_act @ W_proj + b_proj ffn_out",
                      "check attn_residual + ffn_out out"] {
            let result = try session.execute(check)
            #expect(result.hasPrefix("✓"), "\(check): \(result)")
        }
        // The exact GELU is not GPT-2's.
        #expect(try session.execute("check gelu(ffn_hidden) ffn_act").hasPrefix("✗"))
        #expect(try session.execute("check final_norm @ E.T logits").hasPrefix("✓"))
        #expect(try session.execute("check P[0:T] + E[0:1] * 0 position_embeddings").hasPrefix("✓"))
    }

    @Test("model PATH opens a snapshot directory or a copy, with its architecture from config.json")
    func path() throws {
        let session = TinyHub.session()
        let directory = try TinyHub.snapshot("bert-sharded")
        let text = try session.execute("model \(directory)").replacingOccurrences(of: "\n  ", with: " ")
        #expect(text.contains("BERT encoder from \(directory): 3 layers, 7 heads, d_model 84"), "\(text)")
        #expect(session.modelName == (directory as NSString).lastPathComponent)
        #expect(try session.execute("model tiny \(try TinyHub.snapshot("gpt2"))").contains("GPT-2 decoder from"))
        #expect(session.modelName == "tiny")
        // A path that is not there keeps the model.
        #expect(throws: (any Error).self) { try session.execute("model ./no/such/checkpoint") }
        #expect(session.modelName == "tiny")
    }
}

@Suite("lesson N --model NAME: a lesson about a kind of model on another model of that kind")
struct LessonModelTests {
    /// Follows a lesson from its start: `next` through every block, an exercise's own solution
    /// typed where one waits. Returns everything printed, up to `blocks` blocks.
    func follow(_ session: Session, _ start: String, blocks: Int = 100) throws -> String {
        var text = try session.execute(start)
        for _ in 0..<blocks {
            let step = try session.execute("next")
            text += step
            if step.contains("this is an exercise"), let block = session.waitingExerciseBlock {
                for line in block.commands { text += try session.execute(line.text) }
            }
            if step.contains("✓ lesson") { break }
        }
        return text
    }

    @Test("lesson 1 runs on the uncased tiny BERTs, every block and exercise, without an error",
          arguments: ["attn-tiny/bert", "attn-tiny/bert-sharded"])
    func encoderLesson(model: String) throws {
        let session = TinyHub.session()
        let text = try follow(session, "lesson 1 --model \(model)")
        let unwrapped = text.replacingOccurrences(of: "\n", with: " ")
        #expect(unwrapped.contains("lesson 1 on \(model): the lesson's model lines select \(model)"), "\(text)")
        #expect(text.contains("✓ lesson 1 done."), "\(text)")
        #expect(!text.contains("✗"), "\(text)")
        #expect(session.modelName == model)
    }

    @Test("on the cased tiny BERT, lesson 1's exercise fails as it should: upper case makes other tokens")
    func casedEncoder() throws {
        let session = TinyHub.session()
        let text = try follow(session, "lesson 1 --model attn-tiny/bert-bf16", blocks: 12)
        #expect(text.contains("[CLS] THE C ##at"), "\(text)")
        #expect(text.contains("✗ shapes differ"), "\(text)")
    }

    @Test("lesson 11 runs on the tiny GPT-2 up to its last block, which needs a fourth layer")
    func decoderLesson() throws {
        let session = TinyHub.session()
        let text = try follow(session, "lesson 11 --model attn-tiny/gpt2", blocks: 6)
        #expect(text.contains("> model attn-tiny/gpt2\n"), "\(text)")
        #expect(text.contains("✓ matches weights"), "\(text)")
        #expect(!text.contains("✗"), "\(text)")
        #expect(session.modelName == "attn-tiny/gpt2")
        let last = try? session.execute("next")
        #expect(last == nil)  // layer 3 does not exist in a 3-layer model
    }

    @Test("a lesson about its own model, or a model of the other kind, is refused in one line, and nothing changes")
    func refused() throws {
        let session = TinyHub.session()
        _ = try session.execute("model minilm")
        do {
            _ = try session.execute("lesson 12 --model attn-tiny/gpt2")
            Issue.record("lesson 12 is SmolLM2's own")
        } catch {
            #expect("\(error)" == "lesson 12 is about its own model, and runs on it alone; the lessons about any encoder or decoder take --model (lessons 1, 11)")
        }
        do {
            _ = try session.execute("lesson 1 --model attn-tiny/gpt2")
            Issue.record("gpt2 is not an encoder")
        } catch {
            #expect("\(error)" == "lesson 1 is about encoders, and attn-tiny/gpt2 is a decoder (GPT-2 decoder)")
        }
        #expect(throws: NotebookError.self) { try session.execute("lesson 1 --model") }
        #expect(session.modelName == "minilm")
    }
}
