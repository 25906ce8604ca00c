import Foundation
import XCTest

@testable import WebSub

/// The wire rules of WebSub: hub request validation, X-Hub-Signature, Link headers, callback
/// query strings.
final class WebSubProtocolTests: XCTestCase {
  let ours = "https://news.example.lt/feed.atom"
  func parse(_ form: [String: String]) -> Result<HubRequest, HubRequest.Refusal> {
    HubRequest.parse(form: form, lease: LeasePolicy(), isOurTopic: { $0 == self.ours })
  }
  func refusal(_ form: [String: String]) -> HubRequest.Refusal? {
    if case .failure(let r) = parse(form) { return r }
    return nil
  }
  var good: [String: String] {
    ["hub.mode": "subscribe", "hub.topic": ours, "hub.callback": "https://reader.example/cb?u=1"]
  }

  func testFormFieldsDecodePlusPercentAndKeepFirst() {
    let f = FormFields.parse("a=x+y&b=%2B%26%3D&c&a=second&d=%zz&e=%C5%A1")
    XCTAssertEqual(f["a"], "x y")
    XCTAssertEqual(f["b"], "+&=")
    XCTAssertEqual(f["c"], "")
    XCTAssertEqual(f["d"], "%zz")
    XCTAssertEqual(f["e"], "š")
  }

  func testValidSubscribeIsParsedWithClampedLease() throws {
    var form = good
    form["hub.secret"] = "s3cret"
    form["hub.lease_seconds"] = "60"
    let request = try parse(form).get()
    XCTAssertEqual(request.mode, .subscribe)
    XCTAssertEqual(request.callback.absoluteString, "https://reader.example/cb?u=1")
    XCTAssertEqual(request.leaseSeconds, 3600)
    XCTAssertEqual(request.secret, "s3cret")
    let policy = LeasePolicy(minimum: 100, defaultLease: 500, maximum: 1000)
    XCTAssertEqual(policy.clamp(nil), 500)
    XCTAssertEqual(policy.clamp(0), 500)
    XCTAssertEqual(policy.clamp(50), 100)
    XCTAssertEqual(policy.clamp(700), 700)
    XCTAssertEqual(policy.clamp(5000), 1000)
    var unsubscribe = good
    unsubscribe["hub.mode"] = "unsubscribe"
    unsubscribe["hub.secret"] = String(repeating: "x", count: 500)  // ignored: not subscribe
    XCTAssertNil(try parse(unsubscribe).get().secret)
  }

  func testRefusalsSayWhy() {
    var f = good
    f["hub.mode"] = nil
    XCTAssertEqual(refusal(f)?.status, 400)
    f["hub.mode"] = "publish"
    XCTAssertTrue(refusal(f)?.reason.contains("publish") ?? false)
    f["hub.mode"] = "watch"
    XCTAssertTrue(refusal(f)?.reason.contains("unknown hub.mode") ?? false)
    f = good
    f["hub.topic"] = nil
    XCTAssertEqual(refusal(f), .init(status: 400, reason: "hub.topic is missing"))
    f = good
    f["hub.callback"] = nil
    XCTAssertEqual(refusal(f), .init(status: 400, reason: "hub.callback is missing"))
    for bad in ["/relative/cb", "ftp://x.example/cb", "mailto:a@b.example", "https:///nohost"] {
      f = good
      f["hub.callback"] = bad
      XCTAssertEqual(refusal(f)?.status, 400, bad)
      XCTAssertTrue(refusal(f)?.reason.contains("not an absolute http") ?? false, bad)
    }
    f = good
    f["hub.callback"] = "https://reader.example/cb#frag"
    XCTAssertEqual(refusal(f)?.reason, "hub.callback must not have a fragment")
    f = good
    f["hub.callback"] = "https://reader.example/" + String(repeating: "a", count: 2100)
    XCTAssertTrue(refusal(f)?.reason.contains("2048") ?? false)
    f = good
    f["hub.topic"] = "https://elsewhere.example/feed"
    XCTAssertEqual(refusal(f)?.status, 404)
    XCTAssertTrue(refusal(f)?.reason.contains("not published here") ?? false)
    f = good
    f["hub.lease_seconds"] = "-5"
    XCTAssertEqual(refusal(f)?.status, 400)
    f["hub.lease_seconds"] = "ten"
    XCTAssertEqual(refusal(f)?.status, 400)
  }

