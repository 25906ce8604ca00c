import XCTest

@testable import NetworkGuard

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Parsing and printing: every spelling a C resolver accepts must land on the same address, or
/// a URL could hide 127.0.0.1 from the classifier.
final class IPAddressTests: XCTestCase {
  func testIPv4Spellings() {
    let loopback = IPAddress(127, 0, 0, 1)
    for spelling in [
      "127.0.0.1", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0X7F.0.0.1", "127.1", "127.0.1",
      "0x7f000001", "017700000001", "0x7f.1", "127.0.0.1.", "0177.0x00.0.01",
    ] {
      XCTAssertEqual(IPAddress(spelling), loopback, spelling)
    }
    XCTAssertEqual(IPAddress("169.254.169.254"), IPAddress(169, 254, 169, 254))
    XCTAssertEqual(IPAddress("0xa9fea9fe"), IPAddress(169, 254, 169, 254))
    XCTAssertEqual(IPAddress("10.1"), IPAddress(10, 0, 0, 1))
    XCTAssertEqual(IPAddress("0"), IPAddress(0, 0, 0, 0))
    XCTAssertEqual(IPAddress("4294967295"), IPAddress(255, 255, 255, 255))
  }

  func testNotIPv4() {
    for text in [
      "example.org", "127.0.0.256", "1.2.3.4.5", "4294967296", "08.0.0.1", "0x1g.0.0.1",
      "127..0.1", ".127.0.0.1", "127.0.0.1 junk", "", "127.0.0.1..", "1.2.65536", "-1.0.0.0",
      "1.2.3.0x100",
    ] {
      XCTAssertNil(IPAddress(text), text)
    }
  }

  func testIPv6Spellings() {
    XCTAssertEqual(IPAddress("::1"), .v6(high: 0, low: 1))
    XCTAssertEqual(IPAddress("[::1]"), .v6(high: 0, low: 1))
    XCTAssertEqual(IPAddress("::"), .v6(high: 0, low: 0))
    XCTAssertEqual(IPAddress("::ffff:127.0.0.1"), .v6(high: 0, low: 0xffff_7f00_0001))
    XCTAssertEqual(IPAddress("::ffff:7f00:1"), .v6(high: 0, low: 0xffff_7f00_0001))
    XCTAssertEqual(IPAddress("[::FFFF:7F00:1]"), .v6(high: 0, low: 0xffff_7f00_0001))
    XCTAssertEqual(
      IPAddress("fe80::1%eth0"), .v6(high: 0xfe80_0000_0000_0000, low: 1), "the zone is dropped")
    XCTAssertEqual(
      IPAddress("fd00:ec2::254"), .v6(high: 0xfd00_0ec2_0000_0000, low: 0x254))
    XCTAssertNil(IPAddress("[127.0.0.1]"), "brackets are for IPv6 only")
    XCTAssertNil(IPAddress("[::1"))
    XCTAssertNil(IPAddress("1::2::3"))
    XCTAssertNil(IPAddress("::ffff:127.1"), "no lenient IPv4 inside IPv6")
  }

  func testDescriptionIsCanonical() {
    XCTAssertEqual(IPAddress("0x7f.1")?.description, "127.0.0.1")
    XCTAssertEqual(IPAddress("0:0:0:0:0:0:0:1")?.description, "::1")
    XCTAssertEqual(IPAddress("::ffff:7f00:1")?.description, "::ffff:127.0.0.1")
    XCTAssertEqual(IPAddress("2001:DB8:0:0:0:0:0:AB")?.description, "2001:db8::ab")
    XCTAssertEqual(IPAddress(198, 51, 100, 2).bytes, [198, 51, 100, 2])
  }

  func testEmbeddedIPv4() {
    XCTAssertEqual(IPAddress("::ffff:10.0.0.1")?.embeddedIPv4, IPAddress(10, 0, 0, 1))
    XCTAssertEqual(IPAddress("::10.0.0.1")?.embeddedIPv4, IPAddress(10, 0, 0, 1), "compatible")
    XCTAssertEqual(IPAddress("64:ff9b::a9fe:a9fe")?.embeddedIPv4, IPAddress(169, 254, 169, 254))
    XCTAssertEqual(IPAddress("2002:7f00:1::1")?.embeddedIPv4, IPAddress(127, 0, 0, 1), "6to4")
    XCTAssertNil(IPAddress("::1")?.embeddedIPv4)
    XCTAssertNil(IPAddress("2001:db8::1")?.embeddedIPv4)
    XCTAssertNil(IPAddress(10, 0, 0, 1).embeddedIPv4)
  }

  func testPlainLiterals() {
    XCTAssertTrue(IPAddress.isPlainLiteral("127.0.0.1"))
    XCTAssertTrue(IPAddress.isPlainLiteral("::1"))
    XCTAssertTrue(IPAddress.isPlainLiteral("[2001:db8::1]"))
    XCTAssertFalse(IPAddress.isPlainLiteral("127.1"), "getaddrinfo reads it: pinned like a name")
    XCTAssertFalse(IPAddress.isPlainLiteral("2130706433"))
    XCTAssertFalse(IPAddress.isPlainLiteral("example.org"))
  }

  func testFromSockaddr() {
    var v4 = sockaddr_in()
    v4.sin_family = sa_family_t(AF_INET)
    v4.sin_addr.s_addr = UInt32(0xa9fe_a9fe).bigEndian
    let a = withUnsafePointer(to: &v4) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { IPAddress(sockaddr: $0) }
    }
    XCTAssertEqual(a, IPAddress(169, 254, 169, 254))

    var v6 = sockaddr_in6()
    v6.sin6_family = sa_family_t(AF_INET6)
    withUnsafeMutableBytes(of: &v6.sin6_addr) { buffer in
      for (i, byte) in [UInt8](repeating: 0, count: 10).enumerated() { buffer[i] = byte }
      buffer[10] = 0xff
      buffer[11] = 0xff
      buffer[12] = 127
      buffer[13] = 0
      buffer[14] = 0
      buffer[15] = 1
    }
    let b = withUnsafePointer(to: &v6) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { IPAddress(sockaddr: $0) }
    }
    XCTAssertEqual(b, IPAddress("::ffff:127.0.0.1"))

    var unix = sockaddr()
    unix.sa_family = sa_family_t(AF_UNIX)
    XCTAssertNil(IPAddress(sockaddr: &unix))
  }

  /// The real resolver, on what needs no network: numeric hosts and /etc/hosts' localhost.
  func testSystemResolver() async throws {
    let resolver = SystemHostResolver()
    let numeric = try await resolver.resolve("127.0.0.1")
    XCTAssertEqual(numeric, [IPAddress(127, 0, 0, 1)])
    let aton = try await resolver.resolve("0x7f.1")
    XCTAssertEqual(aton, [IPAddress(127, 0, 0, 1)], "getaddrinfo reads inet_aton spellings too")
    let localhost = try await resolver.resolve("localhost")
    XCTAssertFalse(localhost.isEmpty)
    XCTAssertTrue(localhost.allSatisfy { $0.addressClass == .loopback }, "\(localhost)")
    do {
      let answer = try await resolver.resolve("no-such-host.invalid")
      XCTFail("resolved \(answer)")
    } catch {
      XCTAssertEqual(error.host, "no-such-host.invalid")
      XCTAssertTrue(error.description.hasPrefix("could not resolve host no-such-host.invalid"))
    }
  }
}
