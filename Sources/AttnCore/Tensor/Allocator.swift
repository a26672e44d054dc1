import CKernels

/// Keeps the memory of freed matrices in the process for the next ones: call it first thing in
/// `main`. A many-pass tool (`importance`, `lime`, `patch`) frees a pass's matrices and makes the
/// same ones again; with glibc's defaults, the heap handed them back to the system after each
/// pass and the kernel faulted them in again, zeroed, for the next: 22% of `importance` on 120
/// MiniLM words (5.7 → 4.5 s), 8% of a 2047-word SmolLM2 trace (Tests/Benchmarks/README.md,
/// “Freed matrices kept for the next pass”).
///
/// ```
/// blocks ≥ 32 MB        their own mapping, returned when freed (a long text's T × vocabulary logits)
/// smaller               the heap, whose free top is kept up to 256 MB
/// ```
/// The peak is unchanged; an idle notebook may keep up to 256 MB it no longer uses after a long text.
public func setUpMemory() {
    _ = attn_keep_freed_memory(32 << 20, 256 << 20)
}
