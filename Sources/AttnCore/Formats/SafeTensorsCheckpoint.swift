import Foundation

/// A checkpoint's weights in safetensors: one `model.safetensors`, or shards listed by
/// `model.safetensors.index.json`, as transformers' `save_pretrained` writes them.
///
/// ```
/// model.safetensors.index.json
///   { "metadata": { "total_size": 497774208 },
///     "weight_map": { "h.0.attn.c_attn.weight": "model-00001-of-00002.safetensors", … } }
/// ```
/// Every shard is opened and validated as a single file is (see ``SafeTensors``); each tensor is
/// then found in the shard the index names, and nowhere else.
public struct SafeTensorsCheckpoint: Sendable {
    /// The shards, in the order of their names (one for a single file).
    public let shards: [SafeTensors]
    /// Tensor name → index in ``shards``.
    private let shardOfTensor: [String: Int]
    /// What error messages name for the checkpoint as a whole: the single file, or the index.
    public let path: String

    /// The single file's name, and the index's.
    public static let singleFile = "model.safetensors"
    public static let indexFile = "model.safetensors.index.json"

    /// The most shards attn opens: real checkpoints have a few dozen at most.
    public static let maximumShards = 1024

    /// One file, as a checkpoint.
    public init(file: SafeTensors) {
        self.init(shards: [file], shardOfTensor: file.entries.mapValues { _ in 0 }, path: file.path)
    }

    private init(shards: [SafeTensors], shardOfTensor: [String: Int], path: String) {
        (self.shards, self.shardOfTensor, self.path) = (shards, shardOfTensor, path)
    }

    /// The weights in `directory`: `model.safetensors` if it exists, else the shards of
    /// `model.safetensors.index.json`.
    /// - Throws: `.fileUnreadable` when neither exists; `.configInvalid` for an index that is not
    ///   a `weight_map` of tensor names to shard files in the same directory, or that names a
    ///   tensor its shard lacks or a shard holding a tensor the index does not list; any error of
    ///   ``SafeTensors/init(path:)`` for a shard.
    public init(directory: String) throws {
        let single = directory + "/" + Self.singleFile
        if FileManager.default.fileExists(atPath: single) {
            self.init(file: try SafeTensors(path: single))
            return
        }
        let index = directory + "/" + Self.indexFile
        guard let bytes = try MappedFile.contents(of: index, limit: 64 << 20) else {
            throw AttnError.fileUnreadable(path: single, reason: "there is no such file, and no \(Self.indexFile) beside it")
        }
        let weightMap = try Self.weightMap(Data(bytes), path: index)

        // Open each shard once; the index lists each tensor's, many tensors per shard.
        let shardNames = Set(weightMap.values).sorted()
        guard shardNames.count <= Self.maximumShards else {
            throw AttnError.configInvalid(path: index, reason: "it lists \(shardNames.count) shards, more than the \(Self.maximumShards) attn opens")
        }
        let shards = try shardNames.map { try SafeTensors(path: directory + "/" + $0) }
        let position = Dictionary(uniqueKeysWithValues: shardNames.enumerated().map { ($1, $0) })
        var shardOfTensor: [String: Int] = [:]
        for (tensor, shardName) in weightMap {
            let s = position[shardName] ?? 0
            guard shards[s].entries[tensor] != nil else { throw AttnError.tensorMissing(name: tensor, path: shards[s].path) }
            shardOfTensor[tensor] = s
        }
        // A tensor in a shard but not in the index would be read by no one: a mismatched pair.
        for shard in shards {
            if let stray = shard.names.first(where: { shardOfTensor[$0] == nil }) {
                throw AttnError.configInvalid(path: index, reason: "\(stray) is in \((shard.path as NSString).lastPathComponent) but not in the weight_map")
            }
        }
        self.init(shards: shards, shardOfTensor: shardOfTensor, path: index)
    }

    /// The index's `weight_map`, checked: tensor names to plain file names in the same directory.
    static func weightMap(_ data: Data, path: String) throws -> [String: String] {
        func invalid(_ reason: String) -> AttnError { .configInvalid(path: path, reason: reason) }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw invalid("it is not a JSON object")
        }
        guard let map = object["weight_map"] as? [String: Any], !map.isEmpty else {
            throw invalid("it has no weight_map of tensor names to shard files")
        }
        var weightMap: [String: String] = [:]
        for (tensor, value) in map {
            guard let file = value as? String else { throw invalid("weight_map's \(tensor) is not a file name") }
            // A shard is a file beside the index: no directories, no way out of the snapshot.
            guard !file.isEmpty, !file.contains("/"), file != ".", file != "..", file.hasSuffix(".safetensors") else {
                throw invalid("weight_map's \(tensor) names \"\(file)\", which is not a .safetensors file in the same directory")
            }
            weightMap[tensor] = file
        }
        return weightMap
    }

    /// Every tensor name, sorted.
    public var names: [String] { shardOfTensor.keys.sorted() }

    /// The shard that holds `name`, if any does.
    public func file(holding name: String) -> SafeTensors? {
        shardOfTensor[name].map { shards[$0] }
    }

    /// The header entry of `name`, if the checkpoint has it.
    public func entry(_ name: String) -> SafeTensors.Entry? {
        file(holding: name)?.entries[name]
    }

    /// The file to name in an error about `name`: its shard, else the checkpoint.
    public func path(of name: String) -> String {
        file(holding: name)?.path ?? path
    }

    /// A tensor as a matrix (see ``SafeTensors/matrix(_:)``).
    /// - Throws: `.tensorMissing` if no shard has it, else as ``SafeTensors/matrix(_:)``.
    public func matrix(_ name: String) throws -> Matrix {
        guard let file = file(holding: name) else { throw AttnError.tensorMissing(name: name, path: path) }
        return try file.matrix(name)
    }
}
