import Foundation
import WebText

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Append-only UTF-8 output with escaping that keeps every document well-formed whatever the
/// sources contained: characters illegal in XML 1.0 are dropped, markup characters escaped, and
/// CDATA is never used (so `]]>` can never appear raw).
struct Output {
  var bytes: [UInt8] = []

  init(capacity: Int = 64 * 1024) { bytes.reserveCapacity(capacity) }

  /// Raw markup we wrote ourselves (never source data).
  mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

  /// Whether a scalar may appear in an XML 1.0 document at all.
  @inline(__always)
  static func isXMLChar(_ v: UInt32) -> Bool {
    switch v {
    case 0x9, 0xA, 0xD: return true
    case 0x20...0xD7FF: return true
    case 0xE000...0xFFFD: return true
    case 0x10000...0x10FFFF: return true
    default: return false
    }
  }

  /// Escaped character data or attribute value (both quote kinds escaped, CR/TAB/LF kept as
  /// character references so attribute normalisation cannot change them).
  mutating func text(_ s: String) {
    // Fast path: nothing to escape or drop.
    var clean = true
    for b in s.utf8
    where b < 0x20 || b == UInt8(ascii: "&") || b == UInt8(ascii: "<")
      || b == UInt8(ascii: ">") || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") || b == 0xEF
    {
      clean = false
      break
    }
    if clean {
      bytes.append(contentsOf: s.utf8)
      return
    }
    for scalar in s.unicodeScalars {
      switch scalar {
      case "&": raw("&amp;")
      case "<": raw("&lt;")
      case ">": raw("&gt;")
      case "\"": raw("&quot;")
      case "'": raw("&#39;")
      case "\r": raw("&#13;")
      case "\t": raw("&#9;")
      case "\n": bytes.append(0x0A)
      default:
        guard Output.isXMLChar(scalar.value) else { continue }
        appendScalar(scalar)
      }
    }
  }

  @inline(__always)
  mutating func appendScalar(_ scalar: Unicode.Scalar) {
    let v = scalar.value
    if v < 0x80 {
      bytes.append(UInt8(v))
    } else {
      UTF8.encode(scalar) { bytes.append($0) }
    }
  }

  /// `<name a="v" …>` with escaped values; attributes whose value is nil are omitted.
  mutating func open(_ name: String, _ attributes: [(String, String?)] = [], close: Bool = false) {
    raw("<")
    raw(name)
    for (k, v) in attributes {
      guard let v else { continue }
      raw(" ")
      raw(k)
      raw("=\"")
      text(v)
      raw("\"")
    }
    raw(close ? "/>" : ">")
  }

  mutating func close(_ name: String) {
    raw("</")
    raw(name)
    raw(">")
  }

  /// `<name attrs>escaped text</name>`, or nothing when `value` is nil.
  mutating func element(_ name: String, _ value: String?, _ attributes: [(String, String?)] = []) {
    guard let value else { return }
    open(name, attributes)
    text(value)
    close(name)
  }

  // MARK: JSON

  /// A JSON string literal. Swift strings hold only scalars, so no lone surrogate can reach the
  /// output; controls, quotes, backslashes and U+2028/2029 are escaped, non-characters dropped.
  mutating func jsonString(_ s: String) {
    bytes.append(UInt8(ascii: "\""))
    for scalar in s.unicodeScalars {
      let v = scalar.value
      switch v {
      case 0x22: raw("\\\"")
      case 0x5C: raw("\\\\")
      case 0x0A: raw("\\n")
      case 0x0D: raw("\\r")
      case 0x09: raw("\\t")
      case 0x00..<0x20, 0x7F, 0x2028, 0x2029:
        raw("\\u")
        raw(Output.hex4(v))
      case 0xFFFE, 0xFFFF: continue
      default: appendScalar(scalar)
      }
    }
    bytes.append(UInt8(ascii: "\""))
  }

  static func hex4(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
  }
}

/// Date forms the formats need, without `DateFormatter` (not cheap, and locale-dependent).
enum DateFormat {
  private static func components(_ date: Date, offset: Int = 0) -> tm {
    var t = time_t(floor(date.timeIntervalSince1970)) + time_t(offset)
    var parts = tm()
    gmtime_r(&t, &parts)
    return parts
  }

