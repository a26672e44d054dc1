/// Two adjacent token ids in a word during BPE, left then right: the key of the merge table,
/// which says whether the pair merges, at what rank, and into which token.
///
/// ```
/// "Ġw" "or"  →  BytePair(left: id("Ġw"), right: id("or"))  →  merges into "Ġwor" at its rank
/// ```
struct BytePair: Hashable, Sendable {
    let left: Int32
    let right: Int32

    // One UInt64 for the hasher: the synthesized hash slowed encoding (Tests/Benchmarks/README.md).
    private var bits: UInt64 { UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right)) }

    func hash(into hasher: inout Hasher) { hasher.combine(bits) }

    func _rawHashValue(seed: Int) -> Int { bits._rawHashValue(seed: seed) }
}
