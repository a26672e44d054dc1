import Foundation
import Synchronization

/// The machine's second core, for the forward pass's large matrix products.
///
/// attn runs on 2-core machines, and a 16-token sentence makes short, wide products: 16 rows
/// against a 384 × 1536 weight, too short for OpenBLAS's threads or a woken thread to pay off
/// (measured in Tests/Benchmarks/README.md, “The second core”).
///
/// So attn splits a product by output columns, each core reading half of the weight, and the
/// second half runs on one worker thread that spins between products, answering within a
/// microsecond. After a few milliseconds without work it sleeps until the next product, so an
/// idle notebook costs no CPU.
///
/// Every split is fixed (the same halves every time), so results do not depend on timing.
final class SecondCore: @unchecked Sendable {
    // @unchecked: `job` is written only by the caller that holds `inUse`, before `posted` is
    // released. Whoever claims the job (`claimed`, a compare-and-exchange) runs it; the worker
    // reads `job` only after it has claimed it, and the caller clears `job` only after the
    // worker's `finished`, or after running the job itself.

    /// The worker, or `nil` on a single-core machine (products then run whole, on one thread).
    static let shared: SecondCore? = ProcessInfo.processInfo.activeProcessorCount > 1 ? SecondCore() : nil

    /// How long the worker spins after a job before it sleeps.
    static let spinSeconds = 0.005

    private var job: ((Int) -> Void)?
    private let inUse = Atomic<Bool>(false)
    private let posted = Atomic<Int>(0)      // generation of the last job handed over
    private let claimed = Atomic<Int>(0)     // generation of the last job someone started
    private let finished = Atomic<Int>(0)    // generation of the last job the worker completed
    private let parked = Atomic<Bool>(false)
    private let wake = NSCondition()

    private init() {
        let thread = Thread { [unowned self] in self.work() }
        thread.name = "attn second core"
        thread.start()
    }

    /// Runs `body(0)` on this thread and `body(1)` on the second core, and returns when both are
    /// done. When the worker is taken (a call from another thread, or from inside `body`), both
    /// halves run here, one after the other. So do they when the worker has not started its half
    /// by the time this thread is done with its own: on a busy machine the worker may be waiting
    /// for a core, and then waiting for it would be slower than doing its half.
    func split(_ body: (Int) -> Void) {
        guard inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            body(0)
            body(1)
            return
        }
        defer { inUse.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            job = body
            let generation = posted.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
            if parked.load(ordering: .sequentiallyConsistent) {
                wake.lock()
                wake.signal()
                wake.unlock()
            }
            body(0)
            if claimed.compareExchange(expected: generation &- 1, desired: generation, ordering: .acquiringAndReleasing).exchanged {
                body(1)  // the worker had not started: take its half back
            } else {
                var spins = 0
                while finished.load(ordering: .acquiring) != generation { Self.pause(&spins) }
            }
            job = nil
        }
    }

    /// The worker's loop: spin until a job is posted or the spin time is up, then sleep.
    private func work() {
        // Signals (Ctrl-C above all) go to the main thread, whose reads they must interrupt.
        var signals = sigset_t()
        sigfillset(&signals)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        var seen = 0
        while true {
            let deadline = Self.now() + Self.spinSeconds
            var spins = 0
            while posted.load(ordering: .acquiring) == seen {
                Self.pause(&spins)
                guard spins % 1024 == 0, Self.now() > deadline else { continue }
                // Sleep. `parked` is set before `posted` is read again, and the caller reads
                // `parked` after advancing `posted` (both sequentially consistent), so one of the
                // two always sees the other: a job is never left waiting for a sleeping worker.
                wake.lock()
                parked.store(true, ordering: .sequentiallyConsistent)
                while posted.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                parked.store(false, ordering: .sequentiallyConsistent)
                wake.unlock()
            }
            seen = posted.load(ordering: .acquiring)
            if claimed.compareExchange(expected: seen &- 1, desired: seen, ordering: .acquiringAndReleasing).exchanged {
                job?(1)
                finished.store(seen, ordering: .releasing)
            }
        }
    }

    /// One turn of a spin-wait. After the first few thousand turns (some microseconds) each turn
    /// also offers the core to another thread: on a busy machine the thread being waited for may
    /// be waiting for this very core.
    private static func pause(_ spins: inout Int) {
        spins += 1
        if spins > 4096 { sched_yield() }
    }

    private static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}

/// Runs `body(0)` and `body(1)`: at the same time on two cores when the machine has a second one,
/// else one after the other. Callers cut their work into the same two halves either way, so
/// that results do not depend on the machine's core count.
func inTwoHalves(_ body: (Int) -> Void) {
    if let core = SecondCore.shared {
        core.split(body)
    } else {
        body(0)
        body(1)
    }
}

/// `(0..<count).map(transform)` on both cores: each takes the next index until none is left, so
/// that neither waits while the other has work (a layer's 9 heads, or its heads' blocks, do not
/// halve evenly). Which core computes an index changes nothing in its result. `transform` runs
/// on two threads at once: it must only read shared state.
func mapOnBothCores<T>(_ count: Int, _ transform: (Int) -> T) -> [T] {
    guard count > 1 else { return (0..<count).map(transform) }
    var results = [T?](repeating: nil, count: count)
    let next = Atomic<Int>(0)
    results.withUnsafeMutableBufferPointer { slots in
        guard let base = slots.baseAddress else { return }
        inTwoHalves { _ in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard i < count else { return }
                (base + i).pointee = transform(i)
            }
        }
    }
    return results.map { $0! }
}

/// `(a(), b())`, the two at once on two cores where the machine has them (else one after the
/// other): a model's weights and its tokenizer, which read different parts of one file. When both
/// throw, `a`'s error is the one thrown, as when they run in turn.
func bothAtOnce<A, B>(_ a: () throws -> A, _ b: () throws -> B) throws -> (A, B) {
    var first: Result<A, any Error>?, second: Result<B, any Error>?
    inTwoHalves { part in
        if part == 0 { first = Result { try a() } } else { second = Result { try b() } }
    }
    guard let first, let second else { preconditionFailure("inTwoHalves runs both halves") }
    return (try first.get(), try second.get())
}
