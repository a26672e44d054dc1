import Foundation
import COpenBLAS

/// OpenBLAS's threads, set once before the first product.
///
/// OpenBLAS gets one thread: for a sentence against MiniLM's weights its second thread split a
/// product by rows, so that both threads packed the whole weight (Tests/Benchmarks/README.md).
/// attn uses the second core itself, splitting by columns (see `SecondCore`).
/// `OPENBLAS_NUM_THREADS` still overrides this.
///
/// OpenBLAS starts its threads when it loads, before attn can ask for one, and an idle one spins
/// through a learner's first command, slowing it (Tests/Benchmarks/README.md). So attn also stops
/// OpenBLAS's threads (`blas_thread_shutdown_`, which OpenBLAS itself calls before a `fork`; it
/// starts them again if more threads are asked for later).
let blasSetUp: Void = {
    guard ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil else { return }
    openblas_set_num_threads(1)
    // Looked up rather than linked: it is not part of OpenBLAS's public header.
    typealias Function = @convention(c) () -> Int32
    if let library = dlopen(nil, RTLD_NOW), let shutdown = dlsym(library, "blas_thread_shutdown_") {
        _ = unsafeBitCast(shutdown, to: Function.self)()
    }
}()

/// Sets OpenBLAS up (`blasSetUp`) now rather than at the first product: call it first thing in
/// `main`, after ``startAgainWithBetterBLASKernels()``. OpenBLAS starts its thread when it loads,
/// and that thread spins (`sched_yield`) for about 0.1 s waiting for work, taking one of the two
/// cores through the whole load of a model: 22% of MiniLM's first job's samples, before it was
/// stopped here (Tests/Benchmarks/README.md).
public func setUpBLAS() {
    _ = blasSetUp
}

/// The kernels OpenBLAS chose for this CPU, e.g. "Haswell" (AVX2) or "Cooperlake" (AVX-512),
/// or the ones `OPENBLAS_CORETYPE` asks for. `attn-bench` reports it next to its figures.
public var blasCoreName: String {
    openblas_get_corename().map { String(cString: $0) } ?? "unknown"
}

/// The kernels attn asks OpenBLAS for when OpenBLAS does not know the CPU, or nil to keep its choice.
///
/// OpenBLAS picks its kernels by the CPU's model number. One it does not know, such as a new Xeon
/// under a hypervisor that calls itself "Intel(R) Xeon(R) Processor", Debian's OpenBLAS 0.3.21
/// takes for a Pentium 4 and runs its SSE3 kernels, `Prescott`: a 1000-token SmolLM2 trace took
/// 15.7 s there against 8.2 s with the AVX-512 kernels the CPU has. The choice is made once,
/// before the first product, from the CPU's own feature flags (`/proc/cpuinfo`), and only to replace
/// such a fallback; `OPENBLAS_CORETYPE`, when set, is always obeyed.
/// - Parameters:
///   - current: the kernels OpenBLAS chose (``blasCoreName``).
///   - flags: the CPU's feature flags; `vendor` its vendor id (`GenuineIntel`, `AuthenticAMD`).
public func betterBLASKernels(current: String, flags: Set<String>, vendor: String,
                              environment: [String: String]) -> String? {
    guard (environment["OPENBLAS_CORETYPE"] ?? "").isEmpty else { return nil }
    // OpenBLAS's kernels for CPUs before AVX: what it falls back to for a model it does not know.
    let fallbacks: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine",
                                  "northwood", "banias", "unknown"]
    guard fallbacks.contains(current.lowercased()) else { return nil }
    if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"]) && vendor == "GenuineIntel" { return "SkylakeX" }
    if flags.isSuperset(of: ["avx2", "fma"]) { return vendor == "AuthenticAMD" ? "Zen" : "Haswell" }
    if flags.contains("avx") { return "Sandybridge" }
    return nil
}

/// The feature flags and vendor of the first CPU in `/proc/cpuinfo` (empty where there is none).
public func cpuFeatures(cpuinfo path: String = "/proc/cpuinfo") -> (flags: Set<String>, vendor: String) {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return ([], "") }
    var flags = Set<String>(), vendor = ""
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2 else { continue }
        if parts[0] == "flags" && flags.isEmpty { flags = Set(parts[1].split(separator: " ").map(String.init)) }
        if parts[0] == "vendor_id" && vendor.isEmpty { vendor = parts[1] }
        if !flags.isEmpty && !vendor.isEmpty { break }
    }
    return (flags, vendor)
}

/// The kernels OpenBLAS chose itself before attn started again with better ones (the variable
/// ``startAgainWithBetterBLASKernels()`` sets), for `attn --version`.
public let blasFallbackVariable = "ATTN_OPENBLAS_FALLBACK"

/// Starts the process again with the kernels its CPU has, when OpenBLAS took the CPU for an old
/// one (``betterBLASKernels(current:flags:vendor:environment:)``). OpenBLAS reads
/// `OPENBLAS_CORETYPE` only when it loads, so the choice needs a fresh start: call this first
/// thing in `main`, before reading or writing anything. Returns (doing nothing) when OpenBLAS's
/// choice stands or the new start fails.
public func startAgainWithBetterBLASKernels() {
    let (flags, vendor) = cpuFeatures()
    let current = blasCoreName
    guard let kernels = betterBLASKernels(current: current, flags: flags, vendor: vendor,
                                          environment: ProcessInfo.processInfo.environment) else { return }
    setenv("OPENBLAS_CORETYPE", kernels, 1)
    setenv(blasFallbackVariable, current, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    // Still here: the new start failed; go on with OpenBLAS's own kernels.
    unsetenv("OPENBLAS_CORETYPE")
    unsetenv(blasFallbackVariable)
}
