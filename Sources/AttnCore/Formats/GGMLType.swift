/// The element types of ggml, the tensor library behind llama.cpp, with the ids GGUF files store.
///
/// Most are *block* types: a run of `blockSize` consecutive elements (along `ne0`, the fastest
/// dimension) is stored as one small struct of scales and packed integers, `bytesPerBlock` long.
/// ```
/// bytes(tensor) = elements / blockSize × bytesPerBlock        (elements along ne0 divisible by blockSize)
/// Q4_1:  32 elements in 20 bytes = 5 bits per weight;   F32: 1 element in 4 bytes
/// ```
/// attn knows every id (so a file's layout can be checked and an error can name the type) but
/// dequantizes only ``isReadable`` types: the plain floats and every type of llama.cpp's usual
/// Q*_0, Q*_1 and Q*_K_M files (the K-quants' super-blocks hold 256 elements).
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3
    // 4 and 5 (Q4_2, Q4_3) were removed from ggml before GGUF existed.
    case q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_k = 10, q3_k = 11, q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    // 31…33 and 36…38 were the Q4_0/IQ4_NL repacked variants, never written to GGUF files.
    case tq1_0 = 34, tq2_0 = 35
    case mxfp4 = 39, nvfp4 = 40, q1_0 = 41, q2_0 = 42

    /// The name ggml gives the type, as llama.cpp prints it: `"Q4_1"`, `"Q5_K"`, `"IQ2_XXS"`.
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q8_1: "Q8_1"
        case .q2_k: "Q2_K"
        case .q3_k: "Q3_K"
        case .q4_k: "Q4_K"
        case .q5_k: "Q5_K"
        case .q6_k: "Q6_K"
        case .q8_k: "Q8_K"
        case .iq2_xxs: "IQ2_XXS"
        case .iq2_xs: "IQ2_XS"
        case .iq3_xxs: "IQ3_XXS"
        case .iq1_s: "IQ1_S"
        case .iq4_nl: "IQ4_NL"
        case .iq3_s: "IQ3_S"
        case .iq2_s: "IQ2_S"
        case .iq4_xs: "IQ4_XS"
        case .i8: "I8"
        case .i16: "I16"
        case .i32: "I32"
        case .i64: "I64"
        case .f64: "F64"
        case .iq1_m: "IQ1_M"
        case .bf16: "BF16"
        case .tq1_0: "TQ1_0"
        case .tq2_0: "TQ2_0"
        case .mxfp4: "MXFP4"
        case .nvfp4: "NVFP4"
        case .q1_0: "Q1_0"
        case .q2_0: "Q2_0"
        }
    }

    /// Elements per block (1 for the plain types F32, F16, BF16, F64 and the integers).
    public var blockSize: Int { layout.elements }

    /// Bytes per block: the size of ggml's `block_<type>` struct, or of one element.
    public var bytesPerBlock: Int { layout.bytes }

    /// Whether attn can turn this type into `Float`s: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K,
    /// Q3_K, Q4_K, Q5_K, Q6_K and BF16.
    public var isReadable: Bool {
        switch self {
        case .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k: true
        default: false
        }
    }

    /// The readable types in id order, for messages: `"F32, F16, Q4_0, …, Q6_K and BF16"`.
    public static let readableNames: String = {
        let names = allCases.filter(\.isReadable).map(\.name)
        return names.dropLast().joined(separator: ", ") + " and " + names[names.count - 1]
    }()

    /// (block size, type size), from ggml's block structs; `QK_K` = 256 for the K and IQ types.
    private var layout: (elements: Int, bytes: Int) {
        switch self {
        case .f32: (1, 4)
        case .f16: (1, 2)
        case .q4_0: (32, 2 + 16)              // d, 16 bytes of nibbles
        case .q4_1: (32, 2 + 2 + 16)          // d, m, 16 bytes of nibbles
        case .q5_0: (32, 2 + 4 + 16)          // d, 32 fifth bits, nibbles
        case .q5_1: (32, 2 + 2 + 4 + 16)
        case .q8_0: (32, 2 + 32)              // d, 32 int8
        case .q8_1: (32, 4 + 4 + 32)          // d, s (as two fp32), 32 int8
        case .q2_k: (256, 2 + 2 + 256 / 16 + 256 / 4)
        case .q3_k: (256, 2 + 256 / 4 + 256 / 8 + 12)
        case .q4_k: (256, 2 + 2 + 256 / 2 + 12)
        case .q5_k: (256, 2 + 2 + 256 / 2 + 256 / 8 + 12)
        case .q6_k: (256, 2 + 256 / 2 + 256 / 4 + 256 / 16)
        case .q8_k: (256, 4 + 256 + 256 / 8)
        case .iq2_xxs: (256, 2 + 256 / 4)
        case .iq2_xs: (256, 2 + 256 / 4 + 256 / 32)
        case .iq3_xxs: (256, 2 + 256 / 4 + 256 / 8)
        case .iq1_s: (256, 2 + 256 / 8 + 256 / 16)
        case .iq4_nl: (32, 2 + 16)
        case .iq3_s: (256, 2 + 256 / 4 + 256 / 8 + 256 / 32 + 4)
        case .iq2_s: (256, 2 + 256 / 4 + 256 / 16)
        case .iq4_xs: (256, 2 + 2 + 256 / 2 + 256 / 64)
        case .i8: (1, 1)
        case .i16: (1, 2)
        case .i32: (1, 4)
        case .i64: (1, 8)
        case .f64: (1, 8)
        case .iq1_m: (256, 256 / 8 + 256 / 16 + 256 / 32)
        case .bf16: (1, 2)
        case .tq1_0: (256, 2 + 4 * 13)
        case .tq2_0: (256, 2 + 64)
        case .mxfp4: (32, 1 + 16)             // e8m0 exponent, 16 bytes of fp4
        case .nvfp4: (64, 4 + 32)             // four e4m3 scales, 32 bytes of fp4
        case .q1_0: (128, 2 + 128 / 8)
        case .q2_0: (64, 2 + 64 / 4)
        }
    }
}
