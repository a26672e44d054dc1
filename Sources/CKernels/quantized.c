// Products of quantized weights with float32 activations, block by block as the GGUF file stores
// them (QuantizedMatrix.swift). Swift compiles for the baseline x86-64 (SSE2), where unpacking
// nibbles and widening int8 to float take many instructions; here the AVX2 path does 8 at once,
// chosen at run time.
//
// Both paths dequantize each weight exactly as Dequantization.swift does (a product, then for
// Q4_1 one rounded sum: no fused multiply-add there), then multiply-add it with the activations.
#include "quantized.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { BLOCK = 32 };

/// A kernel for rows [first, last) of W against a tile of x: (data, row bytes, blocks, x, k, out,
/// out stride, first, last). One for each block type, tile and vector width.
typedef void (*rows_function)(const uint8_t *, size_t, size_t, const float *, size_t, float *, size_t, size_t, size_t);

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
// AVX-512 (most servers since Skylake, AMD since Zen 4): 16 lanes, half the instructions to unpack
// a block, and 32 registers, so a decoding step's one row of x works on 8 rows of W at once. The
// lanes add in another order than AVX2's, so the two paths differ in the last bits; each keeps
// one order for every element.
#define AVX512 __attribute__((target("avx512f,fma,f16c")))

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

/// A block's 32 weights in two registers of 16 (elements 0–15, 16–31).
AVX512 static inline void block_avx512(attn_block_type type, const uint8_t *block, __m512 w[2]) {
    uint16_t bits;
    memcpy(&bits, block, 2);
    const __m512 d = _mm512_set1_ps(_cvtsh_ss(bits));
    if (type == ATTN_Q8_0) {
        for (int j = 0; j < 2; j++) {
            const __m128i q = _mm_loadu_si128((const __m128i *)(block + 2 + 16 * j));
            w[j] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d);
        }
    } else {
        memcpy(&bits, block + 2, 2);
        const __m512 m = _mm512_set1_ps(_cvtsh_ss(bits));
        const __m128i bytes = _mm_loadu_si128((const __m128i *)(block + 4));
        const __m128i nibble = _mm_set1_epi8(0x0F);
        const __m128i q[2] = {_mm_and_si128(bytes, nibble), _mm_and_si128(_mm_srli_epi16(bytes, 4), nibble)};
        for (int j = 0; j < 2; j++) {
            const __m512 qf = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(q[j]));
            w[j] = _mm512_add_ps(_mm512_mul_ps(qf, d), m);   // d · q, then + m, as dequantizing
        }
    }
}

/// The sum of a register's 16 lanes, always in the same order.
AVX512 static inline float lanes_sum_512(__m512 v) {
    __m256 half = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
    __m128 quarter = _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
    quarter = _mm_add_ps(quarter, _mm_movehl_ps(quarter, quarter));
    quarter = _mm_add_ss(quarter, _mm_shuffle_ps(quarter, quarter, 1));
    return _mm_cvtss_f32(quarter);
}

