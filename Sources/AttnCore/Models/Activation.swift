import Foundation

/// The non-linearity of a feed-forward network, as a checkpoint's configuration names it
/// (`hidden_act` for BERT, `activation_function` for GPT-2).
public enum Activation: String, Sendable, CaseIterable {
    /// GELU in its exact erf form (BERT): `x · ½(1 + erf(x/√2))`.
    case gelu
    /// GELU in the tanh form of the GPT-2 code (`gelu_new`; `gelu_pytorch_tanh` is the same formula).
    case geluTanh = "gelu_new"
    /// `max(0, x)`: the original Transformer's.
    case relu

    /// The configuration's name, with the other spellings of the same function.
    public init?(configurationName name: String) {
        switch name {
        case "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        default: self.init(rawValue: name)
        }
    }

    /// The function applied to every cell.
    public func callAsFunction(_ x: Matrix) -> Matrix {
        switch self {
        case .gelu: x.geluCells()
        case .geluTanh: x.map(AttnCore.geluTanh)
        case .relu: x.map { max(0, $0) }
        }
    }

    /// The formula, for the step's header.
    public var formula: String {
        switch self {
        case .gelu: "GELU"
        case .geluTanh: "GELU_tanh"
        case .relu: "ReLU"
        }
    }
}

/// GELU in the tanh form GPT-2 was trained with, as transformers' `NewGELUActivation` computes it:
/// ```
/// GELU_tanh(x) = ½ · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
/// ```
/// It is within 10⁻³ of the exact GELU everywhere, but a model must use the one it was trained with.
public func geluTanh(_ x: Float) -> Float {
    0.5 * x * (1 + tanhf(0.7978845608028654 * (x + 0.044715 * x * x * x)))
}
