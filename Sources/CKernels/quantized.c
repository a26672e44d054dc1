// Products of quantized weights with float32 activations, block by block as the GGUF file stores
// them (QuantizedMatrix.swift). Swift compiles for the baseline x86-64 (SSE2), where unpacking
// nibbles and widening int8 to float take many instructions; here the AVX2 path does 8 at once and
// the AVX-512 path 16, chosen at run time.
//
// Every path dequantizes each weight exactly as Dequantization.swift does (products that are exact
// in float, then for Q4_1 and Q4_K one rounded sum: no fused multiply-add there), then
// multiply-adds it with the activations.
#include "quantized.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// The kernels walk a row in chunks of 32 weights: a whole block of the 32-element types, or one of
/// the 8 groups of 32 of a K-quant's super-block of 256 (Q6_K's scales cover 16: two per chunk).
enum { CHUNK = 32 };

/// A kernel for rows [first, last) of W against a tile of x: (data, row bytes, chunks, x, k, out,
/// out stride, first, last). One for each block type, tile and vector width.
typedef void (*rows_function)(const uint8_t *, size_t, size_t, const float *, size_t, float *, size_t, size_t, size_t);

/// Bytes of one block.
static inline size_t block_bytes(attn_block_type type) {
    switch (type) {
    case ATTN_Q8_0: return 34;
    case ATTN_Q4_1: return 20;
    case ATTN_Q5_0: return 22;
    case ATTN_Q4_K: return 144;
    case ATTN_Q6_K: return 210;
    }
    return 0;
}

/// Chunks of 32 in one block: 8 for the K-quants' super-blocks of 256, else 1.
static inline size_t block_chunks(attn_block_type type) { return type == ATTN_Q4_K || type == ATTN_Q6_K ? 8 : 1; }

static inline float half_to_float(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, sizeof bits);
    _Float16 f;
    memcpy(&f, &bits, sizeof f);
    return (float)f;
}

/// The little-endian 32-bit word at p: Q5_0's fifth bits, bit i for element i.
static inline uint32_t word_le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/// Q4_K's group g factors, d · scale_g and dmin · min_g, each rounded to float (exact: 11 bits
/// times 6), from the 12 bytes of six-bit scales and minimums at byte 4 (ggml's get_scale_min_k4):
///
///     bytes 0…3:  scale_{0…3} in bits 0–5,   the top 2 bits of scale_{4…7} in bits 6–7
///     bytes 4…7:  min_{0…3} in bits 0–5,     the top 2 bits of min_{4…7} in bits 6–7
///     bytes 8…11: the low 4 bits of scale_{4…7} (low nibble) and of min_{4…7} (high nibble)
static inline void q4_k_factors(const uint8_t *block, int g, float *scale, float *minimum) {
    const uint8_t *p = block + 4;
    uint8_t s, m;
    if (g < 4) {
        s = p[g] & 0x3F;
        m = p[g + 4] & 0x3F;
    } else {
        s = (uint8_t)((p[g + 4] & 0x0F) | (p[g - 4] >> 6) << 4);
        m = (uint8_t)((p[g + 4] >> 4) | (p[g] >> 6) << 4);
    }
    *scale = half_to_float(block) * (float)s;
    *minimum = half_to_float(block + 2) * (float)m;
}

/// Q6_K's chunk `sub` (0…7) of its super-block: where its 4 low bits and 2 high bits lie, and by
/// how much each is shifted. Element e of the 256: half h = e / 128, and within the half e′,
///
///     low nibble:  byte 64h + e′ % 64 of ql, the high nibble when e′ ≥ 64
///     high bits:   byte 128 + 32h + e′ % 32, bits 2·(e′ / 32) and up
typedef struct {
    const uint8_t *low, *high;
    int low_shift, high_shift;
} q6_k_chunk;

static inline q6_k_chunk q6_k_place(const uint8_t *block, int sub) {
    const int h = sub / 4, r = sub % 4;
    return (q6_k_chunk){block + 64 * h + 32 * (r & 1), block + 128 + 32 * h, r >= 2 ? 4 : 0, 2 * r};
}

