import AttnCore
import Foundation
@testable import Notebook
import Testing

/// The distribution filters, the generator and the chat template, without the model.
@Suite("Sampling rules, by hand")
struct SamplingRuleTests {
    @Test("top-p keeps what Hugging Face's TopPLogitsWarper keeps: drop ascending cumsum ≤ 1 − P, never the most likely")
    func nucleus() {
        // Dyadic probabilities, so every cumulative sum is exact.
        let p = [0.125, 0.5, 0.125, 0.25]
        // P = 0.75: ascending 0.125 (id 2) 0.125 (id 0) 0.25 0.5, cumsum 0.125 0.25 0.5 1; drop ≤ 0.25.
        #expect(Sampling.nucleus(p, topP: 0.75) == [0, 0.5, 0, 0.25])
        // P = 0.76: drop ≤ 0.24, only the first of the tied pair (the larger id goes first).
        #expect(Sampling.nucleus(p, topP: 0.76) == [0.125, 0.5, 0, 0.25])
        // A tiny P keeps the most likely token alone; P = 1 keeps everything.
        #expect(Sampling.nucleus(p, topP: 0.01) == [0, 0.5, 0, 0])
        #expect(Sampling.nucleus(p, topP: 1) == p)
        // Not dyadic: 0.1 0.15 dropped (cumsum 0.25 ≤ 0.3), 0.25 and 0.5 kept.
        #expect(Sampling.nucleus([0.1, 0.5, 0.15, 0.25], topP: 0.7) == [0, 0.5, 0, 0.25])
    }

    @Test("temperature, then top-k on the logits (ties with the k-th stay), then the model's softmax")
    func topK() {
        let p = Sampling(temperature: 1, topK: 2).probabilities([1, 3, 2, 0])
        #expect(p[0] == 0 && p[3] == 0)
        #expect(abs(p[1] - 1 / (1 + exp(-1.0))) < 1e-6)
        #expect(abs(p[1] + p[2] - 1) < 1e-6)
        let tied = Sampling(temperature: 1, topK: 1).probabilities([1, 3, 3, 0])
        #expect(tied[1] == 0.5 && tied[2] == 0.5 && tied[0] == 0 && tied[3] == 0)
        // τ = 0.5 doubles the gaps: softmax([2, 6, 4, 0]).
        let sharp = Sampling(temperature: 0.5).probabilities([1, 3, 2, 0])
        #expect(abs(sharp[1] - exp(6) / (exp(2) + exp(6) + exp(4) + 1)) < 1e-6)
    }

    @Test("SplitMix64 gives the published sequence for seed 0, and the same numbers for the same seed")
    func generator() {
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
        // Same seed, same numbers; every unit draw in [0, 1).
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42)
        let draws = (0..<1000).map { _ in a.nextUnit() }
        #expect(draws == (0..<1000).map { _ in b.nextUnit() })
        #expect(draws.allSatisfy { (0..<1).contains($0) } && abs(draws.reduce(0, +) / 1000 - 0.5) < 0.05)
    }

    @Test("the chat template: SmolLM2's renders; filters, calls and unclosed blocks are refused by name")
    func template() throws {
        let fixture = try ChatFixture.load()
        let template = try ChatTemplate(fixture.template)
        for c in fixture.cases {
            #expect(try template.render([.init(role: "user", content: c.text)], addGenerationPrompt: true) == c.prompt)
        }
        // A system turn of one's own replaces the default one; no generation prompt, no assistant turn.
        let own = try template.render([.init(role: "system", content: "Be brief."), .init(role: "user", content: "Hi")],
                                      addGenerationPrompt: false)
        #expect(own == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
        // Whitespace control and trim_blocks as Hugging Face's Jinja environment sets them.
        let trimmed = try ChatTemplate("{% for m in messages %}\n  {{- m.role }}: {{ m['content'] }}\n{% endfor %}")
        #expect(try trimmed.render([.init(role: "user", content: "a"), .init(role: "bot", content: "b")], addGenerationPrompt: false)
                == "user: a\nbot: b\n")
        for (source, named) in [("{{ messages | tojson }}", "'|'"), ("{{ raise_exception('no') }}", "a function call"),
                                ("{% for m in messages %}{{ m.role }}", "endfor"), ("{% set x = 1 %}", "{% set x = 1 %}"),
                                ("{{ bos_token }}", "bos_token")] {
            do {
                _ = try ChatTemplate(source).render([.init(role: "user", content: "x")], addGenerationPrompt: true)
                Issue.record("\(source) was accepted")
            } catch let error as AttnError {
                guard case let .chatTemplateUnsupported(reason) = error else { Issue.record("\(error)"); continue }
                #expect(reason.contains(named), "\(reason)")
                #expect("\(error)".hasPrefix("the model's chat template uses "))
            }
        }
    }

    @Test("the decoding commands check every number and say what is allowed in one line")
    func validation() throws {
        func error(_ line: String) -> String? {
            do { _ = try Commands.parse(line); return nil } catch { return "\(error)" }
        }
        func parsed<C: NotebookCommand>(_ line: String, as type: C.Type) throws -> C? {
            guard case let .command(command) = try Commands.parse(line) else { return nil }
            return command as? C
        }
        #expect(try parsed("top-k 50", as: TopKCommand.self)?.k == 50)
        #expect(try parsed("top-k off", as: TopKCommand.self)?.k == .some(nil))
        #expect(try parsed("top-k 0", as: TopKCommand.self)?.k == .some(nil))
        #expect(try parsed("top-p 0.9", as: TopPCommand.self)?.p == 0.9)
        #expect(try parsed("top-p 1", as: TopPCommand.self)?.p == .some(nil))
        #expect(try parsed("seed 18446744073709551615", as: SeedCommand.self)?.seed == .max)
        #expect(try parsed("sample 5", as: SampleCommand.self)?.count == 5)
        #expect(try parsed("greedy 5", as: GreedyCommand.self)?.count == 5)
        #expect(try parsed("chat \"two\\nlines\"", as: ChatCommand.self)?.text == "two\nlines")
        #expect(try parsed("sentence +", as: SentenceCommand.self) == SentenceCommand(text: nil))
        #expect(try parsed("sentence \"+\"", as: SentenceCommand.self) == SentenceCommand(text: "+"))
        #expect(try parsed("temperature 0", as: TemperatureCommand.self)?.value == 0)
        for line in ["top-p 0", "top-p 1.5", "top-p nan", "top-p -0.1", "top-p", "top-k -1", "top-k 100001", "top-k 2.5",
                     "seed -1", "seed 1e3", "seed", "sample 0", "sample 1001", "greedy x", "chat"] {
            let message = error(line)
            #expect(message != nil, "\(line) was accepted")
            #expect(message?.contains("\n") == false)
        }
        #expect(error("top-p 1.5") == "usage: top-p P with 0 < P ≤ 1, e.g. top-p 0.9, or top-p off")
        #expect(error("seed -1") == "seed takes a whole number, not '-1'")
    }
}

