import AttnCore
import Foundation
@testable import Notebook
import Testing

/// The lessons in Simplified Chinese (`Lessons/zh/`): the same blocks as the English ones, followed
/// in the language the locale or `lessons --lang` asks for, and prose that wraps as Chinese does.
@Suite("Lessons in Chinese: the same blocks, the language chosen and remembered, Chinese prose wrapped")
struct LessonLanguageTests {
    static let english = LessonGoldenTests.lessons
    static let chinese = LessonGoldenTests.translations

    @Test("every lesson has a Chinese translation")
    func everyLessonTranslated() {
        #expect(Self.english.count >= 19)
        #expect(Self.chinese.map(\.name) == Self.english.map(\.name))
    }

    /// What the two languages must share: every command, every directive and the number of hints,
    /// so that progress, positions and exercises carry over from one to the other.
    @Test("a translation has its original's blocks: the same commands, directives and number of hints; its prose is Chinese",
          arguments: LessonGoldenTests.translations.map(\.name))
    func sameBlocks(name: String) throws {
        let original = try #require(Self.english.first { $0.name == name })
        let translation = try #require(Self.chinese.first { $0.name == name })
        #expect(translation.number == original.number)
        #expect(translation.isTranslation && !original.isTranslation)
        #expect(translation.blocks.count == original.blocks.count)
        for (mine, theirs) in zip(translation.blocks, original.blocks) {
            let where_ = "\(name) block at line \(mine.line)"
            #expect(mine.commands.map(\.text) == theirs.commands.map(\.text), "\(where_)")
            #expect(mine.exercise == theirs.exercise && mine.forbidden == theirs.forbidden && mine.required == theirs.required, "\(where_)")
            #expect(mine.defaultSentence == theirs.defaultSentence && mine.anyModel == theirs.anyModel
                    && mine.modelIfAbsent == theirs.modelIfAbsent, "\(where_)")
            #expect(mine.hints.count == theirs.hints.count, "\(where_)")
            // A hint in words is translated; a hint that is only an expression stays one.
            for (hint, original) in zip(mine.hints, theirs.hints) {
                #expect(hint.contains(where: isIdeographic) || hint == original, "\(where_): hint not translated: \(hint)")
            }
            if theirs.prose.contains(where: \.isLetter) {
                #expect(mine.prose.contains(where: isIdeographic), "\(where_): prose not translated")
            }
        }
        #expect(translation.title.contains(where: isIdeographic), "\(translation.title)")
    }

    @Test("the locale picks the language: LC_ALL, then LC_MESSAGES, then LANG; zh_* is Chinese")
    func locale() {
        #expect(LessonLanguage(environment: [:]) == .en)
        #expect(LessonLanguage(environment: ["LANG": "zh_CN.UTF-8"]) == .zh)
        #expect(LessonLanguage(environment: ["LANG": "zh_TW.UTF-8"]) == .zh)
        #expect(LessonLanguage(environment: ["LANG": "en_US.UTF-8"]) == .en)
        #expect(LessonLanguage(environment: ["LANG": "C.UTF-8"]) == .en)
        #expect(LessonLanguage(environment: ["LC_ALL": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"]) == .en)
        #expect(LessonLanguage(environment: ["LC_ALL": "", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US"]) == .zh)
        #expect(LessonLanguage(argument: "zh_CN.UTF-8") == .zh && LessonLanguage(argument: "EN") == .en)
        #expect(LessonLanguage(argument: "fr") == nil && LessonLanguage(argument: "") == nil)
    }

    static func session(_ scratch: ScratchDirectory, environment: [String: String] = [:]) -> Session {
        let session = Session(renderer: MatrixRenderer(width: 80), environment: LessonGoldenTests.environment.merging(environment) { $1 },
                              workingDirectory: scratch.path)
        session.lessonsDirectory = LessonGoldenTests.repository + "/Lessons"
        session.progressPath = scratch.path + "/progress.json"
        session.languagePath = scratch.path + "/language"
        var warnings: [String] = []
        session.warn = { warnings.append($0) }
        return session
    }

    @Test("LANG=zh_CN.UTF-8 lists and follows the Chinese lessons; lessons --lang en switches and is remembered")
    func chooseAndRemember() throws {
        let scratch = ScratchDirectory("language")
        defer { scratch.remove() }
        let session = Self.session(scratch, environment: ["LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""])
        let title = try #require(Self.chinese.first { $0.number == 5 }?.title)
        let list = try session.execute("lessons")
        #expect(list.contains(" 5  " + title) && list.contains("lessons in Simplified Chinese (简体中文); lessons --lang en"), "\(list)")
        #expect(!list.contains("(in English)"))
        let start = try session.execute("lesson 5")
        #expect(start.contains("5. " + title), "\(start)")

        // In English from the next step on, at the same step; remembered for the next session.
        _ = try session.execute("next")
        let switched = try session.execute("lessons --lang en")
        #expect(switched.hasPrefix("lessons in English from now on\n") && switched.contains(" 5  Why divide by √dₖ"), "\(switched)")
        #expect(switched.contains("lessons --lang zh: the lessons in Simplified Chinese"))
        #expect(try session.execute("where").contains("Why divide by √dₖ"))
        #expect(try String(contentsOfFile: scratch.path + "/language", encoding: .utf8) == "en\n")
        let next = Self.session(scratch, environment: ["LANG": "zh_CN.UTF-8"])
        next.restoreLessonLanguage()
        #expect(next.lessonLanguage == .en)
        _ = try next.execute("lessons --lang zh")
        let back = Self.session(scratch)
        back.restoreLessonLanguage()
        #expect(back.lessonLanguage == .zh)
        #expect(try back.execute("lesson 5").contains("(resuming at step 2 of"))
    }

    @Test("a remembered language that is not one is warned about and ignored; lessons --lang takes only zh or en")
    func untrustedLanguage() throws {
        let scratch = ScratchDirectory("language-bad")
        defer { scratch.remove() }
        for contents in ["fr\n", "\u{1B}[2Jzh", String(repeating: "z", count: 100)] {
            try contents.write(toFile: scratch.path + "/language", atomically: true, encoding: .utf8)
            let session = Self.session(scratch)
            var warnings: [String] = []
            session.warn = { warnings.append($0) }
            session.restoreLessonLanguage()
            #expect(session.lessonLanguage == .en)
            #expect(warnings.count == 1 && !(warnings.first ?? "").contains("\u{1B}"), "\(warnings)")
        }
        let session = Self.session(scratch)
        #expect(throws: NotebookError.lesson("lessons --lang fr: the lessons are in en or zh (zh: Simplified Chinese)")) {
            try session.execute("lessons --lang fr")
        }
        #expect(throws: NotebookError.self) { try session.execute("lessons --lang") }
        #expect(session.lessonLanguage == .en)
        #expect(session.completions(before: "lessons --lang ", word: "") == .words(["en", "zh"]))
        #expect(session.completions(before: "lessons ", word: "--") == .words(["--lang"]))
    }

    @Test("a teacher's directory with only some lessons translated: the others are followed in English, and say so")
    func partialTranslation() throws {
        let scratch = ScratchDirectory("language-partial")
        defer { scratch.remove() }
        let lessons = scratch.directory("lessons"), zh = scratch.directory("lessons/zh")
        let english = "# 1. First\n\nRead this.\n\n```attn\nsentence a b\n```\n"
        try english.write(toFile: lessons + "/01-first.md", atomically: true, encoding: .utf8)
        try english.replacingOccurrences(of: "First", with: "Second").write(toFile: lessons + "/02-second.md", atomically: true, encoding: .utf8)
        try "# 1. 第一课\n\n读这里。\n\n```attn\nsentence a b\n```\n".write(toFile: zh + "/01-first.md", atomically: true, encoding: .utf8)
        let session = Self.session(scratch, environment: ["LANG": "zh_CN.UTF-8"])
        let list = try session.execute("lessons \(lessons)")
        #expect(list.contains(" 1  第一课") && list.contains(" 2  Second") && list.contains("(in English)"), "\(list)")
        #expect(!list.contains("第一课  not started (in English)"))
        #expect(try session.execute("lesson 1").contains("读这里。"))
    }

    @Test("the built-in lessons carry the translations")
    func builtIn() throws {
        let builtIn = Lesson.builtIn(language: .zh)
        #expect(builtIn.problems.isEmpty)
        #expect(builtIn.lessons.map(\.title) == Self.chinese.map(\.title))
        #expect(Lesson.builtIn().lessons.map(\.title) == Self.english.map(\.title))
    }

    @Test("LANG=zh_CN.UTF-8 attn follows a Chinese lesson")
    func process() throws {
        let home = try AttnProcess.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let script = home + "/script"
        try "lessons\nlesson 5\n".write(toFile: script, atomically: true, encoding: .utf8)
        var environment = AttnProcess.environment(home: home, ["LANG": "zh_CN.UTF-8"])
        environment["ATTN_LESSONS"] = LessonGoldenTests.repository + "/Lessons"
        let run = try AttnProcess(["--no-color"], input: script, environment: environment)
        #expect(run.ending == .exited(0))
        let title = try #require(Self.chinese.first { $0.number == 5 }?.title)
        #expect(run.output.contains("5. " + title), "\(run.output)\(run.error)")
    }

    // MARK: Wrapping Chinese

    @Test("Chinese prose breaks between characters, never before closing or after opening punctuation, within the width")
    func wrapping() {
        let text = "注意力（attention）让每个词元“看”其他词元：分数越高，权重越大。在 layer 0 中，共有 8 个词元，每个注意力头都有自己的 Q、K、V 矩阵。"
        // The widest piece no line may cut, "（attention）让", takes 15 columns.
        for width in 15...60 {
            let lines = wrappedLines(text, width: width)
            for line in lines {
                #expect(MatrixRenderer.displayWidth(line) <= width, "\(width): \(line)")
                #expect(!closesPhrase(line.first ?? "a"), "\(width): starts with closing punctuation: \(line)")
                #expect(!opensPhrase(line.last ?? "a"), "\(width): ends with opening punctuation: \(line)")
            }
            // Nothing lost, added or moved but spaces.
            #expect(lines.joined().filter { $0 != " " } == text.filter { $0 != " " }, "\(width)")
            #expect(lines.count == 1 || lines.dropLast().allSatisfy { MatrixRenderer.displayWidth($0) > width - 15 }, "\(width): \(lines)")
        }
        // English still breaks at spaces only.
        #expect(wrappedLines("the cat sat on the mat", width: 10) == ["the cat", "sat on the", "mat"])
        #expect(wrappedLines("a 8 × 384 matrix", width: 6) == ["a", "8 × 384", "matrix"])
    }

    @Test("a paragraph's source lines join without a space between Chinese characters, with one elsewhere")
    func joining() {
        #expect(joinedParagraph(["注意力让每个", "词元看其他词元"]) == "注意力让每个词元看其他词元")
        #expect(joinedParagraph(["共有 8 个", "词元。"]) == "共有 8 个词元。")
        #expect(joinedParagraph(["the head", "attends"]) == "the head attends")
        #expect(joinedParagraph(["每个词元", "`[CLS]` 在前"]) == "每个词元 `[CLS]` 在前")
        #expect(joinedParagraph(["每个词元", "“看”其他词元"]) == "每个词元“看”其他词元")
        #expect(joinedParagraph(["“看”", "其他词元"]) == "“看”其他词元")
        #expect(joinedParagraph(["he said “yes”", "and left"]) == "he said “yes” and left")
        #expect(joinedParagraph(["末尾的 [SEP]（id 102）。", "BERT 训练时"]) == "末尾的 [SEP]（id 102）。BERT 训练时")
        #expect(joinedParagraph(["`token` + `##ization`", "（id 19204）"]) == "`token` + `##ization`（id 19204）")
        let rendered = ProseRenderer(width: 20).render("这是一个很长的段落，\n分成了两行源文本。")
        #expect(rendered == "这是一个很长的段落，\n分成了两行源文本。\n", "\(rendered)")
    }
}
