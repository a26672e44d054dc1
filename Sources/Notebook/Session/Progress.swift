/// How far a long command has come (`importance: 37 of 256 tokens…`), shown where it cannot end
/// up in the command's output or in a transcript.
///
/// On a terminal (an interactive session) it is one line on the session's own stream, rewritten in
/// place with `\r` at every step and blanked at the end. In a script it goes to `Session.progress`
/// (standard error, when the executable wires it), at most every `Session.progressInterval`.
/// After a second it adds an estimate of the time left, from the pace so far:
/// `importance: 37 of 256 tokens, about 41 s left…`.
struct ProgressLine {
    let session: Session
    /// What is being done and what is counted: `importance`, `tokens`.
    let command: String
    let unit: String
    let total: Int
    private let clock = ContinuousClock()
    private var last: ContinuousClock.Instant
    private let start: ContinuousClock.Instant
    /// The width of the line now on the terminal, to blank it.
    private var shownWidth = 0

    init(_ session: Session, command: String, unit: String, total: Int) {
        self.session = session
        self.command = command
        self.unit = unit
        self.total = total
        last = clock.now
        start = last
    }

    /// `about 41 s left` (`about 3 min left` beyond two minutes), from the time per unit so far;
    /// nil before a second has passed or anything is done.
    static func estimate(elapsed: Duration, done: Int, total: Int) -> String? {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        guard done > 0, done < total, seconds >= 1 else { return nil }
        let left = seconds / Double(done) * Double(total - done)
        return left >= 120 ? "about \(Int((left / 60).rounded())) min left" : "about \(max(1, Int(left.rounded()))) s left"
    }

    /// Reports that `done` of `total` are done.
    mutating func update(_ done: Int) {
        let left = Self.estimate(elapsed: clock.now - start, done: done, total: total).map { ", " + $0 } ?? ""
        let text = "\(command): \(done) of \(total) \(unit)\(left)…"
        if session.interactive, let terminal = session.terminalStream {
            let width = MatrixRenderer.displayWidth(text)
            terminal("\r" + text + String(repeating: " ", count: max(0, shownWidth - width)))
            shownWidth = max(shownWidth, width)
        } else if let progress = session.progress, clock.now - last >= session.progressInterval {
            progress(text)
            last = clock.now
        }
    }

    /// Blanks the line on the terminal, so that the output starts at the left margin.
    mutating func finish() {
        guard shownWidth > 0, let terminal = session.terminalStream else { return }
        terminal("\r" + String(repeating: " ", count: shownWidth) + "\r")
        shownWidth = 0
    }
}
