/// Two adjacent token ids in a word during BPE, left then right: the key of the merge table,
/// which says whether the pair merges, at what rank, and into which token.
///
/// ```
/// "Ġw" "or"  →  BytePair(left: id("Ġw"), right: id("or"))  →  merges into "Ġwor" at its rank
/// ```
struct BytePair: Hashable, Sendable {
    let left: Int32
    let right: Int32

    // One UInt64 for the hasher, which is faster than two (Tests/Benchmarks/README.md).
    func hash(into hasher: inout Hasher) {
        hasher.combine(UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right)))
    }
}
