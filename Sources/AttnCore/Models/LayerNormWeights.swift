/// The learned scale and shift of a LayerNorm.
public struct LayerNormWeights: Sendable {
    public let gamma: [Float]
    public let beta: [Float]
}
