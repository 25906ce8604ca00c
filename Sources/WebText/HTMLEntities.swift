/// HTML's named and numeric character references, decoded the way HTML5 decodes them: the
/// WHATWG table of names (`HTMLEntityNames.swift`), numeric references with the C1 remap
/// (`&#146;` → `’`), and U+FFFD for NUL, surrogates and values beyond Unicode.
public enum HTMLEntities {
  /// Name → replacement text, unpacked once on first use.
  static let table: [String: String] = {
    var t: [String: String] = [:]
    t.reserveCapacity(2200)
    for token in packedTable.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
      guard let colon = token.firstIndex(of: ":") else { continue }
      var value = String.UnicodeScalarView()
      for hex in token[token.index(after: colon)...].split(separator: ".") {
        if let v = UInt32(hex, radix: 16), let s = Unicode.Scalar(v) { value.append(s) }
      }
      t[String(token[..<colon])] = String(value)
    }
    return t
  }()

  /// The replacement text of the named reference `&name;` (case-sensitive, without `&` and
  /// `;`), or nil when HTML has no such name.
  public static func value(named name: String) -> String? { table[name] }

  /// The same for a name given as UTF-8 bytes.
  public static func value(named name: UnsafeBufferPointer<UInt8>) -> String? {
    table[String(decoding: name, as: UTF8.self)]
  }

  /// The code point a numeric reference's value stands for, as HTML5 reads it.
  @inline(__always)
  public static func numericValue(_ v: UInt32) -> UInt32 {
    if v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) { return 0xFFFD }
    return C1Controls.remap(scalar: v)
  }

  /// Decodes the reference that starts at `b[i]` (an `&`): the decoded UTF-8 and the index
  /// after the reference, or nil when it is not one (the `&T` of "AT&T" stays as written).
  /// Names are letters then letters or digits, at most 32; numbers at most 8 digits; both
  /// need their `;`.
  public static func decodeReference(
    _ b: UnsafeBufferPointer<UInt8>, at i: Int, into out: inout [UInt8]
  ) -> Int? {
    let n = b.count
    var j = i + 1
    if j < n && b[j] == UInt8(ascii: "#") {
      j += 1
      var hex = false
      if j < n && (b[j] | 0x20) == UInt8(ascii: "x") {
        hex = true
        j += 1
      }
      var v: UInt32 = 0
      let digitsStart = j
      while j < n && j - digitsStart < 8 {
        let d = b[j]
        if d &- 0x30 < 10 {
          v = v * (hex ? 16 : 10) + UInt32(d - 0x30)
        } else if hex && (d | 0x20) &- 0x61 < 6 {
          v = v * 16 + UInt32((d | 0x20) - 0x61 + 10)
        } else {
          break
        }
        j += 1
      }
      guard j > digitsStart && j < n && b[j] == UInt8(ascii: ";") else { return nil }
      C1Controls.appendUTF8(numericValue(v), to: &out)
      return j + 1
    }
    let nameStart = j
    while j < n && j - nameStart < 32 && (isAlpha(b[j]) || (j > nameStart && isDigit(b[j]))) {
      j += 1
    }
    guard j > nameStart && j < n && b[j] == UInt8(ascii: ";"),
      let value = value(named: UnsafeBufferPointer(rebasing: b[nameStart..<j]))
    else { return nil }
    out.append(contentsOf: value.utf8)
    return j + 1
  }

  /// `b` with every character reference decoded and C1 controls remapped; anything that is
  /// not a reference stays as written.
  public static func decode(_ b: UnsafeBufferPointer<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(b.count)
    var i = 0
    var run = 0
    let n = b.count
    while i < n {
      guard b[i] == UInt8(ascii: "&") else {
        i += 1
        continue
      }
      if i > run {
        C1Controls.appendRemapped(UnsafeBufferPointer(rebasing: b[run..<i]), to: &out)
      }
      if let next = decodeReference(b, at: i, into: &out) {
        i = next
      } else {
        out.append(b[i])
        i += 1
      }
      run = i
    }
    if n > run { C1Controls.appendRemapped(UnsafeBufferPointer(rebasing: b[run..<n]), to: &out) }
    return out
  }

  public static func decode(_ s: String) -> String {
    var copy = s
    return copy.withUTF8 { String(decoding: decode($0), as: UTF8.self) }
  }

  @inline(__always) static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 }
  @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
}
