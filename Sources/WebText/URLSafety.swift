/// The one URL-scheme rule: how a scheme is read (as a browser reads it) and which schemes are
/// safe where. The SAX reader, the sanitiser and the publisher all decide through it.
///
/// A reference is read as WHATWG URL parsing reads it: leading C0 controls and spaces are
/// skipped and tabs and newlines ignored anywhere, so `java&#9;script:` and `\u{1}javascript:`
/// are script URLs too. A scheme is RFC 3986's `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`
/// before the first `:`.
public enum URLSafety {
  /// What a reference's scheme says about it.
  public enum Kind: Sendable, Equatable {
    /// No scheme: resolved against a base.
    case relative
    /// A scheme that does not run code (`http:`, `mailto:`, `data:`…).
    case absolute
    /// `javascript:` or `vbscript:`: never kept anywhere.
    case script
  }

  /// Schemes kept in sanitised HTML links and image sources (`data:` is decided apart: only
  /// images, see `isImageData`).
  public static let htmlSchemes: Set<String> = [
    "http", "https", "ftp", "ftps", "mailto", "tel", "news", "nntp", "sms", "xmpp", "magnet",
    "geo", "irc", "ircs",
  ]

  /// Reads the scheme of `b`: calls `visit` with each scheme byte lowercased and its position,
  /// and returns the scheme's length and the index of its `:` in `b`, or nil when there is no
  /// scheme.
  @inline(__always)
  static func readScheme(
    _ b: UnsafeBufferPointer<UInt8>, _ visit: (UInt8, Int) -> Void
  ) -> (length: Int, colon: Int)? {
    var i = 0
    var k = 0
    while k < b.count {
      let c = b[k]
      k += 1
      if c == 0x09 || c == 0x0A || c == 0x0D || (i == 0 && c <= 0x20) { continue }
      switch c {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
        visit(c | 0x20, i)
      case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"),
        UInt8(ascii: "."):
        if i == 0 { return nil }
        visit(c, i)
      case UInt8(ascii: ":"):
        return i == 0 ? nil : (i, k - 1)
      default:
        return nil
      }
      i += 1
    }
    return nil
  }

  /// Whether a reference (UTF-8 bytes) is relative, absolute or a script URL. Allocates
  /// nothing: the SAX reader calls it for every link.
  public static func classify(_ bytes: UnsafeBufferPointer<UInt8>) -> Kind {
    var javascript = true
    var vbscript = true
    let found = readScheme(bytes) { c, i in
      javascript = javascript && i < 10 && javascriptBytes[i] == c
      vbscript = vbscript && i < 8 && vbscriptBytes[i] == c
    }
    guard let (length, _) = found else { return .relative }
    return (javascript && length == 10) || (vbscript && length == 8) ? .script : .absolute
  }

  public static func classify(_ s: String) -> Kind {
    var copy = s
    return copy.withUTF8 { classify($0) }
  }

  private static let javascriptBytes: [UInt8] = Array("javascript".utf8)
  private static let vbscriptBytes: [UInt8] = Array("vbscript".utf8)

  /// The lowercased scheme of a reference, when it has one.
  public static func scheme(of s: String) -> String? {
    var copy = s
    return copy.withUTF8 { b -> String? in
      var scheme: [UInt8] = []
      guard readScheme(b, { c, _ in scheme.append(c) }) != nil else { return nil }
      return String(decoding: scheme, as: UTF8.self)
    }
  }

  /// The publisher's rule for links it writes (entry, enclosure, author and source links): only
  /// `http://` and `https://` URLs, trimmed; nil for anything else, so a hostile `javascript:` or
  /// `data:` link from a source never reaches a reader or our HTML page.
  public static func webLink(_ s: String?) -> String? {
    guard let s else { return nil }
    let trimmed = HTMLText.trimmed(s)
    guard !trimmed.isEmpty else { return nil }
    var copy = trimmed
    let ok = copy.withUTF8 { b -> Bool in
      var http = true
      guard
        let (length, colon) = readScheme(
          b,
          { c, i in http = http && i < 5 && httpsBytes[i] == c })
      else { return false }
      guard http, length == 4 || length == 5, colon + 2 < b.count else { return false }
      return b[colon + 1] == UInt8(ascii: "/") && b[colon + 2] == UInt8(ascii: "/")
    }
    return ok ? trimmed : nil
  }

  private static let httpsBytes: [UInt8] = Array("https".utf8)

  /// Whether an `img` source is a `data:` URL of an image type every reader shows (png, gif,
  /// jpeg, webp): the only `data:` URLs kept.
  public static func isImageData(_ value: String) -> Bool {
    let lower = value.prefix(32).lowercased()
    for type in ["png", "gif", "jpeg", "jpg", "webp"] {
      let prefix = "data:image/\(type)"
      if lower.hasPrefix(prefix) {
        let rest = lower.dropFirst(prefix.count)
        return rest.hasPrefix(";") || rest.hasPrefix(",")
      }
    }
    return false
  }
}
