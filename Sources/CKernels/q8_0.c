// The product of a Q8_0 matrix with one vector, for a decoding step's logits (Q8Matrix.swift).
// Swift compiles for the baseline x86-64 (SSE2), where widening int8 to float takes many
// instructions; here the AVX2 path converts 8 at once, chosen at run time.
#include "q8_0.h"
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static float half_to_float(uint16_t h) {
    _Float16 f;
    memcpy(&f, &h, sizeof f);
    return (float)f;
}

static void rows_portable(const uint8_t *data, size_t blocks, const float *x, float *out, size_t first, size_t last) {
    for (size_t r = first; r < last; r++) {
        const uint8_t *block = data + r * blocks * 34;
        float total = 0;
        for (size_t b = 0; b < blocks; b++, block += 34) {
            uint16_t bits;
            memcpy(&bits, block, 2);
            const int8_t *q = (const int8_t *)(block + 2);
            const float *xb = x + b * 32;
            float sum = 0;
            for (int i = 0; i < 32; i++) sum += (float)q[i] * xb[i];
            total += half_to_float(bits) * sum;
        }
        out[r] = total;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma,f16c")))
static void rows_avx2(const uint8_t *data, size_t blocks, const float *x, float *out, size_t first, size_t last) {
    for (size_t r = first; r < last; r++) {
        const uint8_t *block = data + r * blocks * 34;
        __m256 total = _mm256_setzero_ps();
        for (size_t b = 0; b < blocks; b++, block += 34) {
            uint16_t bits;
            memcpy(&bits, block, 2);
            const __m256 d = _mm256_set1_ps(_cvtsh_ss(bits));
            const float *xb = x + b * 32;
            __m256 sum = _mm256_setzero_ps();
            for (int i = 0; i < 32; i += 8) {
                __m128i q8 = _mm_loadl_epi64((const __m128i *)(block + 2 + i));
                __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8));
                sum = _mm256_fmadd_ps(q, _mm256_loadu_ps(xb + i), sum);
            }
            total = _mm256_fmadd_ps(d, sum, total);
        }
        __m128 half = _mm_add_ps(_mm256_castps256_ps128(total), _mm256_extractf128_ps(total, 1));
        half = _mm_add_ps(half, _mm_movehl_ps(half, half));
        half = _mm_add_ss(half, _mm_shuffle_ps(half, half, 1));
        out[r] = _mm_cvtss_f32(half);
    }
}
#endif

void attn_q8_0_rows_dot(const void *data, size_t blocks, const float *x, float *out, size_t first, size_t last) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
        rows_avx2(data, blocks, x, out, first, last);
        return;
    }
#endif
    rows_portable(data, blocks, x, out, first, last);
}

void attn_q8_0_rows_dot_portable(const void *data, size_t blocks, const float *x, float *out, size_t first, size_t last) {
    rows_portable(data, blocks, x, out, first, last);
}