/// Q6_K's factor for the group of 16 holding element 16·g: d · scale_g, rounded to float (exact).
static inline float q6_k_factor(const uint8_t *block, int g) {
    return half_to_float(block + 208) * (float)(int8_t)block[192 + g];
}

/// Chunk `sub` of a block: its 32 weights as float32, the same values Dequantization.swift gives.
static void dequantize_chunk(attn_block_type type, const uint8_t *block, int sub, float *w) {
    switch (type) {
    case ATTN_Q8_0: {
        const float d = half_to_float(block);
        for (int i = 0; i < CHUNK; i++) w[i] = (float)(int8_t)block[2 + i] * d;
        break;
    }
    case ATTN_Q4_1: {
        // Byte j holds element j in its low nibble and element j + 16 in its high one.
        const float d = half_to_float(block), m = half_to_float(block + 2);
        for (int j = 0; j < 16; j++) {
            const float low = (float)(block[4 + j] & 0x0F) * d, high = (float)(block[4 + j] >> 4) * d;
            w[j] = low + m;
            w[j + 16] = high + m;
        }
        break;
    }
    case ATTN_Q5_0: {
        // As Q4_1's nibbles, with bit i of the word at byte 2 as element i's fifth bit.
        const float d = half_to_float(block);
        const uint32_t fifth = word_le(block + 2);
        for (int j = 0; j < 16; j++) {
            const int low = (block[6 + j] & 0x0F) | (int)((fifth >> j) & 1) << 4;
            const int high = (block[6 + j] >> 4) | (int)((fifth >> (j + 16)) & 1) << 4;
            w[j] = (float)(low - 16) * d;
            w[j + 16] = (float)(high - 16) * d;
        }
        break;
    }
    case ATTN_Q4_K: {
        // Group `sub`'s nibbles: bytes 16 + 32·(sub / 2) …, the high nibbles for an odd group.
        float scale, minimum;
        q4_k_factors(block, sub, &scale, &minimum);
        const uint8_t *q = block + 16 + 32 * (sub / 2);
        const int shift = 4 * (sub & 1);
        for (int i = 0; i < CHUNK; i++) w[i] = scale * (float)((q[i] >> shift) & 0x0F) - minimum;
        break;
    }
    case ATTN_Q6_K: {
        const q6_k_chunk c = q6_k_place(block, sub);
        for (int i = 0; i < CHUNK; i++) {
            const int q = ((c.low[i] >> c.low_shift) & 0x0F) | ((c.high[i] >> c.high_shift) & 3) << 4;
            w[i] = q6_k_factor(block, 2 * sub + i / 16) * (float)(q - 32);
        }
        break;
    }
    }
}

static void product_portable(attn_block_type type, const uint8_t *data, size_t columns, const float *x, size_t count,
                             float *out, size_t out_stride, size_t first, size_t last) {
    const size_t per = block_chunks(type), chunks = columns / CHUNK, row_bytes = chunks / per * block_bytes(type);
    float w[CHUNK];
    for (size_t r = first; r < last; r++) {
        for (size_t t = 0; t < count; t++) out[t * out_stride + r] = 0;
        for (size_t c = 0; c < chunks; c++) {
            dequantize_chunk(type, data + r * row_bytes + c / per * block_bytes(type), (int)(c % per), w);
            for (size_t t = 0; t < count; t++) {
                const float *xc = x + t * columns + c * CHUNK;
                float sum = 0;
                for (int i = 0; i < CHUNK; i++) sum += w[i] * xc[i];
                out[t * out_stride + r] += sum;
            }
        }
    }
}

#if defined(__x86_64__)
#define AVX2 __attribute__((target("avx2,fma,f16c")))
// AVX-512 (most servers since Skylake, AMD since Zen 4): 16 lanes, half the instructions to unpack
// a chunk, and 32 registers, so a decoding step's one row of x works on 8 rows of W at once. The
// lanes add in another order than AVX2's, so the two paths differ in the last bits; each keeps
// one order for every element.
#define AVX512 __attribute__((target("avx512f,fma,f16c")))

