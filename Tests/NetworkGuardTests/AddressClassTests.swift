import XCTest

@testable import NetworkGuard

/// Every range the classifier knows, at its edges, so an off-by-one in a mask shows.
final class AddressClassTests: XCTestCase {
  private func assertClass(
    _ text: String, _ expected: AddressClass, file: StaticString = #filePath, line: UInt = #line
  ) {
    guard let address = IPAddress(text) else {
      return XCTFail("\(text) does not parse", file: file, line: line)
    }
    XCTAssertEqual(address.addressClass, expected, text, file: file, line: line)
    XCTAssertEqual(
      address.addressClass.isPublic, expected == .global || expected == .documentation, text,
      file: file, line: line)
  }

  func testIPv4Ranges() {
    let cases: [(String, AddressClass)] = [
      ("0.0.0.0", .unspecified), ("0.255.255.255", .unspecified), ("1.0.0.0", .global),
      ("9.255.255.255", .global), ("10.0.0.0", .privateUse), ("10.255.255.255", .privateUse),
      ("11.0.0.0", .global),
      ("100.63.255.255", .global), ("100.64.0.0", .sharedAddressSpace),
      ("100.127.255.255", .sharedAddressSpace), ("100.128.0.0", .global),
      ("126.255.255.255", .global), ("127.0.0.0", .loopback), ("127.255.255.254", .loopback),
      ("128.0.0.0", .global),
      ("169.253.255.255", .global), ("169.254.0.0", .linkLocal), ("169.254.255.255", .linkLocal),
      ("169.255.0.0", .global),
      ("172.15.255.255", .global), ("172.16.0.0", .privateUse), ("172.31.255.255", .privateUse),
      ("172.32.0.0", .global),
      ("192.0.0.1", .reserved("IETF protocol assignments 192.0.0.0/24")),
      ("192.0.1.0", .global), ("192.0.2.0", .documentation), ("192.0.2.255", .documentation),
      ("192.0.3.0", .global),
      ("192.167.255.255", .global), ("192.168.0.0", .privateUse),
      ("192.168.255.255", .privateUse), ("192.169.0.0", .global),
      ("198.17.255.255", .global), ("198.18.0.0", .reserved("benchmarking 198.18.0.0/15")),
      ("198.19.255.255", .reserved("benchmarking 198.18.0.0/15")), ("198.20.0.0", .global),
      ("198.51.100.0", .documentation), ("198.51.100.255", .documentation),
      ("198.51.101.0", .global), ("203.0.113.7", .documentation), ("203.0.114.0", .global),
      ("223.255.255.255", .global), ("224.0.0.1", .multicast), ("239.255.255.255", .multicast),
      ("240.0.0.0", .reserved("240.0.0.0/4")), ("255.255.255.254", .reserved("240.0.0.0/4")),
      ("255.255.255.255", .broadcast), ("8.8.8.8", .global), ("93.184.216.34", .global),
    ]
    for (text, expected) in cases { assertClass(text, expected) }
  }

  func testCloudMetadata() {
    for text in [
      "169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254",
    ] {
      assertClass(text, .cloudMetadata)
    }
    assertClass("169.254.169.253", .linkLocal)
    assertClass("100.100.100.201", .sharedAddressSpace)
    assertClass("fd00:ec2::253", .uniqueLocal)
  }

  func testIPv4SpellingsClassifyAsTheirAddress() {
    for text in ["2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1", "0x7f000001"] {
      assertClass(text, .loopback)
    }
    assertClass("0xa9fea9fe", .cloudMetadata)
    assertClass("2852039166", .cloudMetadata)
    assertClass("012.1", .privateUse)  // 10.0.0.1
  }

  func testIPv6Ranges() {
    let cases: [(String, AddressClass)] = [
      ("::", .unspecified), ("::1", .loopback),
      ("fe80::", .linkLocal), ("febf:ffff::1", .linkLocal), ("fec0::1", .siteLocal),
      ("feff::1", .siteLocal), ("fc00::", .uniqueLocal), ("fdff:ffff::1", .uniqueLocal),
      ("fbff::1", .reserved("outside global unicast 2000::/3")), ("ff02::1", .multicast),
      ("ff0e::1", .multicast), ("2001:db8::1", .documentation),
      ("2001:db9::1", .global), ("3fff::1", .documentation), ("3fff:fff::1", .documentation),
      ("3fff:1000::1", .global), ("2606:4700:4700::1111", .global), ("2a00:1450::1", .global),
      ("100::1", .reserved("discard-only 100::/64")),
      ("64:ff9b:1::1", .reserved("local-use NAT64 64:ff9b:1::/48")),
      ("4000::1", .reserved("outside global unicast 2000::/3")),
      ("1fff::1", .reserved("outside global unicast 2000::/3")),
    ]
    for (text, expected) in cases { assertClass(text, expected) }
  }

  /// IPv6 forms that carry an IPv4 address are judged by the IPv4 address the packets go to.
  func testEmbeddedIPv4IsClassifiedByIt() {
    assertClass("::ffff:127.0.0.1", .loopback)
    assertClass("::ffff:7f00:1", .loopback)
    assertClass("[::ffff:7f00:1]", .loopback)
    assertClass("::ffff:10.0.0.1", .privateUse)
    assertClass("::ffff:169.254.169.254", .cloudMetadata)
    assertClass("::ffff:8.8.8.8", .global)
    assertClass("::127.0.0.1", .loopback)  // IPv4-compatible
    assertClass("::192.168.1.1", .privateUse)
    assertClass("64:ff9b::10.0.0.1", .privateUse)  // NAT64
    assertClass("64:ff9b::a9fe:a9fe", .cloudMetadata)
    assertClass("64:ff9b::8.8.8.8", .global)
    assertClass("2002:c0a8:101::1", .privateUse)  // 6to4 of 192.168.1.1
    assertClass("2002:0808:0808::1", .global)
  }

  func testDescriptionsNameTheKind() {
    XCTAssertEqual(
      AddressClass.cloudMetadata.description, "a cloud metadata address (private network)")
    XCTAssertEqual(
      AddressClass.privateUse.description, "a private address (RFC 1918 private network)")
    XCTAssertEqual(AddressClass.loopback.description, "a loopback address (this machine)")
  }
}
