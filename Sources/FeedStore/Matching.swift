import Crypto
import FeedModel
import Foundation
import WebText

/// Text and URL normalisation used to recognise the same story: canonical URLs for exact
/// matches across sources, and diacritic-folded word tokens + SimHash for near-duplicates.
/// Everything here is pure and deterministic, so fingerprints stay comparable across restarts.
public enum StoryMatching {
  /// Query parameters that only track clicks and never select content.
  static let trackingParameters: Set<String> = [
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "yclid", "_ga",
    "_gl", "ref", "ref_src", "ref_url", "igshid", "_hsenc", "_hsmi", "mkt_tok", "spm", "cmpid",
    "ocid", "twclid", "ttclid", "srsltid", "oly_anon_id", "oly_enc_id", "vero_id", "wt_mc",
  ]

  /// File names that a web server serves for a directory: `/a/index.html` is `/a/`.
  static let directoryIndexNames: Set<String> = [
    "index.html", "index.htm", "index.php", "index.asp", "index.aspx", "default.asp",
    "default.aspx",
  ]

  /// The canonical form of a story URL, for grouping copies of one story. Lowercases scheme and
  /// host, drops the default port, the fragment, tracking parameters (`utm_*`, `fbclid`, `gclid`,
  /// …), a directory index file name and the trailing slash, and sorts the remaining query
  /// parameters. `http` and `https` map to the same form (`//host/path?query`) because sites
  /// and their syndicators disagree on the scheme far more often than they serve different
  /// stories on it. Returns nil for text that is not an absolute http(s) URL.
  public static func canonicalURL(_ text: String) -> String? {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty, var components = URLComponents(string: trimmed) else { return nil }
    guard let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
      let host = components.host?.lowercased(), !host.isEmpty
    else { return nil }
    components.fragment = nil
    var port = ""
    if let p = components.port, !(scheme == "http" && p == 80), !(scheme == "https" && p == 443) {
      port = ":\(p)"
    }
    var path = components.percentEncodedPath
    if let slash = path.lastIndex(of: "/") {
      let last = path[path.index(after: slash)...].lowercased()
      if directoryIndexNames.contains(last) { path = String(path[...slash]) }
    }
    while path.hasSuffix("/") { path.removeLast() }
    var query = ""
    if let items = components.percentEncodedQueryItems, !items.isEmpty {
      let kept = items.filter { item in
        let name = item.name.lowercased()
        return !name.hasPrefix("utm_") && !trackingParameters.contains(name) && !name.isEmpty
      }
      let sorted = kept.sorted { ($0.name, $0.value ?? "") < ($1.name, $1.value ?? "") }
      if !sorted.isEmpty {
        query =
          "?"
          + sorted.map { item in item.value.map { "\(item.name)=\($0)" } ?? item.name }
          .joined(separator: "&")
      }
    }
    let user = components.percentEncodedUser.map { "\($0)@" } ?? ""
    return "//\(user)\(host)\(port)\(path)\(query)"
  }

