/// A JSON document read back (Otava's `--output json`): a small reader of RFC 8259's grammar, for
/// the one program whose output ipcbench reads as JSON.
enum JSONValue {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    subscript(_ name: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.0 == name }?.1 }
        return nil
    }

    var members: [(String, JSONValue)] { if case .object(let m) = self { return m }; return [] }
    var items: [JSONValue] { if case .array(let a) = self { return a }; return [] }
    var text: String? { if case .string(let s) = self { return s }; return nil }

    /// A number, or a string that holds one (Otava writes its figures as strings).
    var number: Double? {
        switch self {
        case .number(let d): return d
        case .string(let s): return Double(s)
        case .null, .bool, .array, .object: return nil
        }
    }

    /// The document in `text`, or nil when it is not one JSON value.
    static func parse(_ text: String) -> JSONValue? {
        var reader = Reader(bytes: Array(text.utf8))
        guard let value = reader.value() else { return nil }
        reader.skipSpace()
        return reader.at == reader.bytes.count ? value : nil
    }

    private struct Reader {
        let bytes: [UInt8]
        var at = 0
        var depth = 0

        mutating func skipSpace() {
            while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 }
        }

        mutating func literal(_ word: String, _ value: JSONValue) -> JSONValue? {
            let w = Array(word.utf8)
            guard at + w.count <= bytes.count, Array(bytes[at..<at + w.count]) == w else { return nil }
            at += w.count
            return value
        }

        mutating func value() -> JSONValue? {
            skipSpace()
            guard at < bytes.count, depth < 64 else { return nil }
            switch bytes[at] {
            case UInt8(ascii: "n"): return literal("null", .null)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "\""): return string().map(JSONValue.string)
            case UInt8(ascii: "["):
                at += 1; depth += 1; defer { depth -= 1 }
                var items: [JSONValue] = []
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
                while true {
                    guard let item = value() else { return nil }
                    items.append(item)
                    skipSpace()
                    guard at < bytes.count else { return nil }
                    if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
                    guard bytes[at] == UInt8(ascii: ",") else { return nil }
                    at += 1
                }
            case UInt8(ascii: "{"):
                at += 1; depth += 1; defer { depth -= 1 }
                var members: [(String, JSONValue)] = []
                skipSpace()
                if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\""), let name = string() else { return nil }
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { return nil }
                    at += 1
                    guard let member = value() else { return nil }
                    members.append((name, member))
                    skipSpace()
                    guard at < bytes.count else { return nil }
                    if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(members) }
                    guard bytes[at] == UInt8(ascii: ",") else { return nil }
                    at += 1
                }
            default:
                let start = at
                while at < bytes.count, Array("+-.0123456789eE".utf8).contains(bytes[at]) { at += 1 }
                return Double(String(decoding: bytes[start..<at], as: UTF8.self)).map(JSONValue.number)
            }
        }

        /// A string at `at` (its opening quote), its escapes read; nil when malformed.
        mutating func string() -> String? {
            at += 1
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() { scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars); raw = [] }
            while at < bytes.count {
                let b = bytes[at]
                at += 1
                switch b {
                case UInt8(ascii: "\""):
                    flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    guard at < bytes.count else { return nil }
                    let e = bytes[at]
                    at += 1
                    flush()
                    switch e {
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "b"): scalars.append("\u{8}")
                    case UInt8(ascii: "f"): scalars.append("\u{C}")
                    case UInt8(ascii: "u"):
                        guard at + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16) else { return nil }
                        at += 4
                        scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")  // a lone surrogate half: the replacement character
                    default: scalars.append(Unicode.Scalar(e))
                    }
                default:
                    raw.append(b)
                }
            }
            return nil
        }
    }
}
