#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// An IPv4 or IPv6 address as a plain value: what a host name resolved to, or what a URL's host
/// spells directly. Parsed leniently (every spelling a C resolver accepts, so a URL cannot hide
/// `127.0.0.1` behind `2130706433` or `0x7f.1`), printed canonically.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible {
  /// Host-order value: `127.0.0.1` is `0x7f00_0001`.
  case v4(UInt32)
  /// The 128 bits, most significant half first.
  case v6(high: UInt64, low: UInt64)

  /// `a.b.c.d`.
  public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
    self = .v4(UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d))
  }

  /// The address a URL host or resolver answer spells, or nil when `text` is a name.
  ///
  /// IPv4 takes every `inet_aton` form, because `getaddrinfo` (and so every HTTP client on this
  /// system) accepts them: one to four parts, each decimal, octal with a leading `0` or hex with
  /// `0x`, the last part filling the remaining bytes (`2130706433`, `0177.0.0.1`, `0x7f.0.0.1`,
  /// `127.1`), plus one trailing dot as URL parsers allow. IPv6 may be bracketed and may carry a
  /// zone (`fe80::1%eth0`, the zone is dropped); embedded IPv4 (`::ffff:127.0.0.1`) is read too.
  public init?(_ text: String) {
    var host = Substring(text)
    if host.hasPrefix("[") {
      guard host.hasSuffix("]") else { return nil }
      host = host.dropFirst().dropLast()
      guard host.contains(":") else { return nil }
    }
    if host.contains(":") {
      if let percent = host.firstIndex(of: "%") { host = host[..<percent] }
      guard let parsed = Self.parseIPv6(String(host)) else { return nil }
      self = parsed
      return
    }
    guard let value = Self.parseIPv4Lenient(host) else { return nil }
    self = .v4(value)
  }

  /// Reads an `AF_INET` / `AF_INET6` socket address (a `getaddrinfo` answer); nil for any other
  /// family.
  public init?(sockaddr pointer: UnsafePointer<sockaddr>) {
    switch Int32(pointer.pointee.sa_family) {
    case AF_INET:
      let raw = UnsafeRawPointer(pointer).loadUnaligned(as: sockaddr_in.self)
      self = .v4(UInt32(bigEndian: raw.sin_addr.s_addr))
    case AF_INET6:
      var raw = UnsafeRawPointer(pointer).loadUnaligned(as: sockaddr_in6.self)
      let bytes = withUnsafeBytes(of: &raw.sin6_addr) { Array($0) }
      self = Self.fromBytes(bytes)
    default:
      return nil
    }
  }

  /// Whether `host` is an address an HTTP client connects to without any lookup: exactly what
  /// `inet_pton` accepts (dotted quad or IPv6 text, brackets allowed). Lenient spellings such as
  /// `127.1` are not: clients hand those to `getaddrinfo`, so they are pinned like names.
  public static func isPlainLiteral(_ host: String) -> Bool {
    var text = host
    if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
    var v4 = in_addr()
    var v6 = in6_addr()
    return text.withCString {
      inet_pton(AF_INET, $0, &v4) == 1 || inet_pton(AF_INET6, $0, &v6) == 1
    }
  }

  public var isIPv4: Bool {
    if case .v4 = self { return true }
    return false
  }

  /// Network-order bytes: 4 for IPv4, 16 for IPv6.
  public var bytes: [UInt8] {
    switch self {
    case .v4(let value):
      return [
        UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff),
        UInt8(value & 0xff),
      ]
    case .v6(let high, let low):
      return (0..<8).map { UInt8(high >> (56 - 8 * $0) & 0xff) }
        + (0..<8).map { UInt8(low >> (56 - 8 * $0) & 0xff) }
    }
  }

  /// The IPv4 address an IPv6 address carries and that the packets really go to: IPv4-mapped
  /// `::ffff:0:0/96` (the kernel connects to the IPv4 address), IPv4-compatible `::/96`
  /// (deprecated), NAT64 `64:ff9b::/96` (a translator forwards to it) and 6to4 `2002::/16`
  /// (bits 16–47). Nil for IPv4 and for every other IPv6 address.
  public var embeddedIPv4: IPAddress? {
    guard case .v6(let high, let low) = self else { return nil }
    let low32 = UInt32(truncatingIfNeeded: low)
    if high == 0, low >> 32 == 0xffff { return .v4(low32) }
    if high == 0, low >> 32 == 0, low32 > 1 { return .v4(low32) }
    if high == 0x0064_ff9b_0000_0000, low >> 32 == 0 { return .v4(low32) }
    if high >> 48 == 0x2002 { return .v4(UInt32(truncatingIfNeeded: high >> 16)) }
    return nil
  }

  /// Dotted quad, or RFC 5952 IPv6 text (`inet_ntop`: `::1`, `::ffff:127.0.0.1`).
  public var description: String {
    switch self {
    case .v4(let value):
      return "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    case .v6:
      var raw = in6_addr()
      let bytes = self.bytes
      withUnsafeMutableBytes(of: &raw) { buffer in
        for i in 0..<16 { buffer[i] = bytes[i] }
      }
      var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
      guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return "?" }
      return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
  }

  // MARK: - parsing

  static func fromBytes(_ bytes: [UInt8]) -> IPAddress {
    var high: UInt64 = 0
    var low: UInt64 = 0
    for i in 0..<8 { high = high << 8 | UInt64(bytes[i]) }
    for i in 8..<16 { low = low << 8 | UInt64(bytes[i]) }
    return .v6(high: high, low: low)
  }

  private static func parseIPv6(_ text: String) -> IPAddress? {
    var raw = in6_addr()
    guard text.withCString({ inet_pton(AF_INET6, $0, &raw) }) == 1 else { return nil }
    return fromBytes(withUnsafeBytes(of: &raw) { Array($0) })
  }

  /// `inet_aton`'s grammar, without its habit of ignoring whatever follows a space.
  private static func parseIPv4Lenient(_ text: Substring) -> UInt32? {
    var host = text
    if host.hasSuffix(".") { host = host.dropLast() }
    guard !host.isEmpty else { return nil }
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count <= 4 else { return nil }
    var values: [UInt64] = []
    for part in parts {
      guard let value = parseNumber(part) else { return nil }
      values.append(value)
    }
    var result: UInt64 = 0
    for value in values.dropLast() {
      guard value <= 0xff else { return nil }
      result = result << 8 | value
    }
    let lastBits = UInt64(8 * (5 - values.count))
    guard let last = values.last, last < (1 << lastBits) else { return nil }
    result = result << lastBits | last
    return UInt32(result)
  }

  /// One `inet_aton` part: `0x`-hex, `0`-octal or decimal; nil for anything else or anything
  /// beyond 32 bits.
  private static func parseNumber(_ part: Substring) -> UInt64? {
    var digits = part
    var radix: UInt64 = 10
    if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
      radix = 16
      digits = digits.dropFirst(2)
      if digits.isEmpty { return 0 }  // `0x` alone is 0 to inet_aton
    } else if digits.count > 1, digits.hasPrefix("0") {
      radix = 8
      digits = digits.dropFirst()
    }
    guard !digits.isEmpty else { return nil }
    var value: UInt64 = 0
    for character in digits {
      guard let digit = character.hexDigitValue, UInt64(digit) < radix else { return nil }
      value = value * radix + UInt64(digit)
      if value > UInt64(UInt32.max) { return nil }
    }
    return value
  }
}