  /// Word tokens for matching: lowercased, diacritics removed (`ą`→`a`, `š`→`s`) without
  /// splitting the word they sit in, punctuation dropped. With `markup`, the text is HTML (lead
  /// text is sanitised HTML) read as plain text first (`HTMLText.plainText`: tags are word
  /// breaks, references decoded). Stops after `limit` tokens, so only the lead of a long body is
  /// ever looked at.
  public static func tokens(_ text: String, limit: Int = .max, markup: Bool = false) -> [String] {
    // A word is rarely longer than 30 characters: the plain text of the lead is enough.
    let text = markup ? HTMLText.plainText(text, limit: limit < 10_000 ? limit * 30 : .max) : text
    var result: [String] = []
    var word: [UInt8] = []
    word.reserveCapacity(32)
    func flush() {
      if !word.isEmpty {
        result.append(String(decoding: word, as: UTF8.self))
        word.removeAll(keepingCapacity: true)
      }
    }
    for scalar in text.unicodeScalars {
      if result.count >= limit { break }
      let v = scalar.value
      if v < 128 {
        if (v >= 0x61 && v <= 0x7A) || (v >= 0x30 && v <= 0x39) {
          word.append(UInt8(v))
        } else if v >= 0x41 && v <= 0x5A {
          word.append(UInt8(v + 32))
        } else {
          flush()
        }
        continue
      }
      if v >= 0xC0 && v < 0xC0 + UInt32(latinFold.count), let folded = latinFold[Int(v - 0xC0)] {
        word.append(contentsOf: folded)
        continue
      }
      let props = scalar.properties
      switch props.generalCategory {
      case .nonspacingMark, .spacingMark, .enclosingMark:
        continue  // a combining diacritic (decomposed text): drop it, keep the word whole
      case .lowercaseLetter, .uppercaseLetter, .titlecaseLetter, .otherLetter, .modifierLetter,
        .decimalNumber, .letterNumber, .otherNumber:
        word.append(contentsOf: Array(props.lowercaseMapping.utf8))
      default:
        flush()
      }
    }
    if result.count < limit { flush() }
    return result
  }

  /// Lowercase base letters for U+00C0…U+024F (Latin-1 Supplement, Latin Extended-A/B: all
  /// Lithuanian, Latvian, Polish, German… letters), from Unicode's own decompositions; nil for
  /// non-letters. Built once.
  static let latinFold: [[UInt8]?] = (0xC0...0x24F).map { v -> [UInt8]? in
    guard let scalar = Unicode.Scalar(UInt32(v)) else { return nil }
    guard scalar.properties.isAlphabetic else { return nil }
    let decomposed = String(scalar).lowercased().decomposedStringWithCanonicalMapping
    var bytes: [UInt8] = []
    for s in decomposed.unicodeScalars {
      switch s.properties.generalCategory {
      case .nonspacingMark, .spacingMark, .enclosingMark: continue
      default: bytes.append(contentsOf: Array(String(s).utf8))
      }
    }
    return bytes.isEmpty ? nil : bytes
  }

  /// The fingerprint of one story: normalised title tokens, the SimHash of title + lead text
  /// (word bigrams), and how many tokens it was built from (short texts get stricter matching).
  public struct Fingerprint: Sendable, Hashable {
    public var titleTokens: [String]
    public var simhash: UInt64
    public var tokenCount: Int
  }

  /// Words of lead text that go into the fingerprint: enough to tell stories apart, few enough
  /// that a later paragraph edited by a syndicator does not matter.
  static let leadWords = 40

  public static func fingerprint(title: String?, lead: String, leadIsHTML: Bool = false)
    -> Fingerprint
  {
    let titleTokens = tokens(title ?? "")
    let leadTokens = tokens(lead, limit: leadWords, markup: leadIsHTML)
    let all = titleTokens + leadTokens
    return Fingerprint(titleTokens: titleTokens, simhash: simhash(all), tokenCount: all.count)
  }

  /// 64-bit SimHash over word bigrams (unigrams for a single word).
  public static func simhash(_ tokens: [String]) -> UInt64 {
    guard !tokens.isEmpty else { return 0 }
    var weights = [Int32](repeating: 0, count: 64)
    func add(_ h: UInt64) {
      for bit in 0..<64 {
        weights[bit] += (h >> UInt64(bit)) & 1 == 1 ? 1 : -1
      }
    }
    if tokens.count == 1 {
      add(mix(fnv1a(tokens[0])))
    } else {
      for i in 0..<(tokens.count - 1) {
        var h = fnv1a(tokens[i])
        h = fnv1a(" ", seed: h)
        h = fnv1a(tokens[i + 1], seed: h)
        add(mix(h))
      }
    }
    var result: UInt64 = 0
    for bit in 0..<64 where weights[bit] > 0 { result |= 1 << UInt64(bit) }
    return result
  }

  public static func hamming(_ a: UInt64, _ b: UInt64) -> Int { (a ^ b).nonzeroBitCount }