  func testAbsentLeaseGetsTheDefaultAndHugeLeasesTheMaximum() throws {
    XCTAssertEqual(try parse(good).get().leaseSeconds, 864_000)
    var f = good
    f["hub.lease_seconds"] = "0"
    XCTAssertEqual(try parse(f).get().leaseSeconds, 864_000)
    f["hub.lease_seconds"] = "99999999"
    XCTAssertEqual(try parse(f).get().leaseSeconds, 2_592_000)
    f["hub.lease_seconds"] = "99999999999999999999999"  // beyond Int: still just "long"
    XCTAssertEqual(try parse(f).get().leaseSeconds, 2_592_000)
    f["hub.lease_seconds"] = "+5"
    XCTAssertEqual(refusal(f)?.status, 400)
    f["hub.lease_seconds"] = "1.5"
    XCTAssertEqual(refusal(f)?.status, 400)
  }

  func testChecksComeInOrderAndReasonsStayOnOneLine() {
    // Bad mode beats everything else.
    XCTAssertTrue(
      refusal(["hub.mode": "x", "hub.lease_seconds": "-1"])?.reason.contains("hub.mode") ?? false)
    // The topic is checked before the callback, the callback before topic ownership.
    XCTAssertEqual(refusal(["hub.mode": "subscribe"])?.reason, "hub.topic is missing")
    XCTAssertEqual(
      refusal(["hub.mode": "subscribe", "hub.topic": "https://elsewhere.example/"])?.reason,
      "hub.callback is missing")
    // Ownership (404) before the lease, the lease before the secret.
    var f = good
    f["hub.topic"] = "https://elsewhere.example/"
    f["hub.lease_seconds"] = "-1"
    XCTAssertEqual(refusal(f)?.status, 404)
    f = good
    f["hub.lease_seconds"] = "-1"
    f["hub.secret"] = String(repeating: "k", count: 300)
    XCTAssertTrue(refusal(f)?.reason.contains("hub.lease_seconds") ?? false)
    let injected = refusal(["hub.mode": "sub\r\nX-Evil: 1"])?.reason ?? ""
    XCTAssertFalse(injected.contains("\n") || injected.contains("\r"), injected)
  }

  func testSecretMustBeLessThan200Bytes() throws {
    var f = good
    f["hub.secret"] = String(repeating: "k", count: 199)
    XCTAssertEqual(try parse(f).get().secret?.utf8.count, 199)
    f["hub.secret"] = String(repeating: "k", count: 200)
    XCTAssertEqual(refusal(f)?.status, 400)
    // 100 two-byte letters: 100 characters, 200 bytes.
    f["hub.secret"] = String(repeating: "š", count: 100)
    XCTAssertEqual(refusal(f)?.status, 400)
    XCTAssertTrue(refusal(f)?.reason.contains("200 bytes") ?? false)
    // 99 two-byte letters and one ASCII: 100 characters, 199 bytes.
    f["hub.secret"] = String(repeating: "š", count: 99) + "k"
    XCTAssertEqual(try parse(f).get().secret?.count, 100)
    f["hub.secret"] = ""
    XCTAssertNil(try parse(f).get().secret)
  }

  // Expected values: python3 hmac.new(b"kiek-daug-naujienu", body.encode(), hashlib.<m>)
  // .hexdigest(); sha1 and sha256 also with `printf %s "$body" | openssl dgst -<m> -hmac
  // kiek-daug-naujienu`. The body is UTF-8 ("š" is two bytes).
  let body = Data("Naujiena: klasteris šiandien".utf8)
  let secret = "kiek-daug-naujienu"
  let expected: [HubSignature.Method: String] = [
    .sha1: "dbd3d2a59c8be6258cb18593f44ff7d2c74076ba",
    .sha256: "bbc610ec70c09adb47d5164d1cd62d4babe0bd43a966eea8af9ac138aaf95490",
    .sha384: "33e8b77ebd49135948ad8547263fa6bf0b79ddc479eb4f29023231586eef8d49"
      + "753a13d059b019ec2f26057f88392837",
    .sha512: "4661af7fce6b142993e968b74134c6c87cf8171148a4ae888c6c8a0a946e2b3e"
      + "3fa599997a00a7f47bbcedb17d9dbf558b39ffdb192bf47d7a38f500710b1cf2",
  ]

  func testSignaturesMatchIndependentHMACs() {
    XCTAssertEqual(
      HubSignature.header(body: body, secret: secret), "sha256=" + expected[.sha256]!)
    for (method, hex) in expected {
      XCTAssertEqual(
        HubSignature.header(body: body, secret: secret, method: method),
        "\(method.rawValue)=\(hex)")
      XCTAssertTrue(HubSignature.verify(header: "\(method)=\(hex)", body: body, secret: secret))
      XCTAssertTrue(
        HubSignature.verify(
          header: "\(method.rawValue.uppercased())=\(hex.uppercased())", body: body,
          secret: secret))
    }
  }