  private static func pad(_ v: Int32, _ width: Int = 2) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
  }

  /// RFC 3339 in UTC, whole seconds: `2026-11-29T01:29:53Z`.
  static func rfc3339(_ date: Date) -> String {
    let c = components(date)
    return
      "\(pad(c.tm_year + 1900, 4))-\(pad(c.tm_mon + 1))-\(pad(c.tm_mday))T\(pad(c.tm_hour)):\(pad(c.tm_min)):\(pad(c.tm_sec))Z"
  }

  private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
  private static let months = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
  ]

  /// RFC 822 (with a four-digit year, as RSS 2.0 readers expect): `Sun, 29 Nov 2026 01:29:53 +0000`.
  static func rfc822(_ date: Date) -> String {
    let c = components(date)
    return
      "\(days[Int(c.tm_wday)]), \(pad(c.tm_mday)) \(months[Int(c.tm_mon)]) \(pad(c.tm_year + 1900, 4)) \(pad(c.tm_hour)):\(pad(c.tm_min)):\(pad(c.tm_sec)) +0000"
  }

  /// HTTP-date (RFC 9110 IMF-fixdate): `Sun, 29 Nov 2026 01:29:53 GMT`.
  static func http(_ date: Date) -> String {
    let c = components(date)
    return
      "\(days[Int(c.tm_wday)]), \(pad(c.tm_mday)) \(months[Int(c.tm_mon)]) \(pad(c.tm_year + 1900, 4)) \(pad(c.tm_hour)):\(pad(c.tm_min)):\(pad(c.tm_sec)) GMT"
  }

  private static let ltMonths = [
    "sausio", "vasario", "kovo", "balandžio", "gegužės", "birželio", "liepos", "rugpjūčio",
    "rugsėjo", "spalio", "lapkričio", "gruodžio",
  ]
  private static let vilnius =
    TimeZone(identifier: "Europe/Vilnius") ?? TimeZone(secondsFromGMT: 7200)!

  /// A date for people, in Vilnius time: `2026 m. lapkričio 29 d. 03:29` (lt) or
  /// `29 Nov 2026, 03:29` (other languages).
  static func human(_ date: Date, language: String) -> String {
    let c = components(date, offset: vilnius.secondsFromGMT(for: date))
    if language.lowercased().hasPrefix("lt") {
      return
        "\(c.tm_year + 1900) m. \(ltMonths[Int(c.tm_mon)]) \(c.tm_mday) d. \(pad(c.tm_hour)):\(pad(c.tm_min))"
    }
    return
      "\(c.tm_mday) \(months[Int(c.tm_mon)]) \(c.tm_year + 1900), \(pad(c.tm_hour)):\(pad(c.tm_min))"
  }
}

/// Parses an HTTP-date (IMF-fixdate only, which is what we send) for `If-Modified-Since`.
public enum HTTPDate {
  public static func format(_ date: Date) -> String { DateFormat.http(date) }

  public static func parse(_ s: String) -> Date? {
    // "Sun, 29 Nov 2026 01:29:53 GMT"
    let parts = s.split(separator: " ")
    guard parts.count == 6, parts[5] == "GMT",
      let day = Int(parts[1]), let year = Int(parts[3])
    else { return nil }
    let months = [
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    guard let mon = months.firstIndex(of: String(parts[2])) else { return nil }
    let hms = parts[4].split(separator: ":").compactMap { Int($0) }
    guard hms.count == 3 else { return nil }
    var t = tm()
    t.tm_year = Int32(year - 1900)
    t.tm_mon = Int32(mon)
    t.tm_mday = Int32(day)
    t.tm_hour = Int32(hms[0])
    t.tm_min = Int32(hms[1])
    t.tm_sec = Int32(hms[2])
    let secs = timegm(&t)
    return Date(timeIntervalSince1970: TimeInterval(secs))
  }
}

enum Hashing {
  /// A strong ETag from the bytes: two independent 64-bit FNV-1a lanes plus the length. Not
  /// cryptographic; it only has to change when the bytes do.
  static func etag(_ bytes: [UInt8]) -> String {
    var h1: UInt64 = 0xcbf2_9ce4_8422_2325
    var h2: UInt64 = 0x8422_2325_cbf2_9ce4
    bytes.withUnsafeBufferPointer { buf in
      for b in buf {
        h1 = (h1 ^ UInt64(b)) &* 0x0000_0100_0000_01b3
        h2 = (h2 &+ UInt64(b)) &* 0x9E37_79B9_7F4A_7C15
        h2 ^= h2 >> 29
      }
    }
    return "\"\(String(h1, radix: 16))\(String(h2, radix: 16))-\(String(bytes.count, radix: 16))\""
  }
}

/// The publisher's names for the shared text rules (`WebText`).
enum TextTools {
  /// Only http(s) URLs are ever written as links (`URLSafety.webLink`): a hostile `javascript:`
  /// or `data:` link from a source must not reach a reader or our HTML page.
  static func safeURL(_ s: String?) -> String? { URLSafety.webLink(s) }

  /// Sanitised entry HTML → plain text for the HTML page and JSON `summary`
  /// (`HTMLText.plainText`), cut at `limit` characters on a word.
  static func plainText(_ html: String, limit: Int = .max) -> String {
    HTMLText.plainText(html, limit: limit)
  }
}
