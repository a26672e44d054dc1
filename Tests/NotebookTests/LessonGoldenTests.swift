import AttnCore
import Foundation
import Notebook
import Testing

/// Every lesson in `Lessons/` replays to its committed transcript (and passes `attn lint`:
/// LessonLintTests, which also checks the numbers the prose quotes) in `Golden/`: every word and token
/// exactly, every number within float32 rounding (`NumericText`), on any CPU.
///
/// A changed transcript is a reviewed change: `make golden` runs this test with
/// `ATTN_UPDATE_GOLDEN=1`, which rewrites the lines that changed beyond float rounding and keeps
/// every other line byte for byte; `git diff` shows what changed. Otherwise the test never writes.
@Suite("Lessons replay to their golden transcripts")
struct LessonGoldenTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let lessons = Lesson.all(in: repository + "/Lessons")
    /// The translations (`Lessons/zh/`), replayed to their own transcripts (`Golden/zh/`).
    static let translations = Lesson.all(in: repository + "/Lessons/zh")
    /// Every lesson, by its path under Lessons/ without `.md`: `05-why-scale`, `zh/05-why-scale`.
    static let allLessons: [(name: String, lesson: Lesson)] =
        lessons.map { ($0.name, $0) } + translations.map { ("zh/" + $0.name, $0) }

    /// The lessons' environment: a Hugging Face cache that does not exist, so that lesson 17's
    /// `model gpt2` opens the tiny GPT-2 beside the lessons (`# if-absent:`) on every machine,
    /// whatever GPT-2 the machine's own cache holds.
    static let environment = ProcessInfo.processInfo.environment.merging(
        ["HF_HUB_CACHE": repository + "/Tests/NotebookTests/Fixtures/no-hub-cache"]) { $1 }

    @Test("there are lessons, each with at least one exercise")
    func present() {
        #expect(Self.lessons.count >= 1)
        for lesson in Self.lessons {
            #expect(lesson.blocks.contains { $0.exercise != nil }, "\(lesson.name) has no exercise")
        }
    }

    /// `make portability` replays the lessons under each kernel by setting `OPENBLAS_CORETYPE`;
    /// this proves the setting took: a run that silently kept the default kernel proves nothing.
    @Test("OPENBLAS_CORETYPE, when set, is the kernel OpenBLAS uses")
    func kernel() {
        guard let asked = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !asked.isEmpty else { return }
        #expect(blasCoreName.lowercased() == asked.lowercased(), "asked for \(asked), OpenBLAS uses \(blasCoreName)")
    }

    @Test("the replay equals the golden transcript", arguments: allLessons.map(\.name))
    func golden(name: String) throws {
        let lesson = try #require(Self.allLessons.first { $0.name == name }?.lesson)
        let session = Session(environment: Self.environment)
        session.lessonsDirectory = Self.repository + "/Lessons"
        var output = ""
        try Runner.replay(session, lesson: lesson) { output += $0 }
        let path = Self.repository + "/Tests/NotebookTests/Golden/\(name).txt"
        let golden = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        if ProcessInfo.processInfo.environment["ATTN_UPDATE_GOLDEN"] == "1" {
            let merged = NumericText.merge(new: output, old: golden)
            if merged != golden { try merged.write(toFile: path, atomically: true, encoding: .utf8) }
            return
        }
        // Words and tokens exactly, numbers within float32 rounding: the kernels of other CPUs
        // add the same products in another order (see NumericText).
        if let difference = NumericText.firstDifference(output, golden) {
            Issue.record("""
                \(name) differs from Golden/\(name).txt at line \(difference.line): \(difference.why)
                  replay: \(difference.mine)
                  golden: \(difference.golden)
                if the change is intended, run `make golden` and review `git diff` (never to make a
                difference in the last digits on one machine go away: see NumericText)
                """)
        }
    }
}
