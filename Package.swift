// swift-tools-version: 6.0
//
// attn — a terminal notebook that walks through transformer attention on real weights.
//
// Dependencies point one way:  attn (executable) → Notebook → AttnCore → COpenBLAS.
// Only the executable knows about the terminal (CReadline).

import PackageDescription

let package = Package(
    name: "attn",
    products: [
        .executable(name: "attn", targets: ["attn"]),
        .library(name: "AttnCore", targets: ["AttnCore"]),
        .library(name: "Notebook", targets: ["Notebook"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C bridges. Debian's readline.pc carries flags SwiftPM refuses, so the module map links
        // "readline" itself; OpenBLAS is found through pkg-config.
        .systemLibrary(name: "CReadline", path: "Sources/CReadline"),
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),

        // Vector kernels Swift's baseline target cannot express (AVX2 chosen at run time). Optimized
        // in debug builds too, as AttnCore is; no contraction of a · b + c into one fused
        // multiply-add, so that a weight is dequantized to the same float32 on every machine.
        .target(
            name: "CKernels", path: "Sources/CKernels",
            cSettings: [
                .unsafeFlags(["-ffp-contract=off"]),
                .unsafeFlags(["-O2"], .when(configuration: .debug)),
            ]),

        // Tensors, weight formats, tokenizers, models and their step-by-step traces. No terminal code.
        // Optimized in debug builds too: the test suite runs real models (Gemma 3's 648-token
        // trace takes 22 s unoptimized, under 2 s optimized), and nothing here is stepped through
        // in a debugger more often than it is tested.
        .target(
            name: "AttnCore", dependencies: ["COpenBLAS", "CKernels"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),

        // Commands, the expression language, lessons and matrix rendering. Reads lines from a protocol.
        .target(name: "Notebook", dependencies: ["AttnCore"]),

        // The executable: argument parsing, the readline line source, fetching models with pip, wiring.
        .executableTarget(
            name: "attn",
            dependencies: [
                "Notebook", "AttnCore", "CReadline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Benchmarks: `swift build -c release && .build/release/attn-bench` (see the README).
        .executableTarget(name: "attn-bench", dependencies: ["Notebook", "AttnCore"]),

        .testTarget(
            name: "AttnCoreTests", dependencies: ["AttnCore", "CKernels"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "NotebookTests", dependencies: ["Notebook", "AttnCore"],
            exclude: ["Golden"]),
    ],
    swiftLanguageModes: [.v6]
)
