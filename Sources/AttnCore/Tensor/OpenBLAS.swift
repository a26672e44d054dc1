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

/// The kernels OpenBLAS chose for this CPU, e.g. "Haswell" (AVX2) or "Cooperlake" (AVX-512),
/// or the ones `OPENBLAS_CORETYPE` asks for. `attn-bench` reports it next to its figures.
public var blasCoreName: String {
    openblas_get_corename().map { String(cString: $0) } ?? "unknown"
}
