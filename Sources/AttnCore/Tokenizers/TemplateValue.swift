/// A value while rendering: what Jinja's Python objects are here.
enum TemplateValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case none
    case list([TemplateValue])
    case dictionary([String: TemplateValue])

    /// Python's truth: empty strings and lists, 0, False and None are false.
    var isTrue: Bool {
        switch self {
        case let .string(s): !s.isEmpty
        case let .int(n): n != 0
        case let .bool(b): b
        case .none: false
        case let .list(items): !items.isEmpty
        case let .dictionary(entries): !entries.isEmpty
        }
    }

    /// How `{{ }}` writes it.
    var text: String {
        switch self {
        case let .string(s): s
        case let .int(n): String(n)
        case let .bool(b): b ? "True" : "False"
        case .none: "None"
        case .list, .dictionary: "…"
        }
    }
}
