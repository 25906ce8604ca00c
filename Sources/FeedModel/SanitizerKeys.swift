import Foundation

/// The identity of one run of the HTML sanitiser: a 128-bit digest of the sanitiser's policy
/// version, the base URL relative references were resolved against, and the raw HTML it read.
///
/// Issue 17: most entries of a re-fetched document are already stored unchanged, and the
/// sanitiser is most of the parse's time. The store keeps each entry's keys beside its sanitised
/// HTML; before a changed document is parsed the crawler loads the source's `key → sanitised
/// HTML` map, and the parser reuses a stored result when the key of a fragment is in it (the
/// same input to the same policy gives the same output). Not cryptographic: a source that
/// forges a collision only gets back sanitised HTML it sent earlier itself (the map is per
/// source), never unsanitised markup.
public struct SanitizerKey: Sendable, Hashable, CustomStringConvertible {
  public let high: UInt64
  public let low: UInt64

  public init(high: UInt64, low: UInt64) {
    self.high = high
    self.low = low
  }

  /// The key of sanitising `raw` against `base` under policy `policy`.
  public init(policy: Int, base: String?, raw: String) {
    var d = Digest128()
    d.add(UInt64(truncatingIfNeeded: policy))
    if var b = base {
      b.withUTF8 { d.add(UnsafeRawBufferPointer($0)) }
    } else {
      d.add(0xFFFF_FFFF_FFFF_FFFF)
    }
    var r = raw
    r.withUTF8 { d.add(UnsafeRawBufferPointer($0)) }
    (high, low) = d.value
  }

  /// 32 lowercase hex digits (what the store keeps).
  public var hex: String {
    let h = String(high, radix: 16)
    let l = String(low, radix: 16)
    return String(repeating: "0", count: 16 - h.count) + h
      + String(repeating: "0", count: 16 - l.count)
      + l
  }

  public init?(hex: String) {
    guard hex.utf8.count == 32, let h = UInt64(hex.prefix(16), radix: 16),
      let l = UInt64(hex.suffix(16), radix: 16)
    else { return nil }
    self.init(high: h, low: l)
  }

  public var description: String { hex }
}

/// The sanitiser keys of one entry's HTML fragments (hex `SanitizerKey`s), kept by the store
/// with the entry. `policy` is the sanitiser policy version the HTML was produced under: a
/// fragment that needed no sanitising (plain text without markup or references) has no key.
public struct SanitizerKeys: Sendable, Hashable, Codable {
  public var policy: Int
  public var summary: String?
  public var content: String?
  public var media: String?

  public init(policy: Int, summary: String? = nil, content: String? = nil, media: String? = nil) {
    self.policy = policy
    self.summary = summary
    self.content = content
    self.media = media
  }
}

/// Two independent 64-bit lanes over 8-byte words (FNV-like multiply–xorshift), with each
/// part's length mixed in so part boundaries count. Word-at-a-time: hashing every fragment of
/// a document costs a few percent of sanitising it.
struct Digest128 {
  private var a: UInt64 = 0xcbf2_9ce4_8422_2325
  private var b: UInt64 = 0x8422_2325_cbf2_9ce4

  @inline(__always) private mutating func mix(_ w: UInt64) {
    a = (a ^ w) &* 0x9E37_79B9_7F4A_7C15
    a ^= a >> 32
    b = (b &+ w) &* 0xC2B2_AE3D_27D4_EB4F
    b ^= b >> 29
  }

  mutating func add(_ word: UInt64) { mix(word) }

  mutating func add(_ bytes: UnsafeRawBufferPointer) {
    let n = bytes.count
    var i = 0
    while i + 8 <= n {
      mix(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
      i += 8
    }
    var tail: UInt64 = 0
    var shift: UInt64 = 0
    while i < n {
      tail |= UInt64(bytes[i]) << shift
      shift += 8
      i += 1
    }
    mix(tail)
    mix(UInt64(n))
  }

  var value: (UInt64, UInt64) {
    var x = a ^ (b >> 7)
    x = (x ^ (x >> 33)) &* 0xff51_afd7_ed55_8ccd
    x ^= x >> 33
    var y = b ^ (a << 3)
    y = (y ^ (y >> 33)) &* 0xc4ce_b9fe_1a85_ec53
    y ^= y >> 33
    return (x, y)
  }
}

extension Entry {
  /// The entry's sanitised fragments (summary, content, media description) by the key of the
  /// raw HTML each came from: what a later parse of the same raw HTML may take instead of
  /// sanitising it (`ParseOptions.reusableHTML`). Empty for an entry without keys.
  public var reusableHTML: [(key: SanitizerKey, html: String)] {
    guard let keys = sanitizerKeys else { return [] }
    let fragments = [
      (keys.summary, summary?.value), (keys.content, content?.value),
      (keys.media, media?.description?.value),
    ]
    return fragments.compactMap { hex, html in
      guard let hex, let html, let key = SanitizerKey(hex: hex) else { return nil }
      return (key, html)
    }
  }
}
