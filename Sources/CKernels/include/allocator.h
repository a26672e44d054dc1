// attn — the C library's allocator, set up for many passes of large matrices.
#ifndef ATTN_ALLOCATOR_H
#define ATTN_ALLOCATOR_H

#include <stddef.h>

/// Allocations of at least `mmap_threshold` bytes get their own mapping, returned to the system
/// when freed; smaller ones come from the heap, which gives back its free top only beyond
/// `trim_threshold` bytes. glibc's defaults (128 KB, rising to at most 32 MB as mapped blocks are
/// freed, and a top of twice that) hand a pass's matrices back to the system after it, and the
/// next pass faults the same memory in again, zeroed by the kernel. Does nothing on another C
/// library. Returns 1 when both were set.
int attn_keep_freed_memory(size_t mmap_threshold, size_t trim_threshold);

#endif
