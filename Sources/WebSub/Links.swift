import Foundation
import WebText

/// The hubs and self URL of a topic (WebSub §4): rendered as an RFC 8288 `Link` header by our
/// documents and found in a source's response headers or document by the subscriber.
public struct WebSubLinks: Sendable, Hashable {
  public var hubs: [URL]
  public var selfURL: URL?

  public init(hubs: [URL] = [], selfURL: URL? = nil) {
    self.hubs = hubs
    self.selfURL = selfURL
  }

  /// `<hub>; rel="hub", …, <self>; rel="self"`, or nil when there is nothing to say.
  public var headerValue: String? {
    var parts = hubs.map { "<\($0.absoluteString)>; rel=\"hub\"" }
    if let selfURL { parts.append("<\(selfURL.absoluteString)>; rel=\"self\"") }
    return parts.isEmpty ? nil : parts.joined(separator: ", ")
  }

  /// The hub and self links of every `Link` field value (RFC 8288 §3: comma-separated
  /// link-values, `;` parameters, `rel` a quoted or bare list of space-separated relation
  /// types, case-insensitive), relative targets resolved against `base`. Hubs keep their order
  /// without repeats; the first self wins.
  public static func parse(headers: [String], base: URL?) -> WebSubLinks {
    var out = WebSubLinks()
    for field in headers {
      for value in splitOutside(field, separator: ",") {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("<"), let close = trimmed.firstIndex(of: ">") else { continue }
        let target = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
          .trimmingCharacters(in: .whitespaces)
        let params = splitOutside(
          String(trimmed[trimmed.index(after: close)...]), separator: ";")
        var rels: [String] = []
        for param in params {
          let pair = param.split(separator: "=", maxSplits: 1)
          guard pair.count == 2,
            pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "rel"
          else { continue }
          var v = pair[1].trimmingCharacters(in: .whitespaces)
          if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 {
            v = String(v.dropFirst().dropLast())
          }
          rels = v.split(separator: " ").map { $0.lowercased() }
          break  // RFC 8288 §3.3: only the first rel parameter counts
        }
        // A relative target without a base stays relative: of no use to a subscriber.
        guard let url = URL(string: target, relativeTo: base)?.absoluteURL, url.scheme != nil
        else { continue }
        if rels.contains("hub"), !out.hubs.contains(url) { out.hubs.append(url) }
        if rels.contains("self"), out.selfURL == nil { out.selfURL = url }
      }
    }
    return out
  }

  /// §4 discovery: the `Link` headers win when they name a hub (their self, else the
  /// document's); otherwise the document's own hub and self links.
  public static func discover(
    headers: [String], documentHubs: [URL], documentSelf: URL?, base: URL?
  ) -> WebSubLinks {
    let fromHeaders = parse(headers: headers, base: base)
    if !fromHeaders.hubs.isEmpty {
      return WebSubLinks(hubs: fromHeaders.hubs, selfURL: fromHeaders.selfURL ?? documentSelf)
    }
    var hubs: [URL] = []
    for hub in documentHubs where !hubs.contains(hub) { hubs.append(hub) }
    return WebSubLinks(hubs: hubs, selfURL: documentSelf)
  }

  /// Splits on `separator` where it is outside `<…>` and quoted strings (with `\` escapes).
  static func splitOutside(_ text: String, separator: Character) -> [String] {
    var parts: [String] = []
    var current = ""
    var inAngle = false
    var inQuote = false
    var escaped = false
    for c in text {
      if escaped {
        current.append(c)
        escaped = false
        continue
      }
      switch c {
      case "\\" where inQuote: escaped = true
      case "\"" where !inAngle: inQuote.toggle()
      case "<" where !inQuote: inAngle = true
      case ">" where !inQuote: inAngle = false
      case separator where !inAngle && !inQuote:
        parts.append(current)
        current = ""
        continue
      default: break
      }
      current.append(c)
    }
    parts.append(current)
    return parts
  }
}

/// The hub's GET requests to a callback (§5.2, §5.3): the callback's own query is kept and the
/// `hub.*` parameters appended, every value strictly percent-encoded.
public enum CallbackQuery {
  /// Verification of intent: `hub.mode`, `hub.topic`, `hub.challenge`, `hub.lease_seconds`.
  public static func verification(
    callback: URL, mode: String, topic: String, challenge: String, leaseSeconds: Int?
  ) -> URL {
    var fields = [("hub.mode", mode), ("hub.topic", topic), ("hub.challenge", challenge)]
    if let leaseSeconds { fields.append(("hub.lease_seconds", String(leaseSeconds))) }
    return append(fields, to: callback)
  }

  /// Denial (§5.2): `hub.mode=denied`, `hub.topic`, `hub.reason`.
  public static func denial(callback: URL, topic: String, reason: String) -> URL {
    append([("hub.mode", "denied"), ("hub.topic", topic), ("hub.reason", reason)], to: callback)
  }

  /// 32 random bytes as 64 hex digits: a challenge, a callback token, a secret.
  public static func challenge() -> String {
    var generator = SystemRandomNumberGenerator()
    return Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
  }

  /// RFC 3986 unreserved characters, the only ones left unencoded in a query value.
  static let unreserved: CharacterSet = {
    var allowed = CharacterSet(charactersIn: "-._~")
    allowed.formUnion(CharacterSet(charactersIn: "a"..."z"))
    allowed.formUnion(CharacterSet(charactersIn: "A"..."Z"))
    allowed.formUnion(CharacterSet(charactersIn: "0"..."9"))
    return allowed
  }()

  /// Percent-encodes everything but the unreserved characters (`+`, `&`, `=`, `/`, `:` too), so
  /// no receiver's form decoding can misread a value.
  public static func encode(_ value: String) -> String {
    value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
  }

  static func append(_ fields: [(String, String)], to callback: URL) -> URL {
    let query = fields.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    var text = callback.absoluteString
    if let hash = text.firstIndex(of: "#") { text = String(text[..<hash]) }
    if let q = text.firstIndex(of: "?") {
      let existing = text[text.index(after: q)...]
      text += existing.isEmpty ? query : "&" + query
    } else {
      text += "?" + query
    }
    return URL(string: text) ?? callback
  }
}
