/// A vocabulary's tokens as bytes in one buffer, with a hash index from bytes to id: the lookup
/// SentencePiece BPE makes for every pair of neighbouring symbols, without a `String` or an array
/// per token (262,144 of them for Gemma).
///
/// ```
/// bytes    "<pad><eos><bos>…▁Paris…"    every token, back to back
/// starts   [0, 5, 10, 15, …]            token id → where its bytes start; starts[id + 1] ends them
/// slots    [free, (h, 9079), free, …]   2ᵏ ≥ 2 × tokens entries: a token sits at its hash mod 2ᵏ,
///                                       or in the first free slot after it (linear probing),
///                                       with the top 32 bits h of its hash beside its id
/// ```
/// The hash is Swift's `Hasher`, seeded per process, so that a crafted file cannot pile its tokens
/// into one run of slots. A probe reads a token's bytes only when the stored bits of the hashes
/// agree. The index is filled in the order of the tokens' slots, one 1/256 of the table at a
/// time: in Gemma's 4 MB table, filling it in id order waited on memory (39 ms a build, 31 so).
struct PackedVocabulary: Sendable {
    /// Every token's bytes, in id order.
    let bytes: [UInt8]
    /// `starts[id]..<starts[id + 1]` are the bytes of token `id`; `count + 1` entries.
    let starts: [Int]
    /// The open-addressing table: the top half of a token's hash, then its id; `free` if none.
    private let slots: [UInt64]
    /// A token found twice, as its earlier and its later id, if any.
    let duplicate: (first: Int, second: Int)?

    /// The number of tokens.
    var count: Int { starts.count - 1 }

    /// The index of tokens whose bytes are `bytes[starts[id]..<starts[id + 1]]`.
    ///
    /// - Precondition: `starts` begins at 0, never decreases, ends at `bytes.count`, and has fewer
    ///   than 2³¹ entries (callers build it so).
    init(bytes: [UInt8], starts: [Int]) {
        self.bytes = bytes
        self.starts = starts
        let count = starts.count - 1
        var capacity = 16
        while capacity < 2 * count { capacity *= 2 }
        let mask = capacity - 1
        var slots = [UInt64](repeating: Self.free, count: capacity)
        var duplicate: (Int, Int)?
        bytes.withUnsafeBufferPointer { all in
            // The tokens in the order of their home slots, by the top 8 bits (a stable counting
            // sort): filling the table then stays in one small region at a time.
            let shift = max(0, capacity.trailingZeroBitCount - 8)
            var bucketStarts = [Int](repeating: 0, count: (capacity >> shift) + 1)
            var hashes = [Int](repeating: 0, count: count)
            for id in 0..<count {
                let hash = Self.hash(UnsafeBufferPointer(rebasing: all[starts[id]..<starts[id + 1]]))
                hashes[id] = hash
                bucketStarts[(hash & mask) >> shift + 1] += 1
            }
            for bucket in 1..<bucketStarts.count { bucketStarts[bucket] += bucketStarts[bucket - 1] }
            var ordered = [(hash: Int, id: Int)](repeating: (0, 0), count: count)
            for id in 0..<count {
                let bucket = (hashes[id] & mask) >> shift
                ordered[bucketStarts[bucket]] = (hashes[id], id)
                bucketStarts[bucket] += 1
            }

            for (hash, id) in ordered {
                let token = all[starts[id]..<starts[id + 1]]
                let entry = UInt64(UInt32(truncatingIfNeeded: hash >> 32)) << 32 | UInt64(UInt32(id))
                var slot = hash & mask
                while slots[slot] != Self.free {
                    let other = Int(UInt32(truncatingIfNeeded: slots[slot]))
                    if slots[slot] >> 32 == entry >> 32, token.elementsEqual(all[starts[other]..<starts[other + 1]]) {
                        if duplicate == nil { duplicate = (other, id) }
                        break
                    }
                    slot = (slot + 1) & mask
                }
                // A token listed twice is found under its last id, as in a Python dict: equal
                // tokens share a home slot, so they come in the order of their ids.
                slots[slot] = entry
            }
        }
        self.slots = slots
        self.duplicate = duplicate
    }

    /// The id of the token whose bytes are `key`, or -1.
    func id(of key: UnsafeBufferPointer<UInt8>) -> Int32 {
        let hash = Self.hash(key)
        let high = UInt64(UInt32(truncatingIfNeeded: hash >> 32))
        return bytes.withUnsafeBufferPointer { all in
            var slot = hash & (slots.count - 1)
            while true {
                let entry = slots[slot]
                guard entry != Self.free else { return -1 }
                let id = Int(UInt32(truncatingIfNeeded: entry))
                if entry >> 32 == high, key.elementsEqual(all[starts[id]..<starts[id + 1]]) { return Int32(id) }
                slot = (slot + 1) & (slots.count - 1)
            }
        }
    }

    /// The id of the token whose bytes are those of `text`, or -1.
    func id(of text: some StringProtocol) -> Int32 {
        var text = String(text)
        return text.withUTF8 { id(of: $0) }
    }

    /// The bytes of token `id`.
    func tokenBytes(_ id: Int) -> ArraySlice<UInt8> {
        bytes[starts[id]..<starts[id + 1]]
    }

    /// A free slot: no id has all 32 low bits set, since ids are below 2³¹.
    private static let free = UInt64.max

    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        return hasher.finalize()
    }
}
