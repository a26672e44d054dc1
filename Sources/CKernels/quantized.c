// Products of quantized weights with float32 activations, block by block as the GGUF file stores
// them (QuantizedMatrix.swift). Swift compiles for the baseline x86-64 (SSE2), where unpacking
// nibbles and widening int8 to float take many instructions; here the AVX2 path does 8 at once,
// chosen at run time.
//
// Both paths dequantize each weight exactly as Dequantization.swift does (a product, then for
// Q4_1 one rounded sum: no fused multiply-add there), then multiply-add it with the activations.
#include "quantized.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { BLOCK = 32 };

static size_t block_bytes(attn_block_type type) { return type == ATTN_Q8_0 ? 34 : 20; }

static float half_to_float(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, sizeof bits);
    _Float16 f;
    memcpy(&f, &bits, sizeof f);
    return (float)f;
}

/// One block's 32 weights as float32, the same values Dequantization.swift gives.
static void dequantize_block(attn_block_type type, const uint8_t *block, float *w) {
    if (type == ATTN_Q8_0) {
        const float d = half_to_float(block);
        for (int i = 0; i < BLOCK; i++) w[i] = (float)(int8_t)block[2 + i] * d;
    } else {
        // Byte j holds element j in its low nibble and element j + 16 in its high one.
        const float d = half_to_float(block), m = half_to_float(block + 2);
        for (int j = 0; j < 16; j++) {
            const float low = (float)(block[4 + j] & 0x0F) * d, high = (float)(block[4 + j] >> 4) * d;
            w[j] = low + m;
            w[j + 16] = high + m;
        }
    }
}

static void product_portable(attn_block_type type, const uint8_t *data, size_t blocks, const float *x, size_t count,
                             float *out, size_t out_stride, size_t first, size_t last) {
    const size_t k = blocks * BLOCK, row_bytes = blocks * block_bytes(type);
    float w[BLOCK];
    for (size_t r = first; r < last; r++) {
        for (size_t t = 0; t < count; t++) out[t * out_stride + r] = 0;
        for (size_t b = 0; b < blocks; b++) {
            dequantize_block(type, data + r * row_bytes + b * block_bytes(type), w);
            for (size_t t = 0; t < count; t++) {
                const float *xb = x + t * k + b * BLOCK;
                float sum = 0;
                for (int i = 0; i < BLOCK; i++) sum += w[i] * xb[i];
                out[t * out_stride + r] += sum;
            }
        }
    }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma,f16c")))

/// A block's 32 weights in four registers of 8 (elements 0–7, 8–15, 16–23, 24–31).
AVX2 static inline void block_avx2(attn_block_type type, const uint8_t *block, __m256 w[4]) {
    uint16_t bits;
    memcpy(&bits, block, 2);
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(bits));
    if (type == ATTN_Q8_0) {
        for (int j = 0; j < 4; j++) {
            const __m128i q = _mm_loadl_epi64((const __m128i *)(block + 2 + 8 * j));
            w[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d);
        }
    } else {
        memcpy(&bits, block + 2, 2);
        const __m256 m = _mm256_set1_ps(_cvtsh_ss(bits));
        const __m128i bytes = _mm_loadu_si128((const __m128i *)(block + 4));
        const __m128i nibble = _mm_set1_epi8(0x0F);
        const __m128i low = _mm_and_si128(bytes, nibble), high = _mm_and_si128(_mm_srli_epi16(bytes, 4), nibble);
        const __m128i q[4] = {low, _mm_srli_si128(low, 8), high, _mm_srli_si128(high, 8)};
        for (int j = 0; j < 4; j++) {
            const __m256 qf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q[j]));
            w[j] = _mm256_add_ps(_mm256_mul_ps(qf, d), m);   // d · q, then + m: two roundings, as dequantizing
        }
    }
}

/// The sum of a register's 8 lanes, always in the same order.
AVX2 static inline float lanes_sum(__m256 v) {
    __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    half = _mm_add_ps(half, _mm_movehl_ps(half, half));
    half = _mm_add_ss(half, _mm_shuffle_ps(half, half, 1));
    return _mm_cvtss_f32(half);
}

