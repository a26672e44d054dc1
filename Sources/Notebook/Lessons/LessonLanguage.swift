import AttnCore
import Foundation

/// The languages the lessons are written in. English lessons are the directory's own files
/// (`Lessons/05-why-scale.md`); a translation is the same file name in a subdirectory named by the
/// language's code (`Lessons/zh/05-why-scale.md`), with the same blocks and exercises: only the
/// prose and the hints differ, so progress and positions carry over from one language to the other.
/// A lesson not (yet) translated is followed in English.
public enum LessonLanguage: String, CaseIterable, Sendable {
    case en, zh

    /// How `lessons` names it.
    public var name: String {
        switch self {
        case .en: "English"
        case .zh: "Simplified Chinese (简体中文)"
        }
    }

    /// The subdirectory of a lessons directory that holds this language's lessons (nil: the
    /// directory itself).
    public var subdirectory: String? { self == .en ? nil : rawValue }

    /// The language the locale asks for: the first of `LC_ALL`, `LC_MESSAGES` and `LANG` that is
    /// set (POSIX's order) decides; `zh_CN.UTF-8`, `zh_TW`, `zh` → Chinese, anything else English.
    public init(environment: [String: String]) {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        self = locale.lowercased().hasPrefix("zh") ? .zh : .en
    }

    /// `zh`, `en`, or a locale such as `zh_CN.UTF-8`; nil for anything else.
    public init?(argument: String) {
        let code = argument.lowercased().prefix { $0.isLetter }
        guard let language = LessonLanguage(rawValue: String(code)) else { return nil }
        self = language
    }

    /// The codes `lessons --lang` takes, for messages: `en or zh`.
    static var choices: String { allCases.map(\.rawValue).joined(separator: " or ") }

    /// The lessons in `language`: `english` with each one that has a translation among `translated`
    /// (the same file name) replaced by it.
    static func merge(english: [Lesson], translated: [Lesson]) -> [Lesson] {
        let byName = Dictionary(translated.map { ($0.name, $0) }) { first, _ in first }
        return english.map { byName[$0.name] ?? $0 }
    }
}

extension Session {
    /// The most bytes of the remembered language read: it is one word.
    static let languageLimit = 64

    /// The language `lessons --lang` chose and remembered at `languagePath`, if any.
    ///
    /// The file is untrusted: anything but a known code is warned about once and ignored.
    func rememberedLanguage() -> LessonLanguage? {
        guard let languagePath else { return nil }
        do {
            guard let contents = try StateFile.read(languagePath, limit: Self.languageLimit) else { return nil }
            let word = String(decoding: contents.data, as: UTF8.self).trimmingWhitespace()
            guard let language = LessonLanguage(rawValue: word) else {
                warnOnce(about: languagePath, "\(languagePath) does not name a lesson language (\(LessonLanguage.choices)): it is ignored, and lessons --lang replaces it")
                return nil
            }
            return language
        } catch {
            warnOnce(about: languagePath, "\(error); the lesson language is not remembered")
            return nil
        }
    }

    /// Follows the language `lessons --lang` remembered at `languagePath`, if it did: a choice
    /// made in the notebook outweighs the locale.
    public func restoreLessonLanguage() {
        if let remembered = rememberedLanguage() { lessonLanguage = remembered }
    }

    /// `lessons --lang CODE`: follows the lessons in `language` from now on, and remembers it.
    /// A lesson being followed goes on in the new language at the same step (the blocks of a
    /// translation are the original's).
    func useLanguage(_ language: LessonLanguage) {
        // A lesson of the list (not a file of one's own, lesson PATH.md) follows the language.
        let listed = activeLesson.flatMap { active in (try? allLessons())?.contains { $0.path == active.lesson.path } } ?? false
        lessonLanguage = language
        if let languagePath {
            do {
                try StateFile.write(Data((language.rawValue + "\n").utf8), to: languagePath)
            } catch {
                warnOnce(about: languagePath, "\(error); the lesson language is not remembered")
            }
        }
        guard listed, let active = activeLesson,
              let same = try? allLessons().first(where: { $0.name == active.lesson.name }),
              same.blocks.count == active.lesson.blocks.count else { return }
        activeLesson?.lesson = same
    }
}
