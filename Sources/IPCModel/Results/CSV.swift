import IPCPlatform

/// RFC 4180: a field with a comma, quote or line break goes in quotes, its quotes doubled.
public func csvField(_ text: String) -> String {
    // By scalar: "\r\n" is one Character, equal to neither "\r" nor "\n".
    guard text.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
    var quoted = "\""
    for c in text {
        if c == "\"" { quoted.append("\"") }
        quoted.append(c)
    }
    return quoted + "\""
}

/// One CSV record with its CRLF terminator, as RFC 4180 writes it.
public func csvLine(_ fields: [String]) -> String {
    fields.map(csvField).joined(separator: ",") + "\r\n"
}

/// `text` with each control character (C0, DEL, C1) written as an escape (`\u{1B}`), so that a
/// terminal shows it instead of acting on it; line breaks stay when `keepingLineBreaks`.
public func escapingControlCharacters(_ text: String, keepingLineBreaks: Bool = false) -> String {
    guard hasControlCharacter(text) else { return text }
    var out = ""
    for scalar in text.unicodeScalars {
        if scalar.properties.generalCategory == .control && !(keepingLineBreaks && scalar == "\n") {
            out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        } else {
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// A cell for a spreadsheet (pivot, compare --format csv): control characters escaped, and text
/// that a spreadsheet would take for a formula (beginning with `=`, `+`, `-`, `@`) prefixed with an
/// apostrophe, as OWASP advises against CSV injection. A plain decimal number (`-1.5`) stays as it is.
public func spreadsheetCell(_ text: String) -> String {
    let cell = escapingControlCharacters(text)
    guard let first = cell.unicodeScalars.first, "=+-@".unicodeScalars.contains(first), !isPlainDecimal(cell) else { return cell }
    return "'" + cell
}

/// One CSV record of spreadsheet cells (`spreadsheetCell`), with its CRLF terminator.
public func spreadsheetLine(_ fields: [String]) -> String { csvLine(fields.map(spreadsheetCell)) }

/// Splits CSV text into records of fields (quotes, doubled quotes and line breaks in quotes).
public func parseCSV(_ text: String) -> [[String]] {
    var records: [[String]] = []
    var record: [String] = []
    var field = ""
    var inQuotes = false
    var iterator = Array(text.unicodeScalars).makeIterator()
    var pending: Unicode.Scalar? = nil
    while let c = pending ?? iterator.next() {
        pending = nil
        if inQuotes {
            if c == "\"" {
                if let next = iterator.next() {
                    if next == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = next }
                } else {
                    inQuotes = false
                }
            } else {
                field.unicodeScalars.append(c)
            }
            continue
        }
        switch c {
        case "\"": inQuotes = true
        case ",": record.append(field); field = ""
        case "\r": break
        case "\n": record.append(field); records.append(record); record = []; field = ""
        default: field.unicodeScalars.append(c)
        }
    }
    if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
    return records
}

/// A number with a fixed count of decimals (0 to 30) and a `.` point, never in exponent form:
/// spreadsheets in every locale read it as a number. Halves round away from zero; values too large
/// for 64-bit arithmetic print their exact digits. NaN and the infinities print as an empty cell.
public func formatDecimal(_ value: Double, places: Int) -> String {
    guard value.isFinite else { return "" }
    let places = min(max(places, 0), 30)
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let digits = scaled < 9e18 ? String(Int64(scaled)) : exactScaledDigits(abs(value), places: places)
    let sign = value < 0 && digits.contains(where: { $0 != "0" }) ? "-" : ""
    if places == 0 { return sign + digits }
    let padded = String(repeating: "0", count: max(0, places + 1 - digits.count)) + digits
    return sign + padded.dropLast(places) + "." + padded.suffix(places)
}

/// The decimal digits of round(magnitude × 10^places), computed exactly in base 10^9 limbs (least
/// significant first), for a finite magnitude of any size.
package func exactScaledDigits(_ magnitude: Double, places: Int) -> String {
    guard magnitude > 0 else { return "0" }
    // magnitude = whole × 2^exponent, exactly.
    let whole = magnitude.isNormal ? magnitude.significandBitPattern | (1 << 52) : magnitude.significandBitPattern
    var exponent = magnitude.isNormal ? Int(magnitude.exponent) - 52 : -1074
    let base: UInt64 = 1_000_000_000
    var limbs: [UInt64] = [whole % base, whole / base % base, whole / base / base]

    func multiply(by factor: UInt64) {  // factor < 2^32
        var carry: UInt64 = 0
        for k in limbs.indices {
            let product = limbs[k] * factor + carry
            limbs[k] = product % base
            carry = product / base
        }
        while carry > 0 { limbs.append(carry % base); carry /= base }
    }
    func divide(by divisor: UInt64) {  // floor; divisor < 2^32
        var remainder: UInt64 = 0
        for k in limbs.indices.reversed() {
            let current = remainder * base + limbs[k]
            limbs[k] = current / divisor
            remainder = current % divisor
        }
    }
    func add(_ other: [UInt64]) {
        var carry: UInt64 = 0
        for k in 0..<max(limbs.count, other.count) {
            if k == limbs.count { limbs.append(0) }
            let sum = limbs[k] + (k < other.count ? other[k] : 0) + carry
            limbs[k] = sum % base
            carry = sum / base
        }
        if carry > 0 { limbs.append(carry) }
    }

    for _ in 0..<places { multiply(by: 10) }
    while exponent > 0 {
        let step = min(exponent, 30)
        multiply(by: 1 << UInt64(step))
        exponent -= step
    }
    if exponent < 0 {
        // Add half of 2^-exponent, then divide by it: round half away from zero.
        var half = limbs
        limbs = [1]
        for _ in 0..<(-exponent - 1) { multiply(by: 2) }
        swap(&half, &limbs)
        add(half)
        while exponent < 0 {
            let step = min(-exponent, 30)
            divide(by: 1 << UInt64(step))
            exponent += step
        }
    }
    while limbs.count > 1 && limbs.last == 0 { limbs.removeLast() }
    var text = String(limbs.last!)
    for limb in limbs.dropLast().reversed() {
        let part = String(limb)
        text += String(repeating: "0", count: 9 - part.count) + part
    }
    return text
}

/// `isPlainNumber` by bytes: digits, an optional leading `-`, at most one `.` with digits either side.
package func isPlainDecimal(_ text: String) -> Bool {
    var digitsBefore = 0, digitsAfter = 0, points = 0
    for (i, b) in text.utf8.enumerated() {
        if b == 0x2D && i == 0 { continue }
        if b == 0x2E { points += 1; if points > 1 { return false }; continue }
        guard b >= 0x30 && b <= 0x39 else { return false }
        if points == 0 { digitsBefore += 1 } else { digitsAfter += 1 }
    }
    return digitsBefore > 0 && (points == 0 || digitsAfter > 0)
}

/// True when `text` holds a control character (C0, DEL or C1): a terminal would act on it.
public func hasControlCharacter(_ text: String) -> Bool {
    var previous: UInt8 = 0
    for b in text.utf8 {
        if b < 0x20 || b == 0x7F || (previous == 0xC2 && b >= 0x80 && b <= 0x9F) { return true }
        previous = b
    }
    return false
}
