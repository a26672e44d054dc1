/// Two adjacent token ids in a word during BPE, left then right: the key of the merge table,
/// which says whether the pair merges, at what rank, and into which token.
///
/// ```
/// "Ġw" "or"  →  BytePair(left: id("Ġw"), right: id("or"))  →  merges into "Ġwor" at its rank
/// ```
struct BytePair: Hashable, Sendable {
    let left: Int32
    let right: Int32

    // Hashed as one UInt64 through the standard library's one-shot integer hash: the synthesized
    // hash (two words through a full Hasher) makes every merge look-up slower.
    private var bits: UInt64 { UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right)) }

    func hash(into hasher: inout Hasher) { hasher.combine(bits) }

    func _rawHashValue(seed: Int) -> Int { bits._rawHashValue(seed: seed) }
}
