import Foundation

/// A checkpoint's `config.json`, decoded into a model's configuration type with errors that name
/// the key at fault.
enum ConfigurationFile {
    /// Real configurations are a few kilobytes; a megabyte is plenty.
    static let maximumBytes = 1 << 20

    /// Throws `.configInvalid` for the first of `values` outside its range, in the order of `ranges`.
    static func checkRanges(_ values: [String: Int], _ ranges: [(key: String, range: ClosedRange<Int>)], path: String) throws {
        for (key, range) in ranges {
            let value = values[key] ?? 0
            guard range.contains(value) else {
                throw AttnError.configInvalid(path: path, reason: "\(key) is \(value), outside \(range.lowerBound)…\(range.upperBound)")
            }
        }
    }

    /// Throws `.configInvalid` unless 0 < ε < 1 (written so that NaN fails too).
    static func checkEpsilon(_ epsilon: Float, key: String, path: String) throws {
        guard epsilon > 0, epsilon < 1 else {
            throw AttnError.configInvalid(path: path, reason: "\(key) is \(epsilon), outside 0 < ε < 1")
        }
    }

    /// Decodes `path` as `type`.
    /// - Parameters:
    ///   - wholeNumberRanges: the whole-number keys and the values attn accepts for each, named in
    ///     the error when Foundation refuses a fraction or a number too large for its type.
    ///   - epsilonKey: the key of the normalization's ε, which must lie in 0 < ε < 1.
    /// - Throws: `.fileUnreadable` when there is no such file; `.configInvalid` naming the key.
    static func decode<C: Decodable>(_ type: C.Type, path: String, wholeNumberRanges: [(key: String, range: ClosedRange<Int>)],
                                     epsilonKey: String) throws -> C {
        guard let bytes = try MappedFile.contents(of: path, limit: maximumBytes) else {
            throw AttnError.fileUnreadable(path: path, reason: "no such file")
        }
        let data = Data(bytes)
        do {
            return try JSONDecoder().decode(C.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw AttnError.configInvalid(path: path, reason: "it has no \(key.stringValue)")
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            throw AttnError.configInvalid(path: path, reason: "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) where !context.codingPath.isEmpty {
            throw AttnError.configInvalid(path: path, reason: "\(context.codingPath.map(\.stringValue).joined(separator: ".")) is null")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw AttnError.configInvalid(path: path, reason: "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has an unusable value")
        } catch DecodingError.typeMismatch {
            throw AttnError.configInvalid(path: path, reason: "its top level is not a JSON object")
        } catch {
            // Foundation on Linux reports a fraction where a whole number belongs as invalid JSON;
            // find the key so that the message can name it.
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw AttnError.configInvalid(path: path, reason: "it is not valid JSON")
            }
            // It also refuses numbers too large for their type (2e19 for an Int, 1e300 for a Float).
            for (key, range) in wholeNumberRanges {
                guard let number = object[key] as? NSNumber else { continue }
                if number.doubleValue != number.doubleValue.rounded() {
                    throw AttnError.configInvalid(path: path, reason: "\(key) is \(number), not a whole number")
                }
                if !(Double(range.lowerBound)...Double(range.upperBound)).contains(number.doubleValue) {
                    throw AttnError.configInvalid(path: path, reason: "\(key) is \(number), outside \(range.lowerBound)…\(range.upperBound)")
                }
            }
            if let number = object[epsilonKey] as? NSNumber, !(number.doubleValue > 0 && number.doubleValue < 1) {
                throw AttnError.configInvalid(path: path, reason: "\(epsilonKey) is \(number), outside 0 < ε < 1")
            }
            throw AttnError.configInvalid(path: path, reason: "a value has the wrong type")
        }
    }
}