  func testBadSignaturesAreRejected() {
    let hex = expected[.sha256]!
    var flipped = Array(hex)
    flipped[10] = flipped[10] == "0" ? "1" : "0"
    XCTAssertFalse(
      HubSignature.verify(header: "sha256=" + String(flipped), body: body, secret: secret))
    XCTAssertFalse(HubSignature.verify(header: "sha512=" + hex, body: body, secret: secret))
    XCTAssertFalse(HubSignature.verify(header: "md5=" + hex, body: body, secret: secret))
    XCTAssertFalse(HubSignature.verify(header: nil, body: body, secret: secret))
    XCTAssertFalse(HubSignature.verify(header: "sha256=zz", body: body, secret: secret))
    XCTAssertFalse(HubSignature.verify(header: "sha256=" + hex, body: body, secret: "other"))
    XCTAssertFalse(
      HubSignature.verify(header: "sha256=" + hex, body: body + Data([0x20]), secret: secret))
  }

  func testLinkHeadersParseRFC8288() {
    let base = URL(string: "https://member.example.lt/news/feed.xml")!
    let links = WebSubLinks.parse(
      headers: [
        "<https://hub.example/>; rel=\"hub\", </news/feed.xml>; rel=\"self\"",
        "<https://a.example/x,y>; title=\"a, b; c\"; REL=\"alternate HUB\", "
          + "<https://hub.example/>; rel=hub",
        "<relative/hub>; rel=\"hub self\"",
        "<https://other.example/feed>; rel=self",
        "<https://ignored.example/>; rel=\"next\"",
      ], base: base)
    XCTAssertEqual(
      links.hubs.map(\.absoluteString),
      [
        "https://hub.example/", "https://a.example/x,y",
        "https://member.example.lt/news/relative/hub",
      ])
    XCTAssertEqual(links.selfURL?.absoluteString, "https://member.example.lt/news/feed.xml")
    // Without a base a relative target is useless and dropped; the rel list is split on spaces.
    let noBase = WebSubLinks.parse(
      headers: ["</hub>; rel=hub, <https://h.example/>;rel=\"self  hub\""], base: nil)
    XCTAssertEqual(noBase.hubs.map(\.absoluteString), ["https://h.example/"])
    XCTAssertEqual(noBase.selfURL?.absoluteString, "https://h.example/")
    XCTAssertEqual(
      WebSubLinks(hubs: [URL(string: "https://h.example/websub")!], selfURL: base).headerValue,
      "<https://h.example/websub>; rel=\"hub\", <\(base.absoluteString)>; rel=\"self\"")
    XCTAssertNil(WebSubLinks().headerValue)
  }

  func testDiscoveryPrefersHeaders() {
    let docHub = URL(string: "https://doc-hub.example/")!
    let docSelf = URL(string: "https://m.example/feed")!
    let fromHeaders = WebSubLinks.discover(
      headers: ["<https://header-hub.example/>; rel=\"hub\""], documentHubs: [docHub],
      documentSelf: docSelf, base: nil)
    XCTAssertEqual(fromHeaders.hubs.map(\.absoluteString), ["https://header-hub.example/"])
    XCTAssertEqual(fromHeaders.selfURL, docSelf)
    let fromDocument = WebSubLinks.discover(
      headers: ["<https://x.example/>; rel=\"self\""], documentHubs: [docHub, docHub],
      documentSelf: docSelf, base: nil)
    XCTAssertEqual(fromDocument.hubs, [docHub])
    XCTAssertEqual(fromDocument.selfURL, docSelf)
  }

  func testCallbackQueriesKeepTheCallbackQueryAndEncodeStrictly() {
    let callback = URL(string: "https://reader.example/cb?a=1&b=x")!
    let url = CallbackQuery.verification(
      callback: callback, mode: "subscribe", topic: "https://n.example/f?x=1&y=a+b",
      challenge: "abc", leaseSeconds: 3600)
    XCTAssertEqual(
      url.absoluteString,
      "https://reader.example/cb?a=1&b=x&hub.mode=subscribe"
        + "&hub.topic=https%3A%2F%2Fn.example%2Ff%3Fx%3D1%26y%3Da%2Bb&hub.challenge=abc"
        + "&hub.lease_seconds=3600")
    let items = URLComponents(url: url, resolvingAgainstBaseURL: false)!.queryItems!
    XCTAssertEqual(
      items.first { $0.name == "hub.topic" }?.value, "https://n.example/f?x=1&y=a+b")
    let denied = CallbackQuery.denial(
      callback: URL(string: "https://reader.example/cb")!, topic: "t", reason: "too many")
    XCTAssertEqual(
      denied.absoluteString,
      "https://reader.example/cb?hub.mode=denied&hub.topic=t&hub.reason=too%20many")
    let c1 = CallbackQuery.challenge()
    XCTAssertEqual(c1.count, 64)
    XCTAssertTrue(c1.allSatisfy { "0123456789abcdef".contains($0) })
    XCTAssertNotEqual(c1, CallbackQuery.challenge())
  }
}
