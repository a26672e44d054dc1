import Foundation
import COpenBLAS

/// OpenBLAS's threads, set once before the first product.
///
/// OpenBLAS gets one thread. For these sizes (a sentence of 16–128 tokens against 384 × 1536
/// weights) its second thread split a product by rows, so that both threads packed the whole
/// weight: the 16-token MiniLM forward pass took 35 ms with two threads and 14 ms with one.
/// attn uses the second core itself, splitting by columns (see `SecondCore`).
/// `OPENBLAS_NUM_THREADS` still overrides this.
let blasSetUp: Void = {
    if ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil { openblas_set_num_threads(1) }
}()

/// The kernels OpenBLAS chose for this CPU, e.g. "Haswell" (AVX2) or "Cooperlake" (AVX-512),
/// or the ones `OPENBLAS_CORETYPE` asks for. `attn-bench` reports it next to its figures.
public var blasCoreName: String {
    openblas_get_corename().map { String(cString: $0) } ?? "unknown"
}
