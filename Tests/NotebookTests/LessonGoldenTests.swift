import Foundation
import Notebook
import Testing

/// Every lesson in `Lessons/` replays to exactly its committed transcript in `Golden/`.
///
/// A changed transcript is a reviewed change: `make golden` rewrites the files, and `git diff`
/// shows what changed. The test itself never writes them.
@Suite("Lessons replay to their golden transcripts")
struct LessonGoldenTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let lessons = Lesson.all(in: repository + "/Lessons")

    @Test("there are lessons, each with at least one exercise")
    func present() {
        #expect(Self.lessons.count >= 1)
        for lesson in Self.lessons {
            #expect(lesson.blocks.contains { $0.exercise != nil }, "\(lesson.name) has no exercise")
        }
    }

    @Test("the replay equals the golden transcript", arguments: lessons.map(\.name))
    func golden(name: String) throws {
        let lesson = try #require(Self.lessons.first { $0.name == name })
        let session = Session()
        session.lessonsDirectory = Self.repository + "/Lessons"
        var output = ""
        try Runner.replay(session, lesson: lesson) { output += $0 }
        let path = Self.repository + "/Tests/NotebookTests/Golden/\(name).txt"
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        if output != golden {
            // Name the first line that differs; `make golden` then `git diff` shows all of it.
            let mine = output.split(separator: "\n", omittingEmptySubsequences: false)
            let theirs = golden.split(separator: "\n", omittingEmptySubsequences: false)
            let line = Array(zip(mine, theirs)).firstIndex { $0.0 != $0.1 } ?? min(mine.count, theirs.count)
            Issue.record("""
                \(name) differs from Golden/\(name).txt at line \(line + 1):
                  replay: \(line < mine.count ? String(mine[line]) : "<end>")
                  golden: \(line < theirs.count ? String(theirs[line]) : "<end>")
                if the change is intended, run `make golden` and review `git diff`
                """)
        }
    }
}
