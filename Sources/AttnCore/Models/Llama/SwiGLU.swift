import Foundation

/// SwiGLU's activation: `SiLU(gate) ⊙ up`.
public func swiGLU(gate: Matrix, up: Matrix) -> Matrix {
    Matrix(rows: gate.rows, columns: gate.columns,
           values: zip(gate.values, up.values).map { g, u in silu(g) * u })
}

/// SiLU (the swish), the gate's activation in SwiGLU.
/// ```
/// SiLU(x) = x · σ(x) = x / (1 + e⁻ˣ)
/// ```
@inlinable
public func silu(_ x: Float) -> Float { x / (1 + expf(-x)) }