/// A tile: `rows_n` rows of W (a constant after inlining) against `n` rows of x (also a constant),
/// with rows_n · n ≤ 8 elements of out at once, in registers of LANES floats (AVX2's 8, AVX-512's
/// 16; UNPACK and SUM are the width's own). Each element's sum is a chain of dependent
/// multiply-adds (4 cycles each), so a tile keeps several chains in flight: the 8 rows of x of a
/// long sentence, or several rows of W for a decoding step's one row of x. Each block of W is
/// unpacked once per tile and used n times. Every element gets the same sequence of multiply-adds
/// whatever the tile, so its bits do not depend on how many rows of x there are. The loops are
/// unrolled whole, so that the accumulators live in registers.
#define DEFINE_TILE(NAME, TARGET, VEC, LANES, ZERO, FMADD, LOAD, UNPACK, SUM)                                 \
    TARGET static inline __attribute__((always_inline)) void NAME(                                            \
        attn_block_type type, const uint8_t *row, size_t row_bytes, size_t blocks, const float *x, size_t k,  \
        float *out, size_t out_stride, const int rows_n, const int n) {                                      \
        VEC acc[8];                                                                                          \
        _Pragma("clang loop unroll(full)") for (int e = 0; e < 8; e++) acc[e] = ZERO();                      \
        const size_t bytes = block_bytes(type);                                                              \
        for (size_t b = 0; b < blocks; b++) {                                                                \
            _Pragma("clang loop unroll(full)") for (int i = 0; i < rows_n; i++) {                            \
                VEC w[BLOCK / LANES];                                                                        \
                UNPACK(type, row + i * row_bytes + b * bytes, w);                                            \
                _Pragma("clang loop unroll(full)") for (int t = 0; t < n; t++) {                             \
                    const float *xb = x + t * k + b * BLOCK;                                                 \
                    _Pragma("clang loop unroll(full)") for (int j = 0; j < BLOCK / LANES; j++)               \
                        acc[i * n + t] = FMADD(w[j], LOAD(xb + LANES * j), acc[i * n + t]);                   \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
        _Pragma("clang loop unroll(full)") for (int i = 0; i < rows_n; i++) {                                \
            _Pragma("clang loop unroll(full)") for (int t = 0; t < n; t++)                                   \
                out[t * out_stride + i] = SUM(acc[i * n + t]);                                               \
        }                                                                                                    \
    }
DEFINE_TILE(tile_avx2, AVX2, __m256, 8, _mm256_setzero_ps, _mm256_fmadd_ps, _mm256_loadu_ps, block_avx2, lanes_sum)
DEFINE_TILE(tile_avx512, AVX512, __m512, 16, _mm512_setzero_ps, _mm512_fmadd_ps, _mm512_loadu_ps, block_avx512,
            lanes_sum_512)

/// Rows [first, last) of W against `N` rows of x, `R` rows of W at a time, then one at a time; one
/// function for each width, block type, R and N, so that each inner loop is straight-line code.
#define DEFINE_ROWS(PREFIX, TARGET, TILE, TYPE, R, N)                                                         \
    TARGET static void PREFIX##_##TYPE##_##R##_##N(const uint8_t *data, size_t row_bytes, size_t blocks,      \
                                                   const float *x, size_t k, float *out, size_t out_stride,  \
                                                   size_t first, size_t last) {                              \
        size_t r = first;                                                                                    \
        for (; r + R <= last; r += R)                                                                        \
            TILE(TYPE, data + r * row_bytes, row_bytes, blocks, x, k, out + r, out_stride, R, N);            \
        for (; r < last; r++)                                                                                \
            TILE(TYPE, data + r * row_bytes, row_bytes, blocks, x, k, out + r, out_stride, 1, N);            \
    }
/// The 8 functions of a width and block type, for 1 to 8 rows of x: R1…R4 rows of W at a time for
/// 1…4 rows of x (as many as the width's registers hold), one row of W for 5…8.
#define DEFINE_ROWS_OF_TYPE(PREFIX, TARGET, TILE, TYPE, R1, R2, R3, R4)                                       \
    DEFINE_ROWS(PREFIX, TARGET, TILE, TYPE, R1, 1) DEFINE_ROWS(PREFIX, TARGET, TILE, TYPE, R2, 2)             \
    DEFINE_ROWS(PREFIX, TARGET, TILE, TYPE, R3, 3) DEFINE_ROWS(PREFIX, TARGET, TILE, TYPE, R4, 4)             \
    DEFINE_ROWS(PREFIX, TARGET, TILE, TYPE, 1, 5) DEFINE_ROWS(PREFIX, TARGET, TILE, TYPE, 1, 6)               \
    DEFINE_ROWS(PREFIX, TARGET, TILE, TYPE, 1, 7) DEFINE_ROWS(PREFIX, TARGET, TILE, TYPE, 1, 8)
#define TABLE(PREFIX, TYPE, R1, R2, R3, R4)                                                                   \
    {PREFIX##_##TYPE##_##R1##_1, PREFIX##_##TYPE##_##R2##_2, PREFIX##_##TYPE##_##R3##_3,                      \
     PREFIX##_##TYPE##_##R4##_4, PREFIX##_##TYPE##_1_5, PREFIX##_##TYPE##_1_6, PREFIX##_##TYPE##_1_7,          \
     PREFIX##_##TYPE##_1_8}

// AVX2's 16 registers hold 4 accumulators and a block's 4 registers; AVX-512's 32 hold 8 and 2.
DEFINE_ROWS_OF_TYPE(rows_avx2, AVX2, tile_avx2, ATTN_Q8_0, 4, 2, 1, 1)
DEFINE_ROWS_OF_TYPE(rows_avx2, AVX2, tile_avx2, ATTN_Q4_1, 4, 2, 1, 1)
DEFINE_ROWS_OF_TYPE(rows_avx512, AVX512, tile_avx512, ATTN_Q8_0, 8, 4, 2, 2)
DEFINE_ROWS_OF_TYPE(rows_avx512, AVX512, tile_avx512, ATTN_Q4_1, 8, 4, 2, 2)
static const rows_function rows_avx2[2][8] = {TABLE(rows_avx2, ATTN_Q8_0, 4, 2, 1, 1), TABLE(rows_avx2, ATTN_Q4_1, 4, 2, 1, 1)};
static const rows_function rows_avx512[2][8] = {TABLE(rows_avx512, ATTN_Q8_0, 8, 4, 2, 2),
                                                TABLE(rows_avx512, ATTN_Q4_1, 8, 4, 2, 2)};
#endif

#if defined(__x86_64__)
/// Rows of x in tiles of 8, the last one shorter; each tile goes over W's rows [first, last)
/// with the function of its size from `table` (AVX2's or AVX-512's).
static void product_tiles(const rows_function table[2][8], attn_block_type type, const uint8_t *data, size_t blocks,
                          const float *x, size_t count, float *out, size_t out_stride, size_t first, size_t last) {
    const size_t k = blocks * BLOCK, row_bytes = blocks * block_bytes(type);
    for (size_t t0 = 0; t0 < count; t0 += 8) {
        const size_t n = count - t0 >= 8 ? 8 : count - t0;
        table[type == ATTN_Q8_0 ? 0 : 1][n - 1](data, row_bytes, blocks, x + t0 * k, k, out + t0 * out_stride,
                                                out_stride, first, last);
    }
}
#endif

/// The widest path this CPU runs: 2 for AVX-512, 1 for AVX2 with FMA and F16C, 0 for portable C.
static int widest_path(void) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) return 1;
#endif
    return 0;
}

/// The widest path (above) and the path products take: the widest, or a narrower one named by
/// ATTN_QUANTIZED_KERNEL (`portable` or `avx2`), so that Tests/portability.sh can run the lessons
/// the way a machine without AVX-512 or AVX2 computes them. Both are read once.
static int widest = 0, chosen_path = 0;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;
static void choose_path(void) {
    widest = chosen_path = widest_path();
    const char *asked = getenv("ATTN_QUANTIZED_KERNEL");
    if (asked && strcmp(asked, "portable") == 0) chosen_path = 0;
    if (asked && strcmp(asked, "avx2") == 0 && chosen_path > 1) chosen_path = 1;
}

int attn_quantized_product_path(int path, attn_block_type type, const void *data, size_t blocks, const float *x,
                                size_t count, float *out, size_t out_stride, size_t first, size_t last) {
    pthread_once(&chosen_once, choose_path);
    if (path > widest) return 0;
#if defined(__x86_64__)
    if (path == 2) { product_tiles(rows_avx512, type, data, blocks, x, count, out, out_stride, first, last); return 1; }
    if (path == 1) { product_tiles(rows_avx2, type, data, blocks, x, count, out, out_stride, first, last); return 1; }
#endif
    product_portable(type, data, blocks, x, count, out, out_stride, first, last);
    return 1;
}

void attn_quantized_product(attn_block_type type, const void *data, size_t blocks, const float *x, size_t count,
                            float *out, size_t out_stride, size_t first, size_t last) {
    pthread_once(&chosen_once, choose_path);
    attn_quantized_product_path(chosen_path, type, data, blocks, x, count, out, out_stride, first, last);
}
