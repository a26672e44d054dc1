import AttnCore
import Foundation
@testable import Notebook
import Testing

@Suite("attn lint: lessons checked as attn's own are")
struct LessonLintTests {
    /// A session like the golden replays': `model gpt2` opens the tiny GPT-2.
    static func session() -> Session {
        let session = Session(environment: LessonGoldenTests.environment)
        session.lessonsDirectory = LessonGoldenTests.repository + "/Lessons"
        session.stream = { _ in }
        return session
    }

    @Test("attn's own lessons have no problem: every block runs, every solution passes, every quoted number is printed")
    func ownLessons() {
        let problems = LessonLint.check(LessonGoldenTests.lessons + LessonGoldenTests.translations, makeSession: Self.session)
        #expect(LessonGoldenTests.lessons.count >= 17)
        #expect(LessonGoldenTests.translations.count >= 17)
        #expect(problems.isEmpty, "\(problems.map(\.description).joined(separator: "\n"))")
    }

    @Test("the example lesson of Lessons/README.md passes lint")
    func readmeExample() throws {
        let readme = try String(contentsOfFile: LessonGoldenTests.repository + "/Lessons/README.md", encoding: .utf8)
        let start = try #require(readme.range(of: "````markdown\n"))
        let end = try #require(readme.range(of: "````\n", range: start.upperBound..<readme.endIndex))
        let lesson = try Lesson(text: String(readme[start.upperBound..<end.lowerBound]), path: "/example/18-first-token.md")
        #expect(lesson.blocks.count == 2 && lesson.blocks[1].exercise == "weights")
        let problems = LessonLint.check([lesson], makeSession: Self.session)
        #expect(problems.isEmpty, "\(problems)")
    }

    @Test("lessons DIR follows a teacher's directory, and lesson PATH.md a single file of one's own")
    func teachersLessons() throws {
        let directory = NSTemporaryDirectory() + "attn-teacher-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/empty", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
            # 18. Attention to the first token

            ```attn
            sentence the cat sat on the mat
            weights
            ```
            """.write(toFile: directory + "/18-first-token.md", atomically: true, encoding: .utf8)
        let session = Self.session()
        let list = try session.execute("lessons \(directory)")
        #expect(list.hasPrefix(" 18  Attention to the first token  not started\n"), "\(list)")
        #expect(!list.contains("Tokens and ids"))
        #expect(try session.execute("lesson 18").contains("18. Attention to the first token"))
        _ = try session.execute("lesson stop")
        let other = Self.session()
        #expect(try other.execute("lesson \(directory)/18-first-token.md").contains("18. Attention to the first token"))
        #expect(throws: NotebookError.self) { try other.execute("lessons \(directory)/none") }
        #expect(throws: NotebookError.self) { try other.execute("lessons \(directory)/empty") }
        #expect(throws: NotebookError.self) { try other.execute("lesson \(directory)/none.md") }
        #expect(try other.execute("lessons").contains("Tokens and ids"))  // a refused directory changes nothing
    }

    @Test("lesson 17 opens the tiny GPT-2 beside it when no cache holds a GPT-2, from the start and when resumed")
    func ifAbsent() throws {
        let directory = NSTemporaryDirectory() + "attn-if-absent-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fresh = Self.session()
        _ = try fresh.execute("lesson 17")
        let start = try fresh.execute("next")
        #expect(start.contains("no gpt2 in your caches: this lesson opens models/tiny-gpt2 beside it instead"), "\(start)")
        #expect(fresh.modelName == "gpt2" && fresh.currentTrace?.count == 11)

        try Data(#"{"17-three-blocks": 3}"#.utf8).write(to: URL(fileURLWithPath: directory + "/progress.json"))
        let resumed = Self.session()
        resumed.progressPath = directory + "/progress.json"
        let text = try resumed.execute("lesson 17").replacingOccurrences(of: "\n  ", with: " ")
        #expect(text.contains("set up for lesson 17: model gpt2"), "\(text)")
        #expect(resumed.modelName == "gpt2" && resumed.model?.architecture == "GPT-2 decoder")
    }

    @Test("a broken lesson: each problem at its line, one per kind")
    func brokenLesson() throws {
        let directory = NSTemporaryDirectory() + "attn-lint-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/01-broken.md"
        try """
            # 1. Broken

            The weights of row 0 add up to 123.4567 here, a number nothing prints.

            ```attn
            sentence the cat sat on the mat
            weights
            ```

            Now the model, too late.

            ```attn
            model minilm
            # exercise: weights
            # forbid: nosuchname
            check weights weights
            ```

            ```attn
            nosuchcommand 3
            ```
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let lesson = try Lesson(path: path)
        let problems = LessonLint.check([lesson], makeSession: Self.session).map(\.description)
        #expect(problems.contains("\(path):13: the lesson selects its model only here: select it in the first block, so that the lesson sets it up when it starts or resumes"), "\(problems)")
        #expect(problems.contains("\(path):12: # forbid: or # require: names nosuchname, which is no function, model name, step or name the lesson binds"), "\(problems)")
        #expect(problems.contains("\(path):16: the exercise's solution reads weights, the answer itself: build it from the names before it"), "\(problems)")
        #expect(problems.contains { $0.hasPrefix("\(path):20: ") }, "\(problems)")  // the replay stops at the unknown command
        #expect(problems.contains("\(path):5: the prose before this block quotes 123.4567, which no command of the lessons prints"), "\(problems)")
        #expect(problems.count == 5, "\(problems)")
    }
}
