// The merge loop's parts, shared by `BPETokenizer` and `SentencePieceTokenizer`: both merge as
// `tokenizers`' `Word::merge_all` does, and differ only in how a pair's rank is found.

/// One symbol of a word during BPE: a token id in a doubly linked list over an array.
struct Symbol {
    var id: Int32
    var previous: Int32
    var next: Int32
    var removed = false
}

/// A possible merge of the symbol at `position` with the one after it.
struct Candidate {
    let rank: Int64
    let position: Int32
    let merged: Int32

    /// Lower rank first; of equal ranks, the leftmost.
    func precedes(_ other: Candidate) -> Bool {
        rank != other.rank ? rank < other.rank : position < other.position
    }
}

/// A binary min-heap of candidates (`tokenizers` uses Rust's `BinaryHeap` the same way).
struct MergeQueue {
    private var heap: [Candidate] = []

    mutating func push(_ candidate: Candidate) {
        heap.append(candidate)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var best = parent
            if left < heap.count, heap[left].precedes(heap[best]) { best = left }
            if right < heap.count, heap[right].precedes(heap[best]) { best = right }
            if best == parent { break }
            heap.swapAt(parent, best)
            parent = best
        }
        return first
    }
}