/// Tests/AttnCoreTests/Fixtures/smollm2-chat.json, made once by Tests/Reference/smollm2_chat.py
/// with transformers' `apply_chat_template` and greedy `generate`.
struct ChatFixture: Decodable {
    struct Case: Decodable {
        let text: String
        let prompt: String
        let ids: [Int]
        let greedy: [Int]
    }
    let template: String
    let cases: [Case]

    static func load() throws -> ChatFixture {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("AttnCoreTests/Fixtures/smollm2-chat.json")
        return try JSONDecoder().decode(ChatFixture.self, from: Data(contentsOf: path))
    }
}

@Suite("Generation on the real SmolLM2")
struct GenerationTests {
    static let llama: Llama? = try? Llama(path: ModelStore.directory(for: .smollm2))
    static let prompt = "Once upon a time, there was a"

    func model() throws -> Llama { try #require(Self.llama) }

    func run(_ llama: Llama, _ rule: DecodingRule, count: Int = 16) -> [Int] {
        llama.generate(prompt: llama.tokenizer.encode(Self.prompt), count: count, rule: rule) { _ in }
    }

    @Test("a seed gives the same tokens every time; another seed, other tokens")
    func seeded() throws {
        let llama = try model()
        let rule = { (seed: UInt64) in DecodingRule.sampling(Sampling(temperature: 1, seed: seed)) }
        let first = run(llama, rule(42))
        #expect(first.count == 16)
        #expect(run(llama, rule(42)) == first)
        #expect(run(llama, rule(43)) != first)
        #expect(run(llama, .greedy) != first)
    }

    @Test("temperature → 0 and top-k 1 choose what greedy chooses")
    func limits() throws {
        let llama = try model()
        let greedy = run(llama, .greedy)
        #expect(run(llama, .sampling(Sampling(temperature: 0.001, seed: 5))) == greedy)
        #expect(run(llama, .sampling(Sampling(temperature: 1, topK: 1, seed: 5))) == greedy)
        // A narrow nucleus at a high temperature is greedy too where the model is sure of its word,
        // and top-p keeps the draws inside the nucleus: never a token outside it.
        #expect(run(llama, .sampling(Sampling(temperature: 1, topP: 1e-9, seed: 5))) == greedy)
    }

    @Test("chat builds the prompt transformers builds, id for id, and answers as transformers' greedy generate")
    func chatMatchesTransformers() throws {
        let llama = try model()
        let fixture = try ChatFixture.load()
        #expect(llama.chatTemplate == fixture.template)
        let template = try ChatTemplate(try #require(llama.chatTemplate))
        for c in fixture.cases {
            let prompt = try template.render([.init(role: "user", content: c.text)], addGenerationPrompt: true)
            #expect(prompt == c.prompt)
            #expect(llama.tokenizer.encode(prompt) == c.ids)
            let answer = llama.generate(prompt: c.ids, count: c.greedy.count, rule: .greedy) { _ in }
            #expect(answer == c.greedy, "\(c.text)")
        }
    }

    @Test("Ctrl-C during a forward pass stops before another token is chosen or shown")
    func interrupt() throws {
        let llama = try model()
        // Ctrl-C arrives just after the poll that follows the third token: while the fourth is computed.
        var shown = 0, polledAfterThird = false
        let produced = llama.generate(prompt: llama.tokenizer.encode(Self.prompt), count: 10, rule: .greedy,
                                      isInterrupted: {
                                          guard shown >= 3 else { return false }
                                          defer { polledAfterThird = true }
                                          return polledAfterThird
                                      }) { _ in shown += 1 }
        #expect(produced.count == 3 && shown == 3)

        // The session polls the same way and says why it stopped.
        let s = ScriptedSession()
        s.run("model smollm2\nsentence \(Self.prompt)")
        var streamed = "", tokens = 0, armed = false
        s.session.stream = { text in
            streamed += text
            if text.hasPrefix(" ") || text.hasPrefix(",") { tokens += 1 }
        }
        s.session.isInterrupted = {
            guard tokens >= 2 else { return false }
            defer { armed = true }
            return armed
        }
        _ = try s.session.execute("generate 10")
        #expect(streamed.contains("(2 tokens, stopped by Ctrl-C)"), "\(streamed)")
        #expect(s.session.lastGeneration?.produced.count == 2)
    }

    @Test("the session: generate says greedy or sampling and how; sample repeats with its seed; sentence + traces prompt and continuation")
    func session() throws {
        let s = ScriptedSession()
        s.run("model smollm2\nsentence The capital of France is")
        let greedy = s.run("generate 6")
        #expect(greedy.hasPrefix("generating up to 6 tokens greedily (argmax of the logits"))
        #expect(greedy.contains("The capital of France is Paris."))
        #expect(!greedy.contains("sampling:"))

        let trace = s.run("sentence +")
        let generation = try #require(s.session.lastGeneration)
        #expect(generation.produced.count == 6)
        let traced = try #require(s.session.currentTrace)
        #expect(traced.tokenIds == generation.promptIds + generation.produced)
        #expect(traced.count == 11)
        #expect(trace.hasPrefix("sentence: 11 tokens: The ·capital ·of ·France ·is ·Paris ."))
        #expect(s.session.sentence?.hasPrefix("The capital of France is Paris.") == true)

        s.run("sentence The capital of France is")
        #expect(s.run("temperature 0.7") == "temperature 0.7: predict now shows softmax(logits / 0.7); generate samples from\nit\n")
        #expect(s.run("top-k 50\ntop-p 0.9").hasSuffix("top-p 0.9: generate samples from softmax(logits / 0.7), top-k 50, top-p 0.9, seed 0\n"))
        s.run("seed 42")
        let sampled = s.run("generate 12")
        #expect(sampled.contains("by sampling") && sampled.contains("sampling: softmax(logits / 0.7), top-k 50, top-p 0.9, seed 42\n"))
        #expect(s.run("generate 12") == sampled)
        s.run("seed 7")
        #expect(s.run("generate 12") != sampled)
        // temperature 1 is the default: generate is greedy again, sample N draws.
        #expect(s.run("temperature 1").contains("generate is greedy"))
        #expect(s.run("generate 6") == greedy.replacingOccurrences(of: "(argmax of the logits, with a KV cache);\nCtrl-C stops\n",
                                                                 with: "(argmax of the logits, with a KV cache);\nCtrl-C stops\ngreedy: temperature, top-k, top-p and seed apply only when sampling (sample N)\n"))
        #expect(s.run("sample 4").contains("sampling: softmax(logits / 1), top-k 50, top-p 0.9, seed 7"))
        s.run("temperature 0")
        #expect(s.failure("sample 4")?.hasPrefix("sample draws from softmax(logits / τ), and the temperature is 0") == true)
    }

    @Test("chat shows the prompt's tokens, answers until <|im_end|>, and sentence + then shows its attention")
    func chat() throws {
        let s = ScriptedSession()
        s.run("model smollm2")
        #expect(s.failure("sentence +")?.hasPrefix("sentence + appends what was last generated, and nothing was") == true)
        let output = s.run("chat What is the capital of France?")
        let fixture = try ChatFixture.load()
        #expect(output.hasPrefix("chat: the model's chat template (tokenizer.chat_template) wraps your text: \(fixture.cases[0].ids.count)"))
        #expect(output.contains("<|im_start|> user ↵ What ·is ·the"))
        #expect(output.contains("\nThe capital of France is Paris.\n(8 tokens, stopped at <|im_end|>)\n"))
        #expect(s.session.lastGeneration?.produced == fixture.cases[0].greedy)
        s.run("sentence +")
        let trace = try #require(s.session.currentTrace)
        #expect(trace.tokenIds == fixture.cases[0].ids + fixture.cases[0].greedy)
        #expect(trace.tokens.last == "<|im_end|>")
    }
}
