/// What an address is, for deciding whether a URL that did not come from the admin may lead
/// there.
///
/// "Public" means `global` and `documentation`. Everything else is "not public": this machine
/// (loopback, unspecified), private and local networks (RFC 1918, RFC 4193, RFC 6598 CGNAT,
/// link-local, site-local), cloud metadata services, multicast and broadcast, and reserved or
/// special-purpose space (240/4, 192.0.0/24, the 198.18/15 benchmarking range that proxies'
/// fake-IP DNS and lab networks use, IPv6 outside 2000::/3, discard-only 100::/64, local-use
/// NAT64). IPv6 forms that carry an IPv4 address the packets really go to (IPv4-mapped,
/// IPv4-compatible, NAT64 64:ff9b::/96, 6to4) are classified by that IPv4 address.
///
/// The documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20)
/// count as public: they are routed nowhere, so no internal service can live there, and tests
/// use them to stand up a "public" origin without touching a real internet address.
public enum AddressClass: Sendable, Hashable, CustomStringConvertible {
  /// Globally routable unicast.
  case global
  /// RFC 5737 / RFC 3849 / RFC 9637 documentation space (treated as public, see above).
  case documentation
  /// 127/8, ::1.
  case loopback
  /// 0/8 ("this network"), ::.
  case unspecified
  /// RFC 1918: 10/8, 172.16/12, 192.168/16.
  case privateUse
  /// RFC 6598 shared address space (carrier-grade NAT, many clouds' internal networks): 100.64/10.
  case sharedAddressSpace
  /// 169.254/16, fe80::/10.
  case linkLocal
  /// RFC 4193 unique local: fc00::/7.
  case uniqueLocal
  /// Deprecated fec0::/10.
  case siteLocal
  /// Instance metadata services that hand out cloud credentials: 169.254.169.254 (AWS, GCP,
  /// Azure, OCI, DigitalOcean…), 169.254.170.2 (AWS ECS), 100.100.100.200 (Alibaba),
  /// 192.0.0.192 (Oracle classic), fd00:ec2::254 (AWS over IPv6).
  case cloudMetadata
  /// 224/4, ff00::/8.
  case multicast
  /// 255.255.255.255.
  case broadcast
  /// Special-purpose space no public server uses; the payload names the range.
  case reserved(String)

  /// Whether a URL that did not come from the admin may lead here.
  public var isPublic: Bool {
    switch self {
    case .global, .documentation: return true
    default: return false
    }
  }

  /// A phrase for an admin: "a cloud metadata address (private network)".
  public var description: String {
    switch self {
    case .global: return "a public address"
    case .documentation: return "a documentation address (public)"
    case .loopback: return "a loopback address (this machine)"
    case .unspecified: return "an unspecified address (this machine)"
    case .privateUse: return "a private address (RFC 1918 private network)"
    case .sharedAddressSpace: return "a carrier-grade NAT address (RFC 6598, private network)"
    case .linkLocal: return "a link-local address (local network)"
    case .uniqueLocal: return "a unique local address (RFC 4193 private network)"
    case .siteLocal: return "a site-local address (private network)"
    case .cloudMetadata: return "a cloud metadata address (private network)"
    case .multicast: return "a multicast address (not a public host)"
    case .broadcast: return "the broadcast address (local network)"
    case .reserved(let range): return "a reserved address (\(range))"
    }
  }
}

extension IPAddress {
  /// This address's class; see `AddressClass` for what counts as public.
  public var addressClass: AddressClass {
    switch self {
    case .v4(let value): return Self.classifyIPv4(value)
    case .v6(let high, let low): return Self.classifyIPv6(self, high: high, low: low)
    }
  }

  /// Most specific first: the metadata hosts sit inside link-local, CGNAT and 192.0.0/24.
  private static let ipv4Table: [(base: UInt32, bits: UInt32, class: AddressClass)] = [
    (0xa9fe_a9fe, 32, .cloudMetadata),  // 169.254.169.254
    (0xa9fe_aa02, 32, .cloudMetadata),  // 169.254.170.2
    (0x6464_64c8, 32, .cloudMetadata),  // 100.100.100.200
    (0xc000_00c0, 32, .cloudMetadata),  // 192.0.0.192
    (0xffff_ffff, 32, .broadcast),
    (0x0000_0000, 8, .unspecified),
    (0x0a00_0000, 8, .privateUse),
    (0x6440_0000, 10, .sharedAddressSpace),
    (0x7f00_0000, 8, .loopback),
    (0xa9fe_0000, 16, .linkLocal),
    (0xac10_0000, 12, .privateUse),
    (0xc000_0000, 24, .reserved("IETF protocol assignments 192.0.0.0/24")),
    (0xc000_0200, 24, .documentation),
    (0xc0a8_0000, 16, .privateUse),
    (0xc612_0000, 15, .reserved("benchmarking 198.18.0.0/15")),
    (0xc633_6400, 24, .documentation),
    (0xcb00_7100, 24, .documentation),
    (0xe000_0000, 4, .multicast),
    (0xf000_0000, 4, .reserved("240.0.0.0/4")),
  ]

  private static func classifyIPv4(_ value: UInt32) -> AddressClass {
    for entry in ipv4Table {
      let mask: UInt32 = entry.bits == 0 ? 0 : ~0 << (32 - entry.bits)
      if value & mask == entry.base { return entry.class }
    }
    return .global
  }

  /// Prefix tests on the high 64 bits (every range below is at most a /64 except the exact ones).
  private static func classifyIPv6(_ address: IPAddress, high: UInt64, low: UInt64) -> AddressClass
  {
    func prefix(_ base: UInt64, _ bits: UInt64) -> Bool {
      let mask: UInt64 = ~0 << (64 - bits)
      return high & mask == base
    }
    if high == 0, low == 0 { return .unspecified }
    if high == 0, low == 1 { return .loopback }
    if high == 0xfd00_0ec2_0000_0000, low == 0x254 { return .cloudMetadata }  // fd00:ec2::254
    if let v4 = address.embeddedIPv4 { return v4.addressClass }
    if prefix(0x0064_ff9b_0001_0000, 48) { return .reserved("local-use NAT64 64:ff9b:1::/48") }
    if high == 0x0100_0000_0000_0000 { return .reserved("discard-only 100::/64") }
    if prefix(0x2001_0db8_0000_0000, 32) { return .documentation }
    if prefix(0x3fff_0000_0000_0000, 20) { return .documentation }
    if prefix(0xfc00_0000_0000_0000, 7) { return .uniqueLocal }
    if prefix(0xfe80_0000_0000_0000, 10) { return .linkLocal }
    if prefix(0xfec0_0000_0000_0000, 10) { return .siteLocal }
    if prefix(0xff00_0000_0000_0000, 8) { return .multicast }
    if !prefix(0x2000_0000_0000_0000, 3) { return .reserved("outside global unicast 2000::/3") }
    return .global
  }
}