  /// Jaccard similarity of two token sets.
  public static func jaccard(_ a: [String], _ b: [String]) -> Double {
    let sa = Set(a)
    let sb = Set(b)
    if sa.isEmpty && sb.isEmpty { return 1 }
    let union = sa.union(sb).count
    return union == 0 ? 0 : Double(sa.intersection(sb).count) / Double(union)
  }

  /// Matching thresholds, by how many tokens the fingerprint was built from. SimHash over few
  /// features is noisy (two one-word-different 13-token texts measured 9 bits apart), so short
  /// texts must have the same title words and a near-identical hash; longer ones may differ in
  /// an edited lead sentence. Measured on the tests' stories: a punctuation/case/diacritics-only
  /// change gives 0, an appended sentence a few bits, unrelated texts about 32 ± 4.
  static let longText = 24
  static let maxDistanceLong = 8
  static let minTitleJaccardLong = 0.5
  static let maxDistanceShort = 4
  static let minTitleJaccardShort = 0.9

  /// Whether two fingerprints describe the same story: close SimHash of title + lead AND
  /// similar title words (so two stories sharing a templated lead are kept apart).
  public static func sameStory(_ a: Fingerprint, _ b: Fingerprint) -> Bool {
    let distance = hamming(a.simhash, b.simhash)
    if min(a.tokenCount, b.tokenCount) < longText {
      return distance <= maxDistanceShort
        && jaccard(a.titleTokens, b.titleTokens) >= minTitleJaccardShort
    }
    return distance <= maxDistanceLong
      && jaccard(a.titleTokens, b.titleTokens) >= minTitleJaccardLong
  }

  // MARK: hashing

  /// FNV-1a 64 over UTF-8: fast, stable across runs and platforms (unlike `Hasher`).
  @inline(__always)
  static func fnv1a(_ s: String, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
    var h = seed
    for b in s.utf8 {
      h ^= UInt64(b)
      h &*= 0x100_0000_01b3
    }
    return h
  }

  /// SplitMix64 finaliser: spreads FNV's weak high bits before they vote in the SimHash.
  @inline(__always)
  static func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9e37_79b9_7f4a_7c15
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }
}

/// Change-detection hashes: FNV-1a 64 per field, whitespace runs counted as one space and
/// leading/trailing whitespace ignored (re-indented HTML is no change), fields combined in order.
/// Each string is read once, however many combined hashes it goes into.
enum FieldHash {
  static func of(_ s: String?) -> UInt64 {
    guard let s else { return 0x5bd1_e995_0000_0001 }
    if let h = s.utf8.withContiguousStorageIfAvailable({ hash($0) }) { return h }
    var copy = s
    copy.makeContiguousUTF8()
    return copy.utf8.withContiguousStorageIfAvailable { hash($0) } ?? 0
  }

  /// The same hash over bytes (UTF-8 text, e.g. an entry's encoded extra fields).
  static func of(_ data: Data?) -> UInt64 {
    guard let data else { return 0x5bd1_e995_0000_0001 }
    return data.withUnsafeBytes { hash($0.bindMemory(to: UInt8.self)) }
  }

  private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    var pendingSpace = false
    var started = false
    for byte in bytes {
      if byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D {
        if started { pendingSpace = true }
        continue
      }
      if pendingSpace {
        h = (h ^ 0x20) &* 0x100_0000_01b3
        pendingSpace = false
      }
      started = true
      h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
    }
    return h
  }

  /// Order-sensitive combination of field hashes, as 16 hex digits.
  static func combine(_ fields: [UInt64]) -> String {
    var h: UInt64 = 0x8422_2325_cbf2_9ce4
    for f in fields { h = StoryMatching.mix(h ^ f) &+ 0x9e37_79b9_7f4a_7c15 }
    return String(h, radix: 16).leftPad(16)
  }
}

extension String {
  func leftPad(_ width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}

/// SHA-256 as lowercase hex, for published ids derived from identity keys (swift-crypto).
func sha256Hex(_ text: String) -> String {
  Hex.encode(SHA256.hash(data: Data(text.utf8)))
}
