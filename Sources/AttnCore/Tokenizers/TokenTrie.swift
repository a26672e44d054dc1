/// Tokens that are cut out of the raw text whole, before anything else, found as `tokenizers`'
/// added vocabulary finds them (Aho–Corasick, leftmost-longest): the first position where any
/// token starts, and there the longest token.
///
/// ```
/// tokens "\n", "\n\n", "<eos>"      text "a\n\n\n<eos>"
///   position 1: "\n\n" (longest)  →  then position 3: "\n"  →  then position 4: "<eos>"
/// ```
/// A byte trie: matching walks the text's UTF-8 from a position while the trie has an edge for the
/// next byte. Every token is whole UTF-8, so a match starts and ends on character boundaries.
struct TokenTrie: Sendable {
    /// The root's child for each byte, or -1: most bytes start no token, and this says so at once.
    private var rootChildren = [Int32](repeating: -1, count: 256)
    /// Every other edge: `node << 8 | byte` → child.
    private var edges: [UInt64: Int32] = [:]
    /// The token id that ends at each node, or -1. Node 0 is the root.
    private var tokenIds: [Int32] = [-1]

    /// Whether the trie holds no token.
    var isEmpty: Bool { tokenIds.count == 1 }

    /// A trie of `tokens`: each token's bytes with its id. A token given twice keeps its last id.
    init(_ tokens: [(bytes: ArraySlice<UInt8>, id: Int)]) {
        edges.reserveCapacity(tokens.reduce(0) { $0 + $1.bytes.count })
        for (bytes, id) in tokens where !bytes.isEmpty {
            var node: Int32 = 0
            for byte in bytes {
                let child = self.child(of: node, byte)
                if child >= 0 {
                    node = child
                    continue
                }
                let new = Int32(tokenIds.count)
                tokenIds.append(-1)
                if node == 0 { rootChildren[Int(byte)] = new } else { edges[Self.edge(node, byte)] = new }
                node = new
            }
            tokenIds[Int(node)] = Int32(truncatingIfNeeded: id)
        }
    }

    /// The longest token that starts at `start`, as its length in bytes and its id.
    func longestMatch(in text: UnsafeBufferPointer<UInt8>, at start: Int) -> (length: Int, id: Int)? {
        var node = rootChildren[Int(text[start])]
        var found: (length: Int, id: Int)?
        var end = start + 1
        while node >= 0 {
            let id = tokenIds[Int(node)]
            if id >= 0 { found = (end - start, Int(id)) }
            guard end < text.count else { break }
            node = child(of: node, text[end])
            end += 1
        }
        return found
    }

    private func child(of node: Int32, _ byte: UInt8) -> Int32 {
        node == 0 ? rootChildren[Int(byte)] : edges[Self.edge(node, byte)] ?? -1
    }

    private static func edge(_ node: Int32, _ byte: UInt8) -> UInt64 {
        UInt64(UInt32(bitPattern: node)) << 8 | UInt64(byte)
    }
}
