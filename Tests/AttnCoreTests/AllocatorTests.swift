import AttnCore
import CKernels
import Testing

/// The allocator's settings that keep a pass's freed matrices for the next pass
/// (Tests/Benchmarks/README.md, “Freed matrices kept for the next pass”): the speed is measured
/// by the benchmarks, here only that glibc takes the settings and a threshold too large is refused.
@Suite("The allocator keeps freed matrices: glibc takes attn's thresholds")
struct AllocatorTests {
    @Test("the thresholds setUpMemory asks for are set; one beyond what mallopt can hold is refused")
    func thresholds() {
        #if canImport(Glibc)
        #expect(attn_keep_freed_memory(32 << 20, 256 << 20) == 1)
        #expect(attn_keep_freed_memory(1 << 40, 256 << 20) == 0)
        #expect(attn_keep_freed_memory(32 << 20, 1 << 40) == 0)
        setUpMemory()
        #endif
    }
}