/// The 16 bytes at p, each shifted right by `shift` bits and cut to `mask`: one nibble or one
/// pair of bits of each byte.
AVX2 static inline __m128i bits_of_bytes(const uint8_t *p, int shift, int mask) {
    const __m128i bytes = _mm_loadu_si128((const __m128i *)p);
    return _mm_and_si128(_mm_srl_epi16(bytes, _mm_cvtsi32_si128(shift)), _mm_set1_epi8((char)mask));
}

/// Q6_K's 6-bit quants for 16 elements of a chunk, from their 4 low and 2 high bits.
AVX2 static inline __m128i q6_k_quants(q6_k_chunk c, int from) {
    const __m128i high = bits_of_bytes(c.high + from, c.high_shift, 3);
    return _mm_or_si128(bits_of_bytes(c.low + from, c.low_shift, 0x0F), _mm_slli_epi16(high, 4));
}

/// 8 lanes holding 16 where bit `first + i` of `fifth` is set, else 0: Q5_0's fifth bits.
AVX2 static inline __m256i fifth_bits_avx2(uint32_t fifth, int first) {
    const __m256i select = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i bits = _mm256_and_si256(_mm256_set1_epi32((int)(fifth >> first)), select);
    return _mm256_and_si256(_mm256_cmpeq_epi32(bits, select), _mm256_set1_epi32(16));
}

/// Chunk `sub` of a block: its 32 weights in four registers of 8 (elements 0–7, 8–15, 16–23, 24–31).
AVX2 static inline void chunk_avx2(attn_block_type type, const uint8_t *block, int sub, __m256 w[4]) {
    switch (type) {
    case ATTN_Q8_0: {
        const __m256 d = _mm256_set1_ps(half_to_float(block));
        for (int j = 0; j < 4; j++) {
            const __m128i q = _mm_loadl_epi64((const __m128i *)(block + 2 + 8 * j));
            w[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), d);
        }
        break;
    }
    case ATTN_Q4_1:
    case ATTN_Q5_0: {
        // Byte j holds element j in its low nibble and element j + 16 in its high one.
        const uint8_t *nibbles = block + (type == ATTN_Q4_1 ? 4 : 6);
        const __m128i low = bits_of_bytes(nibbles, 0, 0x0F), high = bits_of_bytes(nibbles, 4, 0x0F);
        const __m128i q[4] = {low, _mm_srli_si128(low, 8), high, _mm_srli_si128(high, 8)};
        const __m256 d = _mm256_set1_ps(half_to_float(block));
        if (type == ATTN_Q4_1) {
            const __m256 m = _mm256_set1_ps(half_to_float(block + 2));
            for (int j = 0; j < 4; j++) {
                const __m256 qf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q[j]));
                w[j] = _mm256_add_ps(_mm256_mul_ps(qf, d), m);   // d · q, then + m: two roundings, as dequantizing
            }
        } else {
            const uint32_t fifth = word_le(block + 2);
            for (int j = 0; j < 4; j++) {
                const __m256i q5 = _mm256_or_si256(_mm256_cvtepu8_epi32(q[j]), fifth_bits_avx2(fifth, 8 * j));
                w[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(q5, _mm256_set1_epi32(16))), d);
            }
        }
        break;
    }
    case ATTN_Q4_K: {
        float scale, minimum;
        q4_k_factors(block, sub, &scale, &minimum);
        const uint8_t *nibbles = block + 16 + 32 * (sub / 2);
        const __m128i a = bits_of_bytes(nibbles, 4 * (sub & 1), 0x0F), b = bits_of_bytes(nibbles + 16, 4 * (sub & 1), 0x0F);
        const __m128i q[4] = {a, _mm_srli_si128(a, 8), b, _mm_srli_si128(b, 8)};
        for (int j = 0; j < 4; j++) {
            const __m256 qf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(q[j]));
            w[j] = _mm256_sub_ps(_mm256_mul_ps(qf, _mm256_set1_ps(scale)), _mm256_set1_ps(minimum));
        }
        break;
    }
    case ATTN_Q6_K: {
        const q6_k_chunk c = q6_k_place(block, sub);
        for (int half = 0; half < 2; half++) {
            const __m128i q = q6_k_quants(c, 16 * half);
            const __m256 factor = _mm256_set1_ps(q6_k_factor(block, 2 * sub + half));
            const __m128i parts[2] = {q, _mm_srli_si128(q, 8)};
            for (int j = 0; j < 2; j++) {
                const __m256i centred = _mm256_sub_epi32(_mm256_cvtepu8_epi32(parts[j]), _mm256_set1_epi32(32));
                w[2 * half + j] = _mm256_mul_ps(factor, _mm256_cvtepi32_ps(centred));
            }
        }
        break;
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

// A 4-bit type has only 16 weights in a block (or a K-quant's group): AVX-512 computes the 16
// once, as dequantizing computes each (k · d + m, or k · scale − min), and looks every weight up
// with the nibble as an index (vpermps reads an index's low 4 bits), instead of widening and
// converting each nibble and multiplying and adding it. The same bits, fewer instructions.

/// The lanes 0, 1, …, 15 as floats: every value a nibble can hold.
AVX512 static inline __m512 nibble_values(void) {
    return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}

/// The 16 bytes at p spread over 16 lanes, byte j in lane j at bits 8·(j % 4) and up (the rest of
/// its 32-bit word is its neighbours', ignored by the index's low 4 bits).
AVX512 static inline __m512i spread_bytes(const uint8_t *p) {
    const __m512i words = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p));
    return _mm512_permutexvar_epi32(_mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3), words);
}

