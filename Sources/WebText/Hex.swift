/// Lowercase hexadecimal, the one encoder every stage uses (published ids, HMAC signatures,
/// WebSub challenges and tokens).
public enum Hex {
  private static let digits = Array("0123456789abcdef".utf8)

  /// `bytes` as lowercase hex, two digits per byte.
  public static func encode(_ bytes: some Sequence<UInt8>) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// The bytes of an even-length hex string (either case), or nil when it is not one.
  public static func decode(_ text: some StringProtocol) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    func value(_ c: UInt8) -> UInt8? {
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
      default: return nil
      }
    }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count / 2)
    var i = 0
    while i < utf8.count {
      guard let high = value(utf8[i]), let low = value(utf8[i + 1]) else { return nil }
      out.append(high << 4 | low)
      i += 2
    }
    return out
  }
}
