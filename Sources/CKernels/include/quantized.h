// attn — small C kernels where Swift cannot ask for the CPU's vector instructions.
#ifndef ATTN_QUANTIZED_H
#define ATTN_QUANTIZED_H

#include <stddef.h>

/// The block types whose products run on the blocks as the GGUF file stores them. The kernels read
/// a row in chunks of 32 weights: a block of 32, or one eighth of a K-quant's super-block of 256.
typedef enum {
    ATTN_Q8_0 = 0,   ///< 34 bytes: d (fp16), 32 int8 q.                          wᵢ = d · qᵢ
    ATTN_Q4_1 = 1,   ///< 20 bytes: d, m (fp16), 16 bytes of nibbles.             wᵢ = d · qᵢ + m
    ATTN_Q5_0 = 2,   ///< 22 bytes: d (fp16), 32 fifth bits, 16 bytes of nibbles. wᵢ = d · (qᵢ − 16)
    ATTN_Q4_K = 3,   ///< 144 bytes for 256: d, dmin, 8 six-bit scales and mins, nibbles.
                     ///<                                     wᵢ = (d · scale_g) · qᵢ − dmin · min_g
    ATTN_Q6_K = 4,   ///< 210 bytes for 256: 6-bit q, 16 int8 scales, d.   wᵢ = (d · scale_g) · (qᵢ − 32)
} attn_block_type;

/// `x · Wᵀ` for rows [first, last) of a quantized W of `columns` columns (a whole number of blocks):
///
///     out[t · out_stride + r] = Σ_c W[r, c] · x[t · columns + c]      t < count, first ≤ r < last
///
/// Each weight is first dequantized to the very float32 that dequantizing the whole tensor gives
/// (Dequantization.swift, as ggml and gguf-py compute it); only the order of the sums differs from
/// a float32 product. That order is fixed per element of `out`: a row of x gets the same bits alone
/// (a decoding step) as among many (a sentence), whichever rows the caller hands to which core.
/// AVX-512 or AVX2 with FMA are used when the CPU has them, else portable C; each adds in its own
/// order.
void attn_quantized_product(attn_block_type type, const void *data, size_t columns, const float *x, size_t count,
                            float *out, size_t out_stride, size_t first, size_t last);

/// The same through one path, for the tests, which compare every path the CPU has: 0 portable C,
/// 1 AVX2 with FMA, 2 AVX-512. Returns 0, computing nothing, when the CPU lacks that path.
int attn_quantized_product_path(int path, attn_block_type type, const void *data, size_t columns, const float *x,
                                size_t count, float *out, size_t out_stride, size_t first, size_t last);

#endif
