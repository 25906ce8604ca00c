/// Code points U+0080…U+009F read as windows-1252, as HTML5 reads the numeric character
/// references `&#128;`…`&#159;` (the WHATWG table): old CMSes write `&#146;` for a right single
/// quote, and an XML parser turns it into the C1 control U+0092, which no one means.
public enum C1Controls {
  /// The replacement for U+0080 + i; the five code points windows-1252 leaves undefined (81,
  /// 8D, 8F, 90, 9D) map to themselves, as in HTML5.
  static let table: [UInt32] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
  ]

  /// The code point HTML5 gives a numeric character reference to `value` in U+0080…U+009F;
  /// any other value is returned as it is.
  @inline(__always)
  public static func remap(scalar value: UInt32) -> UInt32 {
    value &- 0x80 < 0x20 ? table[Int(value - 0x80)] : value
  }

  /// Whether UTF-8 bytes hold a remappable C1 control (C2 80…C2 9F).
  public static func needsRemap(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    let n = bytes.count
    var i = 0
    while i + 1 < n {
      if bytes[i] == 0xC2 && isRemapped(secondByte: bytes[i + 1]) { return true }
      i += 1
    }
    return false
  }

  @inline(__always) static func isMapped(_ second: UInt8) -> Bool {
    table[Int(second - 0x80)] != UInt32(second)
  }

  /// Whether C2 followed by `second` is a C1 control that `appendRemapped` replaces.
  @inline(__always) public static func isRemapped(secondByte second: UInt8) -> Bool {
    second &- 0x80 < 0x20 && isMapped(second)
  }

  /// Appends `bytes` to `out` with every mapped C1 control replaced (UTF-8 in, UTF-8 out).
  public static func appendRemapped(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
    let n = bytes.count
    var i = 0
    var run = 0
    while i < n {
      if bytes[i] == 0xC2, i + 1 < n, isRemapped(secondByte: bytes[i + 1]) {
        if i > run { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<i])) }
        appendUTF8(table[Int(bytes[i + 1] - 0x80)], to: &out)
        i += 2
        run = i
      } else {
        i += 1
      }
    }
    if n > run { out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[run..<n])) }
  }

  /// `s` with U+0080…U+009F read as windows-1252 (the same string when it has none).
  public static func remap(_ s: String) -> String {
    var copy = s
    return copy.withUTF8 { b in
      guard needsRemap(b) else { return s }
      var out: [UInt8] = []
      out.reserveCapacity(b.count + 8)
      appendRemapped(b, to: &out)
      return String(decoding: out, as: UTF8.self)
    }
  }

  @inline(__always)
  static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
    if v < 0x80 {
      out.append(UInt8(v))
    } else if v < 0x800 {
      out.append(UInt8(0xC0 | (v >> 6)))
      out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
      out.append(UInt8(0xE0 | (v >> 12)))
      out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
      out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
      out.append(UInt8(0xF0 | (v >> 18)))
      out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
      out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
      out.append(UInt8(0x80 | (v & 0x3F)))
    }
  }
}
