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

/// Row r of W against `n` (≤ 8, a constant after inlining) rows of x: each block is unpacked once
/// and used n times. Every element gets the same sequence of multiply-adds whatever n is.
AVX2 static inline __attribute__((always_inline)) void tile_avx2(attn_block_type type, const uint8_t *row, size_t blocks,
                                                                 const float *x, size_t k, float *out, size_t out_stride,
                                                                 const int n) {
    __m256 acc[8];
    for (int t = 0; t < n; t++) acc[t] = _mm256_setzero_ps();
    const size_t bytes = block_bytes(type);
    for (size_t b = 0; b < blocks; b++) {
        __m256 w[4];
        block_avx2(type, row + b * bytes, w);
        for (int t = 0; t < n; t++) {
            const float *xb = x + t * k + b * BLOCK;
            for (int j = 0; j < 4; j++) acc[t] = _mm256_fmadd_ps(w[j], _mm256_loadu_ps(xb + 8 * j), acc[t]);
        }
    }
    for (int t = 0; t < n; t++) out[t * out_stride] = lanes_sum(acc[t]);
}

AVX2 static void product_avx2(attn_block_type type, const uint8_t *data, size_t blocks, const float *x, size_t count,
                              float *out, size_t out_stride, size_t first, size_t last) {
    const size_t k = blocks * BLOCK, row_bytes = blocks * block_bytes(type);
    for (size_t r = first; r < last; r++) {
        const uint8_t *row = data + r * row_bytes;
        for (size_t t0 = 0; t0 < count; t0 += 8) {
            const float *xt = x + t0 * k;
            float *o = out + t0 * out_stride + r;
            switch (count - t0 >= 8 ? 8 : count - t0) {
            case 8: tile_avx2(type, row, blocks, xt, k, o, out_stride, 8); break;
            case 7: tile_avx2(type, row, blocks, xt, k, o, out_stride, 7); break;
            case 6: tile_avx2(type, row, blocks, xt, k, o, out_stride, 6); break;
            case 5: tile_avx2(type, row, blocks, xt, k, o, out_stride, 5); break;
            case 4: tile_avx2(type, row, blocks, xt, k, o, out_stride, 4); break;
            case 3: tile_avx2(type, row, blocks, xt, k, o, out_stride, 3); break;
            case 2: tile_avx2(type, row, blocks, xt, k, o, out_stride, 2); break;
            default: tile_avx2(type, row, blocks, xt, k, o, out_stride, 1); break;
            }
        }
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
