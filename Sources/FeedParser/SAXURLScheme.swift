/// URL-scheme classification used by the SAX reader (moved here unchanged from FeedSAX.swift; to be
/// replaced by the shared implementation).
extension FeedSAXReader {
  enum SchemeKind { case relative, absolute, script }

  /// Whether a reference has a scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"),
  /// and whether it is one that runs code.
  ///
  /// Read as a browser reads it (WHATWG URL parsing): leading C0 controls and spaces are
  /// skipped and tabs and newlines ignored anywhere, so `java&#9;script:` and `\u{1}javascript:`
  /// are script URLs too (the fuzzer found the tab form kept as an entry link:
  /// Tests/Fuzz/regressions/parser/link-tab-in-scheme.xml).
  static func schemeKind(_ s: String) -> SchemeKind {
    var i = 0
    var javascript = true
    var vbscript = true
    for c in s.utf8 {
      if c == 0x09 || c == 0x0A || c == 0x0D || (i == 0 && c <= 0x20) { continue }
      switch c {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
        let lower = c | 0x20
        javascript = javascript && i < 10 && javascriptBytes[i] == lower
        vbscript = vbscript && i < 8 && vbscriptBytes[i] == lower
      case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"),
        UInt8(ascii: "."):
        if i == 0 { return .relative }
        javascript = false
        vbscript = false
      case UInt8(ascii: ":"):
        if i == 0 { return .relative }
        return (javascript && i == 10) || (vbscript && i == 8) ? .script : .absolute
      default:
        return .relative
      }
      i += 1
    }
    return .relative
  }
  static let javascriptBytes = Array("javascript".utf8)
  static let vbscriptBytes = Array("vbscript".utf8)
}
