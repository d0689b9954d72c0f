import FoundationEssentials
import IPCPlatform

/// A JSON value, written with its object's keys in the order given (RFC 8259).
package enum JSON: Sendable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    /// A string, or null for nil or an empty one (an empty CSV cell).
    package static func nullable(_ s: String?) -> JSON { s.flatMap { $0.isEmpty ? nil : JSON.string($0) } ?? .null }
    package static func nullable(_ v: Double?) -> JSON { v.map(JSON.number) ?? .null }

    /// The value as JSON text, two spaces an indent level, one member or element a line.
    package func text(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let i): return String(i)
        // The shortest text that reads back as the same Double; JSON has no NaN or infinity.
        case .number(let d): return d.isFinite ? String(d) : "null"
        case .string(let s): return JSON.quoted(s)
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { inner + $0.text(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let members):
            if members.isEmpty { return "{}" }
            return "{\n" + members.map { inner + JSON.quoted($0.0) + ": " + $0.1.text(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "}"
        }
    }

    /// A JSON string: quotes and backslashes escaped, and every control character (C0, DEL, C1) and
    /// line or paragraph separator as `\uXXXX`, so that no reader's terminal acts on text from a file.
    package static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                let category = scalar.properties.generalCategory
                if category == .control || category == .lineSeparator || category == .paragraphSeparator {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// JSON text of a value: keys sorted, two-space indents, a final newline.
package func jsonText(_ tree: JSONTree) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(tree), as: UTF8.self) + "\n"
}
