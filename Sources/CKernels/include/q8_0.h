// attn — small C kernels where Swift cannot ask for the CPU's vector instructions.
#ifndef ATTN_Q8_0_H
#define ATTN_Q8_0_H

#include <stddef.h>

/// out[r] = Σ_blocks d · Σᵢ qᵢ · x[i] for rows [first, last) of a Q8_0 matrix whose rows are
/// `blocks` blocks of 34 bytes (d: fp16 little-endian, then 32 int8 q), starting at `data`.
/// Uses AVX2 and FMA when the CPU has them, else portable C; the two add in different orders.
void attn_q8_0_rows_dot(const void *data, size_t blocks, const float *x, float *out, size_t first, size_t last);

/// The same with portable C only, whatever the CPU: for the tests, which compare both paths.
void attn_q8_0_rows_dot_portable(const void *data, size_t blocks, const float *x, float *out, size_t first, size_t last);

#endif
