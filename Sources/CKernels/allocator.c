// The allocator's settings (allocator.h): mallopt is glibc's, declared in <malloc.h>, which the
// Swift Glibc module does not import.
#include "allocator.h"
#include <limits.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int attn_keep_freed_memory(size_t mmap_threshold, size_t trim_threshold) {
#if defined(__GLIBC__)
    if (mmap_threshold > INT_MAX || trim_threshold > INT_MAX) return 0;
    // Setting either turns off glibc's own adjustment of both.
    return mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold) == 1 && mallopt(M_TRIM_THRESHOLD, (int)trim_threshold) == 1;
#else
    (void)mmap_threshold;
    (void)trim_threshold;
    return 0;
#endif
}
