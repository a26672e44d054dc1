import Foundation
import Testing
import AttnCore

// SHA-256 against the FIPS 180-4 examples, and AtomicFile's promise: a write either replaces the
// whole file or leaves what was there.

@Suite("SHA256: FIPS 180-4 test vectors")
struct SHA256Tests {
    private func digest(_ message: [UInt8]) -> String {
        message.withUnsafeBytes { SHA256.hash($0) }
    }

    @Test("the empty message")
    func empty() {
        #expect(digest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var h = SHA256()
        #expect(h.finalize() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("\"abc\" (one block)")
    func abc() {
        #expect(digest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("the 448-bit message (padding spills into a second block)")
    func twoBlocks() {
        let message = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(digest(message) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test("the 896-bit message")
    func longerMessage() {
        let message = Array(("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
            + "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu").utf8)
        #expect(digest(message) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    @Test("one million times \"a\", at once and in 997-byte pieces")
    func millionA() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        #expect(digest(message) == expected)
        var h = SHA256()
        var start = 0
        while start < message.count {
            let end = min(start + 997, message.count)
            h.update(message[start..<end])
            start = end
        }
        #expect(h.finalize() == expected)
    }

    @Test("updates in odd chunk sizes equal one update", arguments: [
        [1], [3, 5, 7], [63, 1], [64], [65, 2], [55, 56, 57], [127, 129, 1], [200],
    ])
    func incremental(chunks: [Int]) {
        // Lengths around the 55/56/64-byte padding boundaries, and a few blocks.
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000] {
            let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var h = SHA256()
            var start = 0, index = 0
            while start < message.count {
                let end = min(start + chunks[index % chunks.count], message.count)
                message[start..<end].withUnsafeBytes { h.update($0) }
                start = end
                index += 1
            }
            #expect(h.finalize() == digest(message), "length \(length), chunks \(chunks)")
        }
    }
}

@Suite("AtomicFile: whole files or nothing")
struct AtomicFileTests {
    /// A directory of its own for one test; removed by the caller.
    private func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("attn-atomic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Files in `directory` whose names start with `prefix`.
    private func leftovers(in directory: String, prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix(prefix) }
    }

    @Test("writes a new file, then reads it back; no temporary file remains")
    func writesNewFile() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/weights.bin"
        let data = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        try AtomicFile.write(data, to: path)
        #expect(contents(path) == data)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["weights.bin"])
    }

    @Test("a file name of the longest legal length (255 bytes, in 1-, 2- and 3-byte characters) is written too",
          arguments: ["a", "é", "€"])
    func longestName(character: String) throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var name = String(repeating: character, count: 255 / character.utf8.count)
        name += String(repeating: "x", count: 255 - name.utf8.count)
        #expect(name.utf8.count == 255)
        try AtomicFile.write(Data("weights".utf8), to: directory + "/" + name)
        #expect(contents(directory + "/" + name) == Data("weights".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == [name])
    }

    @Test("writes an empty file")
    func writesEmptyFile() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/empty"
        try AtomicFile.write(Data(), to: path)
        #expect(contents(path) == Data())
    }

    @Test("an existing file is replaced whole, even by a shorter one")
    func replacesWhole() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/config.json"
        try Data(repeating: UInt8(ascii: "x"), count: 4096).write(to: URL(fileURLWithPath: path))
        try AtomicFile.write(Data("short".utf8), to: path)
        #expect(contents(path) == Data("short".utf8))
        #expect(leftovers(in: directory, prefix: ".") == [])
    }

    @Test("writing to a directory path is refused")
    func directoryPath() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = #expect(throws: AttnError.self) { try AtomicFile.write(Data("x".utf8), to: directory) }
        guard case let .fileUnwritable(path, _) = error else {
            Issue.record("expected .fileUnwritable, got \(String(describing: error))")
            return
        }
        #expect(path == directory)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    @Test("writing into a directory that does not exist is refused")
    func missingDirectory() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/no/such/dir/file.bin"
        #expect(throws: AttnError.fileUnwritable(path: path, reason: String(cString: strerror(ENOENT)))) {
            try AtomicFile.write(Data("x".utf8), to: path)
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/no"))
    }

    @Test("a full device is an error, and no temporary file is left in /dev",
          .enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func deviceFull() throws {
        #expect(throws: AttnError.fileUnwritable(path: "/dev/full", reason: String(cString: strerror(ENOSPC)))) {
            try AtomicFile.write(Data(repeating: 1, count: 100_000), to: "/dev/full")
        }
        #expect(leftovers(in: "/dev", prefix: ".full.") == [])
        // The device is still a device, not a regular file renamed over it.
        var info = stat()
        #expect(stat("/dev/full", &info) == 0)
        #expect((info.st_mode & S_IFMT) == S_IFCHR)
    }

    /// Running as root ignores permissions, so a read-only directory cannot make the write fail.
    /// Instead a directory is put where AtomicFile's temporary file would go (`.<name>.<pid>.tmp`
    /// beside the target): creating the temporary file fails, as a full disk would make it fail.
    /// This depends on that naming; if it changes, the `#require` below says so.
    @Test("on failure an existing file keeps its old content")
    func failureKeepsOldContent() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.safetensors"
        let old = Data("the old weights".utf8)
        try old.write(to: URL(fileURLWithPath: path))
        let blocker = directory + "/.model.safetensors.\(getpid()).tmp"
        try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: false)

        let error = #expect(throws: AttnError.self) { try AtomicFile.write(Data("new".utf8), to: path) }
        try #require(error != nil, "the write succeeded: AtomicFile no longer uses \(blocker) as its temporary file")
        guard case let .fileUnwritable(errorPath, _) = error else {
            Issue.record("expected .fileUnwritable, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(contents(path) == old)
    }
}
