// attn-bench: measures what a learner waits for, in-process, with medians over repeated runs.
//
//   swift build -c release && .build/release/attn-bench [long] [minilm] [lessons] [smollm2] [gemma3]
//
// With no argument it runs every part; with some, only those.
// It times the forward pass with every intermediate (16 and 128 tokens), every step command of
// the notebook, lime 500 on MiniLM and SmolLM2, patch and induction on SmolLM2 (patch on Gemma 3), SmolLM2's load and greedy decoding, and reports
// the peak memory of a MiniLM session. The whole-job comparison with Python lives in Tests/Benchmarks/compare.py.

import AttnCore
import Foundation
import Notebook

// The kernels the CPU has, as attn itself runs with (see startAgainWithBetterBLASKernels).
startAgainWithBetterBLASKernels()
setUpBLAS()
setUpMemory()

/// Seconds since an arbitrary start, monotonic.
func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// The median of `runs` timings of `body`, in milliseconds (after one warm-up run).
func median(runs: Int, _ body: () throws -> Void) rethrows -> Double {
    try body()
    var times: [Double] = []
    for _ in 0..<runs {
        let start = now()
        try body()
        times.append((now() - start) * 1000)
    }
    return times.sorted()[times.count / 2]
}

/// The process's peak resident memory so far, in MB (VmHWM from /proc/self/status).
func peakMemory() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kilobytes = Double(line.split(separator: " ")[1]) else { return 0 }
    return kilobytes / 1024
}

func report(_ name: String, _ value: Double, _ unit: String, goal: String = "") {
    let text = String(format: "%-52@ %10.2f %-6@ %@", name as NSString, value, unit as NSString, goal as NSString)
    print(text)
}

/// A whole job of the attn executable beside this one (`attn replay` of `lines`), as a learner
/// runs it: its wall time in seconds and its peak resident memory in MB (the child's own, from
/// wait4), or nil when it cannot run or fails.
func job(_ lines: [String]) -> (seconds: Double, megabytes: Double)? {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("attn").path
    let script = NSTemporaryDirectory() + "attn-bench-\(getpid()).txt"
    defer { unlink(script) }
    guard (try? (lines.joined(separator: "\n") + "\n").write(toFile: script, atomically: true, encoding: .utf8)) != nil else { return nil }
    var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    let arguments = [executable, "replay", script]
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for pointer in argv { free(pointer) } }
    var pid: pid_t = 0
    let start = now()
    guard posix_spawn(&pid, executable, &actions, nil, &argv, environ) == 0 else { return nil }
    var status: Int32 = 0
    var usage = rusage()
    guard wait4(pid, &status, 0, &usage) == pid, status == 0 else { return nil }
    return (now() - start, Double(usage.ru_maxrss) / 1024)
}

/// `count` words, about a token each for every tokenizer here, the same every run.
func words(_ count: Int) -> String {
    let vocabulary = "the cat sat on a mat and then it ran to the old house where many people lived in small rooms with books".split(separator: " ")
    return (0..<count).map { vocabulary[($0 * 7 + $0 / 3) % vocabulary.count] }.joined(separator: " ")
}

/// Whether the part `name` runs: every part when no argument names one.
func wanted(_ name: String) -> Bool {
    let asked = CommandLine.arguments.dropFirst()
    return asked.isEmpty || asked.contains(name)
}

let sixteen = "the quick brown fox jumps over the lazy dog near the old river bank"  // 16 tokens with [CLS], [SEP]
let long = Array(repeating: "attention lets every token look at every other token", count: 14).joined(separator: " ")