/// How far to shift lane j of `spread_bytes` to bring its byte's low nibble (`extra` 0) or high
/// nibble (`extra` 4) to bits 0–3.
AVX512 static inline __m512i byte_shifts(int extra) {
    return _mm512_add_epi32(_mm512_setr_epi32(0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24, 0, 8, 16, 24), _mm512_set1_epi32(extra));
}

/// Chunk `sub` of a block: its 32 weights in two registers of 16 (elements 0–15, 16–31).
AVX512 static inline void chunk_avx512(attn_block_type type, const uint8_t *block, int sub, __m512 w[2]) {
    switch (type) {
    case ATTN_Q8_0: {
        const __m512 d = _mm512_set1_ps(half_to_float(block));
        for (int j = 0; j < 2; j++) {
            const __m128i q = _mm_loadu_si128((const __m128i *)(block + 2 + 16 * j));
            w[j] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q)), d);
        }
        break;
    }
    case ATTN_Q4_1: {
        // Byte j holds element j in its low nibble and element j + 16 in its high one.
        const __m512 d = _mm512_set1_ps(half_to_float(block)), m = _mm512_set1_ps(half_to_float(block + 2));
        const __m512 table = _mm512_add_ps(_mm512_mul_ps(nibble_values(), d), m);   // d · k, then + m, as dequantizing
        const __m512i bytes = spread_bytes(block + 4);
        w[0] = _mm512_permutexvar_ps(_mm512_srlv_epi32(bytes, byte_shifts(0)), table);
        w[1] = _mm512_permutexvar_ps(_mm512_srlv_epi32(bytes, byte_shifts(4)), table);
        break;
    }
    case ATTN_Q5_0: {
        const uint8_t *nibbles = block + 6;
        const __m128i q[2] = {bits_of_bytes(nibbles, 0, 0x0F), bits_of_bytes(nibbles, 4, 0x0F)};
        const __m512 d = _mm512_set1_ps(half_to_float(block));
        // The fifth bits of elements 0–15 and 16–31 are masks of 16 lanes.
        const uint32_t fifth = word_le(block + 2);
        for (int j = 0; j < 2; j++) {
            const __m512i q4 = _mm512_cvtepu8_epi32(q[j]);
            const __m512i q5 = _mm512_mask_or_epi32(q4, (__mmask16)(fifth >> (16 * j)), q4, _mm512_set1_epi32(16));
            w[j] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q5, _mm512_set1_epi32(16))), d);
        }
        break;
    }
    case ATTN_Q4_K: {
        // Group `sub`'s 32 nibbles: the low (even group) or high (odd) nibbles of 32 bytes.
        float scale, minimum;
        q4_k_factors(block, sub, &scale, &minimum);
        const __m512 table = _mm512_sub_ps(_mm512_mul_ps(nibble_values(), _mm512_set1_ps(scale)), _mm512_set1_ps(minimum));
        const uint8_t *nibbles = block + 16 + 32 * (sub / 2);
        const __m512i shifts = byte_shifts(4 * (sub & 1));
        for (int j = 0; j < 2; j++)
            w[j] = _mm512_permutexvar_ps(_mm512_srlv_epi32(spread_bytes(nibbles + 16 * j), shifts), table);
        break;
    }
    case ATTN_Q6_K: {
        // Each register is one group of 16, with its own scale.
        const q6_k_chunk c = q6_k_place(block, sub);
        for (int j = 0; j < 2; j++) {
            const __m512i centred = _mm512_sub_epi32(_mm512_cvtepu8_epi32(q6_k_quants(c, 16 * j)), _mm512_set1_epi32(32));
            w[j] = _mm512_mul_ps(_mm512_set1_ps(q6_k_factor(block, 2 * sub + j)), _mm512_cvtepi32_ps(centred));
        }
        break;
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
/// long sentence, or several rows of W for a decoding step's one row of x. Each chunk of W is
/// unpacked once per tile and used n times. Every element gets the same sequence of multiply-adds
/// whatever the tile, so its bits do not depend on how many rows of x there are. The loops are
/// unrolled whole, so that the accumulators live in registers.
#define DEFINE_TILE(NAME, TARGET, VEC, LANES, ZERO, FMADD, LOAD, UNPACK, SUM)                                 \
    TARGET static inline __attribute__((always_inline)) void NAME(                                            \
        attn_block_type type, const uint8_t *row, size_t row_bytes, size_t chunks, const float *x, size_t k,  \
        float *out, size_t out_stride, const int rows_n, const int n) {                                      \
        VEC acc[8];                                                                                          \
        _Pragma("clang loop unroll(full)") for (int e = 0; e < 8; e++) acc[e] = ZERO();                      \
        const size_t bytes = block_bytes(type), per = block_chunks(type);                                    \
        for (size_t c = 0; c < chunks; c++) {                                                                \
            const uint8_t *block = row + c / per * bytes;                                                    \
            _Pragma("clang loop unroll(full)") for (int i = 0; i < rows_n; i++) {                            \
                VEC w[CHUNK / LANES];                                                                        \
                UNPACK(type, block + i * row_bytes, (int)(c % per), w);                                      \
                _Pragma("clang loop unroll(full)") for (int t = 0; t < n; t++) {                             \
                    const float *xc = x + t * k + c * CHUNK;                                                 \
                    _Pragma("clang loop unroll(full)") for (int j = 0; j < CHUNK / LANES; j++)               \
                        acc[i * n + t] = FMADD(w[j], LOAD(xc + LANES * j), acc[i * n + t]);                   \
                }                                                                                            \
            }                                                                                                \
        }                                                                                                    \
        _Pragma("clang loop unroll(full)") for (int i = 0; i < rows_n; i++) {                                \
            _Pragma("clang loop unroll(full)") for (int t = 0; t < n; t++)                                   \
                out[t * out_stride + i] = SUM(acc[i * n + t]);                                               \
        }                                                                                                    \
    }
DEFINE_TILE(tile_avx2, AVX2, __m256, 8, _mm256_setzero_ps, _mm256_fmadd_ps, _mm256_loadu_ps, chunk_avx2, lanes_sum)
DEFINE_TILE(tile_avx512, AVX512, __m512, 16, _mm512_setzero_ps, _mm512_fmadd_ps, _mm512_loadu_ps, chunk_avx512,
            lanes_sum_512)

/// Rows [first, last) of W against `N` rows of x, `R` rows of W at a time, then one at a time; one
/// function for each width, block type, R and N, so that each inner loop is straight-line code.
#define DEFINE_ROWS(PREFIX, TARGET, TILE, TYPE, R, N)                                                         \
    TARGET static void PREFIX##_##TYPE##_##R##_##N(const uint8_t *data, size_t row_bytes, size_t chunks,      \
                                                   const float *x, size_t k, float *out, size_t out_stride,  \
                                                   size_t first, size_t last) {                              \
        size_t r = first;                                                                                    \
        for (; r + R <= last; r += R)                                                                        \
            TILE(TYPE, data + r * row_bytes, row_bytes, chunks, x, k, out + r, out_stride, R, N);            \
        for (; r < last; r++)                                                                                \
            TILE(TYPE, data + r * row_bytes, row_bytes, chunks, x, k, out + r, out_stride, 1, N);            \
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
/// Every block type of a width, in the order of attn_block_type.
#define EVERY_TYPE(X, PREFIX, R1, R2, R3, R4)                                                                 \
    X(PREFIX, ATTN_Q8_0, R1, R2, R3, R4) X(PREFIX, ATTN_Q4_1, R1, R2, R3, R4) X(PREFIX, ATTN_Q5_0, R1, R2, R3, R4) \
    X(PREFIX, ATTN_Q4_K, R1, R2, R3, R4) X(PREFIX, ATTN_Q6_K, R1, R2, R3, R4)
#define DEFINE_AVX2(PREFIX, TYPE, R1, R2, R3, R4) DEFINE_ROWS_OF_TYPE(PREFIX, AVX2, tile_avx2, TYPE, R1, R2, R3, R4)
#define DEFINE_AVX512(PREFIX, TYPE, R1, R2, R3, R4) DEFINE_ROWS_OF_TYPE(PREFIX, AVX512, tile_avx512, TYPE, R1, R2, R3, R4)
#define TABLE_ENTRY(PREFIX, TYPE, R1, R2, R3, R4) TABLE(PREFIX, TYPE, R1, R2, R3, R4),
enum { TYPES = 5 };

// AVX2's 16 registers hold 4 accumulators and a chunk's 4 registers; AVX-512's 32 hold 8 and 2.
EVERY_TYPE(DEFINE_AVX2, rows_avx2, 4, 2, 1, 1)
EVERY_TYPE(DEFINE_AVX512, rows_avx512, 8, 4, 2, 2)
static const rows_function rows_avx2[TYPES][8] = {EVERY_TYPE(TABLE_ENTRY, rows_avx2, 4, 2, 1, 1)};
static const rows_function rows_avx512[TYPES][8] = {EVERY_TYPE(TABLE_ENTRY, rows_avx512, 8, 4, 2, 2)};

/// Rows of x in tiles of 8, the last one shorter; each tile goes over W's rows [first, last)
/// with the function of its size from `table` (AVX2's or AVX-512's).
static void product_tiles(const rows_function table[TYPES][8], attn_block_type type, const uint8_t *data,
                          size_t columns, const float *x, size_t count, float *out, size_t out_stride, size_t first,
                          size_t last) {
    const size_t chunks = columns / CHUNK, row_bytes = chunks / block_chunks(type) * block_bytes(type);
    for (size_t t0 = 0; t0 < count; t0 += 8) {
        const size_t n = count - t0 >= 8 ? 8 : count - t0;
        table[type][n - 1](data, row_bytes, chunks, x + t0 * columns, columns, out + t0 * out_stride, out_stride,
                           first, last);
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

int attn_quantized_product_path(int path, attn_block_type type, const void *data, size_t columns, const float *x,
                                size_t count, float *out, size_t out_stride, size_t first, size_t last) {
    pthread_once(&chosen_once, choose_path);
    if (path > widest || (unsigned)type >= 5) return 0;
#if defined(__x86_64__)
    if (path == 2) { product_tiles(rows_avx512, type, data, columns, x, count, out, out_stride, first, last); return 1; }
    if (path == 1) { product_tiles(rows_avx2, type, data, columns, x, count, out, out_stride, first, last); return 1; }
#endif
    product_portable(type, data, columns, x, count, out, out_stride, first, last);
    return 1;
}

void attn_quantized_product(attn_block_type type, const void *data, size_t columns, const float *x, size_t count,
                            float *out, size_t out_stride, size_t first, size_t last) {
    pthread_once(&chosen_once, choose_path);
    attn_quantized_product_path(chosen_path, type, data, columns, x, count, out, out_stride, first, last);
}
