import Foundation

/// The gateway's JSON conventions: bytes are base64, int64 fields are decimal strings and are
/// left out when zero (so an absent field reads as 0), enums are their names.
enum EtcdJSON {
    /// A JSON object as `JSONSerialization` reads it.
    typealias Object = [String: Any]

    static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
    }

    static func base64(_ text: String) -> String {
        base64(Array(text.utf8))
    }

    static func encode(_ object: Object) -> Data {
        // invariant: every object built here holds only strings, numbers, bools, arrays and
        // objects, which JSONSerialization always encodes.
        (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
    }

    static func object(_ data: Data, what: @autoclosure () -> String) throws(EtcdError) -> Object {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? Object else {
            throw EtcdError(.invalidResponse, "\(what()): not a JSON object: \(preview(data))")
        }
        return object
    }

    /// At most 200 bytes of a body, for messages.
    static func preview(_ data: Data) -> String {
        let text = String(decoding: data.prefix(200), as: UTF8.self)
        return data.count > 200 ? text + "…" : text
    }

    /// An int64 field: a decimal string, a number, or absent (0).
    static func int64(_ object: Object, _ field: String, what: @autoclosure () -> String) throws(EtcdError) -> Int64 {
        switch object[field] {
        case nil:
            return 0
        case let text as String:
            guard let value = Int64(text) else {
                throw EtcdError(.invalidResponse, "\(what()): \(field) is not an int64: \(text)")
            }
            return value
        case let number as NSNumber:
            return number.int64Value
        default:
            throw EtcdError(.invalidResponse, "\(what()): \(field) is not an int64")
        }
    }

    /// A bytes field: base64, or absent (empty).
    static func bytes(_ object: Object, _ field: String, what: @autoclosure () -> String) throws(EtcdError) -> [UInt8] {
        guard let value = object[field] else { return [] }
        guard let text = value as? String, let data = Data(base64Encoded: text) else {
            throw EtcdError(.invalidResponse, "\(what()): \(field) is not base64")
        }
        return Array(data)
    }

    static func headerRevision(_ object: Object, what: @autoclosure () -> String) throws(EtcdError) -> Int64 {
        try int64(object["header"] as? Object ?? [:], "revision", what: what())
    }

    static func keyValue(_ object: Object, what: @autoclosure () -> String) throws(EtcdError) -> EtcdKeyValue {
        EtcdKeyValue(
            key: String(decoding: try bytes(object, "key", what: what()), as: UTF8.self),
            value: try bytes(object, "value", what: what()),
            createRevision: try int64(object, "create_revision", what: what()),
            modRevision: try int64(object, "mod_revision", what: what()),
            version: try int64(object, "version", what: what()),
            lease: try int64(object, "lease", what: what()))
    }

    static func keyValues(_ object: Object, what: @autoclosure () -> String) throws(EtcdError) -> [EtcdKeyValue] {
        guard let list = object["kvs"] else { return [] }
        guard let list = list as? [Object] else { throw EtcdError(.invalidResponse, "\(what()): kvs is not a list of objects") }
        var result: [EtcdKeyValue] = []
        result.reserveCapacity(list.count)
        for item in list { result.append(try keyValue(item, what: what())) }
        return result
    }
}