do {
    print("attn-bench: medians; \(ProcessInfo.processInfo.activeProcessorCount) cores; OpenBLAS kernels: \(blasCoreName)\n")

    // Long texts and many-pass tools (issue 18), each a whole job in a process of its own, so
    // that its peak memory is its own: first, while this process is small (a child started by
    // posix_spawn begins with its parent's peak).
    let longJobs: [(name: String, lines: [String], goal: String)] = [
        ("MiniLM 510 words: trace, weights (whole job)", ["sentence " + words(510), "weights"], "goal ≤ 0.5 s, ≤ 300 MB"),
        ("MiniLM importance, 250 words (whole job)", ["sentence " + words(250), "importance"], "goal ≤ 10 s"),
        ("SmolLM2 2047 words: trace, weights, predict (whole job)", ["model smollm2", "sentence " + words(2047), "weights", "predict"],
         "goal ≤ 10 s, ≤ 2048 MB"),
        ("SmolLM2 8192 words, its whole context: trace, weights, predict (whole job)", ["model smollm2", "sentence " + words(8192), "weights", "predict"],
         "goal ≤ 90 s, ≤ 6144 MB"),
        ("SmolLM2 importance, 250 words (whole job)", ["model smollm2", "sentence " + words(250), "importance"], "goal ≤ 30 s"),
    ]
    for (name, lines, goal) in longJobs where wanted("long") {
        guard let result = job(lines) else { print("\(name): did not run (attn beside attn-bench, models fetched?)"); continue }
        report(name, result.seconds, "s", goal: goal)
        report("  its peak memory", result.megabytes, "MB")
    }
    print("")

    if wanted("minilm") {
        // MiniLM: load, then the forward pass with every intermediate.
        let minilmDirectory = ModelStore.directory(for: .minilm)
        let load = try median(runs: 5) { _ = try Bert(directory: minilmDirectory) }
        report("MiniLM load (config, safetensors, vocab)", load, "ms")
        // The part of the load that reads every weight once for NaN and ±∞ (pages already in the page cache).
        let weightsFile = try SafeTensors(path: minilmDirectory + "/model.safetensors")
        let scan = median(runs: 5) {
            for entry in weightsFile.entries.values {
                _ = weightsFile.withMappedFloats(entry) { FiniteCheck.firstNonFinite($0) }
            }
        }
        report("  of which the finiteness scan of every weight (90 MB)", scan, "ms")
        let bert = try Bert(directory: minilmDirectory)
        let ids16 = try bert.tokenizer.encode(sixteen)
        let ids128 = Array(try bert.tokenizer.encode(long).prefix(127)) + [bert.tokenizer.sepId]
        report("MiniLM forward, every step kept, \(ids16.count) tokens", median(runs: 50) { _ = bert.trace(ids: ids16) }, "ms", goal: "goal ≤ 5 ms")
        report("MiniLM forward, every step kept, \(ids128.count) tokens", median(runs: 10) { _ = bert.trace(ids: ids128) }, "ms")

        // Every step command of the notebook, through a session, as the learner types them.
        let session = Session()
        _ = try session.execute("sentence \(sixteen)")
        _ = try session.execute("layer 2")
        _ = try session.execute("head 7")
        var slowest = (name: "", time: 0.0)
        for step in Bert.steps.map(\.rawValue) + ["tokens", "check softmax(Q @ K.T / sqrt(dk)) weights"] {
            let time = try median(runs: 20) { _ = try session.execute(step) }
            if time > slowest.time { slowest = (step, time) }
        }
        report("slowest step command (\(slowest.name))", slowest.time, "ms", goal: "goal ≤ 5 ms")
        report("peak memory so far (several MiniLM loads)", peakMemory(), "MB",
               goal: "one session: /usr/bin/time -v attn")

        // LIME: 500 samples of a 20-token sentence, one forward pass per distinct sample. A batch of
        // samples would be one product of more rows; what a row costs in a long sentence bounds what
        // batching could save, since every product already runs near the cores' speed.
        let review = "the film was slow at first but the acting was wonderful and the ending made me smile at last"
        let limeSession = Session()
        _ = try limeSession.execute("sentence \(review)")
        let limeTime = try median(runs: 3) { _ = try limeSession.execute("lime 500") }
        let minilmTokens = limeSession.currentTrace?.count ?? 0
        report("MiniLM lime 500, \(minilmTokens) tokens (\(review.split(separator: " ").count) words)", limeTime, "ms")
        let ids320 = Array(try bert.tokenizer.encode(Array(repeating: review, count: 20).joined(separator: " ")).prefix(320))
        let ids20 = try bert.tokenizer.encode(review)
        let perRow20 = median(runs: 20) { _ = bert.trace(ids: ids20) } / Double(ids20.count)
        let perRow320 = median(runs: 5) { _ = bert.trace(ids: ids320) } / Double(ids320.count)
        report("  MiniLM forward per token, \(ids20.count) tokens", perRow20 * 1000, "µs")
        report("  MiniLM forward per token, \(ids320.count) tokens (a batch's rows)", perRow320 * 1000, "µs")
    }

    // Lessons: replay every one.
    if wanted("lessons"), let directory = ["Lessons", "../Lessons"].first(where: { FileManager.default.fileExists(atPath: $0) }) {
        let lessons = Lesson.all(in: directory)
        let time = try median(runs: 3) {
            for lesson in lessons {
                let replaySession = Session()
                replaySession.lessonsDirectory = directory
                try Runner.replay(replaySession, lesson: lesson) { _ in }
            }
        }
        report("replay of all \(lessons.count) lessons", time, "ms")
    }

    // SmolLM2: load, then greedy decoding with the KV cache.
    let gguf = ModelStore.directory(for: .smollm2) + "/" + Llama.fileName
    if wanted("smollm2"), FileManager.default.fileExists(atPath: gguf) {
        var llama: Llama?
        let loadTime = try median(runs: 3) { llama = try Llama(path: gguf) }
        report("SmolLM2 load (GGUF, layers left quantized)", loadTime, "ms", goal: "goal ≤ 1500 ms")
        if let llama {
            let prompt = llama.tokenizer.encode("The capital of France is")
            let count = 64
            var produced = 0
            let start = now()
            produced = llama.generateGreedy(prompt: prompt, count: count) { _ in true }.count
            let seconds = now() - start
            report("SmolLM2 greedy decoding (\(produced) tokens, KV cache)", Double(produced) / seconds, "tok/s", goal: "goal ≥ 20")
            // LIME on SmolLM2: the default target, then the classifier's (its template adds 7 tokens).
            let decoderReview = "The film was slow at first, but the acting was wonderful and the ending made me smile"
            let decoderSession = Session()
            _ = try decoderSession.execute("model smollm2")
            _ = try decoderSession.execute("sentence \(decoderReview)")
            let tokens = decoderSession.currentTrace?.count ?? 0
            let words = decoderReview.split(separator: " ").count
            var limeStart = now()
            _ = try decoderSession.execute("lime 500")
            report("SmolLM2 lime 500, \(tokens) tokens (\(words) words), target top", (now() - limeStart) * 1000, "ms")
            _ = try decoderSession.execute("classify positive|negative")
            limeStart = now()
            _ = try decoderSession.execute("lime 500")
            report("SmolLM2 lime 500, the same under classify (\(tokens + 7) tokens)", (now() - limeStart) * 1000, "ms")
            // Activation patching (patch): every layer × position from the corrupted run's cache
            // before the position, then every head (a whole pass each).
            for line in ["classify off", "sentence The capital of France is", "corrupt The capital of Italy is", "target ·Paris - ·Rome"] {
                _ = try decoderSession.execute(line)
            }
            for (part, cells) in [("patch resid", "30 × 2 residual cells"), ("patch heads", "270 heads"), ("patch", "both")] {
                let patchStart = now()
                _ = try decoderSession.execute(part)
                report("SmolLM2 \(part), 5 tokens (\(cells))", (now() - patchStart) * 1000, "ms")
            }
            let inductionStart = now()
            _ = try decoderSession.execute("induction")
            report("SmolLM2 induction (25 tokens × 2, one trace, 270 heads scored)", (now() - inductionStart) * 1000, "ms")
            let ids = llama.tokenizer.encode(decoderReview)
            let long = Array(llama.tokenizer.encode(Array(repeating: decoderReview, count: 20).joined(separator: " ")).prefix(320))
            func forward(_ ids: [Int]) {
                var cache = KeyValueCache(layers: llama.configuration.hiddenLayers)
                _ = llama.forward(ids, cache: &cache)
            }
            report("  SmolLM2 forward per token, \(ids.count) tokens", median(runs: 10) { forward(ids) } / Double(ids.count) * 1000, "µs")
            report("  SmolLM2 forward per token, \(long.count) tokens (a batch's rows)", median(runs: 3) { forward(long) } / Double(long.count) * 1000, "µs")
            report("peak memory after SmolLM2", peakMemory(), "MB")
        }
    } else if wanted("smollm2") {
        print("SmolLM2 not fetched: run `attn fetch smollm2` to measure it")
    }

    // Gemma 3: load, the first matrix of a 16-token sentence (the whole trace),
    // then greedy decoding with the KV cache.
    let gemmaFile = ModelStore.directory(for: .gemma3) + "/" + Gemma3.fileName
    if wanted("gemma3"), FileManager.default.fileExists(atPath: gemmaFile) {
        var gemma: Gemma3?
        let loadTime = try median(runs: 3) { gemma = try Gemma3(path: gemmaFile) }
        report("Gemma 3 load (GGUF; every matrix stays quantized)", loadTime, "ms", goal: "goal ≤ 500 ms")
        if let gemma {
            let sixteen = "The quick brown fox jumps over the lazy dog while the cat sleeps on"
            let traceTime = try median(runs: 3) { _ = try gemma.trace(sixteen, ablating: []) }
            report("Gemma 3 trace of \(gemma.inputIds(sixteen).count) tokens (every step kept)", traceTime, "ms", goal: "goal ≤ 1000 ms")
            let prompt = gemma.inputIds("The capital of France is")
            let count = 64
            let start = now()
            let produced = gemma.generateGreedy(prompt: prompt, count: count) { _ in true }.count
            let seconds = now() - start
            report("Gemma 3 greedy decoding (\(produced) tokens, KV cache)", Double(produced) / seconds, "tok/s", goal: "goal ≥ 20")
            let gemmaSession = Session()
            for line in ["model gemma3", "sentence The capital of France is", "corrupt The capital of Italy is", "target ·Paris - ·Rome"] {
                _ = try gemmaSession.execute(line)
            }
            let patchStart = now()
            _ = try gemmaSession.execute("patch")
            report("Gemma 3 patch, 6 tokens (18 × 2 residual cells, 72 heads)", (now() - patchStart) * 1000, "ms")
            report("peak memory after Gemma 3", peakMemory(), "MB")
        }
    } else if wanted("gemma3") {
        print("Gemma 3 not fetched: run `attn fetch gemma3` to measure it")
    }

} catch {
    print("attn-bench: error: \(error)")
    exit(1)
}