/// `rows_n` rows of W (a constant after inlining) against `n` rows of x (also a constant), with
/// rows_n · n ≤ 8 elements of out at once. Each element's sum is a chain of dependent multiply-adds
/// (4 per block, 4 cycles each), so a tile keeps several chains in flight: the 8 rows of x of a
/// long sentence, or the 8 rows of W of a decoding step's one row of x. Each block of W is
/// unpacked once per tile and used n times. Every element gets the same sequence of multiply-adds
/// whatever the tile, so its bits do not depend on how many rows of x there are.
AVX2 static inline __attribute__((always_inline)) void tile_avx2(attn_block_type type, const uint8_t *row, size_t row_bytes,
                                                                 size_t blocks, const float *x, size_t k, float *out,
                                                                 size_t out_stride, const int rows_n, const int n) {
    // Unrolled whole, so that the accumulators live in registers.
    __m256 acc[8];
#pragma clang loop unroll(full)
    for (int e = 0; e < 8; e++) acc[e] = _mm256_setzero_ps();
    const size_t bytes = block_bytes(type);
    for (size_t b = 0; b < blocks; b++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < rows_n; i++) {
            __m256 w[4];
            block_avx2(type, row + i * row_bytes + b * bytes, w);
#pragma clang loop unroll(full)
            for (int t = 0; t < n; t++) {
                const float *xb = x + t * k + b * BLOCK;
#pragma clang loop unroll(full)
                for (int j = 0; j < 4; j++) acc[i * n + t] = _mm256_fmadd_ps(w[j], _mm256_loadu_ps(xb + 8 * j), acc[i * n + t]);
            }
        }
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < rows_n; i++) {
#pragma clang loop unroll(full)
        for (int t = 0; t < n; t++) out[t * out_stride + i] = lanes_sum(acc[i * n + t]);
    }
}

/// Rows [first, last) of W against `N` rows of x, `R` rows of W at a time, then one at a time; one
/// function for each block type, R and N, so that each inner loop is straight-line code.
#define ROWS(TYPE, R, N)                                                                                      \
    AVX2 static void rows_##TYPE##_##R##_##N(const uint8_t *data, size_t row_bytes, size_t blocks, const float *x, \
                                             size_t k, float *out, size_t out_stride, size_t first, size_t last) { \
        size_t r = first;                                                                                        \
        for (; r + R <= last; r += R)                                                                            \
            tile_avx2(TYPE, data + r * row_bytes, row_bytes, blocks, x, k, out + r, out_stride, R, N);           \
        for (; r < last; r++)                                                                                    \
            tile_avx2(TYPE, data + r * row_bytes, row_bytes, blocks, x, k, out + r, out_stride, 1, N);           \
    }
#define ROWS_OF_TYPE(TYPE) \
    ROWS(TYPE, 4, 1) ROWS(TYPE, 2, 2) ROWS(TYPE, 1, 3) ROWS(TYPE, 1, 4) ROWS(TYPE, 1, 5) ROWS(TYPE, 1, 6) ROWS(TYPE, 1, 7) ROWS(TYPE, 1, 8)
ROWS_OF_TYPE(ATTN_Q8_0)
ROWS_OF_TYPE(ATTN_Q4_1)

/// The function for `n` rows of x (1 to 8) of a block type.
typedef void (*rows_function)(const uint8_t *, size_t, size_t, const float *, size_t, float *, size_t, size_t, size_t);
#define TABLE(TYPE)                                                                                    \
    {rows_##TYPE##_4_1, rows_##TYPE##_2_2, rows_##TYPE##_1_3, rows_##TYPE##_1_4, rows_##TYPE##_1_5, \
     rows_##TYPE##_1_6, rows_##TYPE##_1_7, rows_##TYPE##_1_8}
static const rows_function rows_avx2[2][8] = {TABLE(ATTN_Q8_0), TABLE(ATTN_Q4_1)};

AVX2 static void product_avx2(attn_block_type type, const uint8_t *data, size_t blocks, const float *x, size_t count,
                              float *out, size_t out_stride, size_t first, size_t last) {
    const size_t k = blocks * BLOCK, row_bytes = blocks * block_bytes(type);
    // Rows of x in tiles of 8, the last one shorter; each tile goes over W's rows [first, last).
    for (size_t t0 = 0; t0 < count; t0 += 8) {
        const size_t n = count - t0 >= 8 ? 8 : count - t0;
        rows_avx2[type == ATTN_Q8_0 ? 0 : 1][n - 1](data, row_bytes, blocks, x + t0 * k, k, out + t0 * out_stride,
                                                   out_stride, first, last);
    }
}
#endif

void attn_quantized_product(attn_block_type type, const void *data, size_t blocks, const float *x, size_t count,
                            float *out, size_t out_stride, size_t first, size_t last) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
        product_avx2(type, data, blocks, x, count, out, out_stride, first, last);
        return;
    }
#endif
    product_portable(type, data, blocks, x, count, out, out_stride, first, last);
}

void attn_quantized_product_portable(attn_block_type type, const void *data, size_t blocks, const float *x,
                                     size_t count, float *out, size_t out_stride, size_t first, size_t last) {
    product_portable(type, data, blocks, x, count, out, out_stride, first, last);
}
