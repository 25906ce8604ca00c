import AsyncHTTPClient
import FeedModel
import FeedParser
import Foundation
import NIOSSL
import NetworkGuard
import TestSupport
import XCTest

@testable import Crawler

/// A DNS the test writes: one list of answers per name, used in turn (the last repeats), so a
/// test can play a rebinding server; records every lookup.
final class ScriptedResolver: HostResolver, @unchecked Sendable {
  private let lock = NSLock()
  private var answers: [String: [[IPAddress]]]
  private var _lookups: [String] = []

  init(_ answers: [String: [[IPAddress]]]) { self.answers = answers }

  var lookups: [String] { lock.withLock { _lookups } }

  func resolve(_ host: String) async throws(ResolutionError) -> [IPAddress] {
    let answer: [IPAddress]? = lock.withLock {
      _lookups.append(host)
      guard var queue = answers[host], let first = queue.first else { return nil }
      if queue.count > 1 {
        queue.removeFirst()
        answers[host] = queue
      }
      return first
    }
    guard let answer else { throw ResolutionError(host: host, reason: "Name or service not known") }
    return answer
  }
}

/// A switch the server script reads.
final class Flag: @unchecked Sendable {
  private let lock = NSLock()
  private var value = false
  var isOn: Bool { lock.withLock { value } }
  func set() { lock.withLock { value = true } }
}

/// The crawler's redirect guard end to end against a real loopback server, with an injected
/// resolver. Loopback is the only network here, so a "public origin" is 127.0.0.1 under a
/// classifier that counts exactly that address as public (everything else keeps its real
/// class); the netns test (NetnsRedirectTests) does the same with a genuinely separate network.
final class RedirectGuardTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  let loopback = IPAddress(127, 0, 0, 1)

  /// 127.0.0.1 stands in for a public address; every other address keeps its class.
  static let loopbackIsPublic: @Sendable (IPAddress) -> AddressClass = { address in
    address == IPAddress(127, 0, 0, 1) ? .global : address.addressClass
  }

  private func harness(
    policy: NetworkPolicy, hopClientConfiguration: HTTPClient.Configuration? = nil,
    _ script: @escaping @Sendable (ScriptedServer.Request) -> ScriptedServer.Action
  ) async throws -> Harness {
    let h = try await Harness(
      options: .test(), policy: policy, hopClientConfiguration: hopClientConfiguration,
      script: script)
    addTeardownBlock { await h.shutdown() }
    return h
  }

  /// A public origin's redirects into private space fail that source with the reason, before any
  /// connection: the private targets all lead back to this very server (IPv4-mapped
  /// ::ffff:127.0.0.1 reaches 127.0.0.1, as the private-origin test shows), so an unguarded
  /// crawler would have requested /feed.xml. The other source is fetched, and what the failing
  /// source had stored stays.
  func testPublicOriginRedirectIntoPrivateSpaceIsRefused() async throws {
    let mapped = IPAddress("::ffff:127.0.0.1")!
    let resolver = ScriptedResolver(["intranet.example": [[mapped]]])
    let policy = NetworkPolicy(resolver: resolver, classify: Self.loopbackIsPublic)
    let body = Array(rssFeed(2, prefix: "evil").utf8)
    let turned = Flag()
    let port = Locked(0)
    let h = try await harness(policy: policy) { req in
      let p = port.withLock { $0 }
      switch req.path {
      case "/evil" where !turned.isOn: return .respond(status: 200, headers: [rssType], body: body)
      case "/evil":
        return .respond(
          status: 302, headers: [("Location", "http://intranet.example:\(p)/feed.xml")])
      case "/mapped":
        return .respond(
          status: 301, headers: [("Location", "http://[::ffff:7f00:1]:\(p)/feed.xml")])
      case "/loopback":
        return .respond(status: 307, headers: [("Location", "http://127.0.0.2:\(p)/feed.xml")])
      case "/ok": return .respond(status: 200, headers: [rssType], body: Array(rssFeed(1).utf8))
      case "/feed.xml": return .respond(status: 200, headers: [rssType], body: body)
      default: return .respond(status: 404)
      }
    }
    port.withLock { $0 = h.server.port }
    try await h.crawler.setSources([
      h.source("evil", "/evil"), h.source("mapped", "/mapped"),
      h.source("loopback", "/loopback"), h.source("ok", "/ok"),
    ])
    let first = await h.crawler.crawlOnce()
    XCTAssertEqual(first.fetched, 2, "\(h.state("evil").lastError ?? "")")
    XCTAssertEqual(h.store.entries["evil"]?.count, 2)
    turned.set()
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.failed, 3)
    XCTAssertEqual(report.notModified, 1, "the other source is polled as usual")

    let evil = h.state("evil")
    XCTAssertEqual(
      evil.lastError,
      "redirect to http://intranet.example:\(h.server.port)/feed.xml refused: intranet.example"
        + " resolves to ::ffff:127.0.0.1 (IPv4 127.0.0.1), a loopback address (this machine)")
    XCTAssertEqual(evil.httpStatus, 302)
    XCTAssertEqual(evil.consecutiveFailures, 1)
    XCTAssertEqual(h.store.entries["evil"]?.count, 2, "nothing stored is lost")
    let target = "http://[::ffff:7f00:1]:\(h.server.port)/feed.xml"
    XCTAssertEqual(
      h.state("mapped").lastError,
      "redirect to \(target) refused: ::ffff:127.0.0.1 (IPv4 127.0.0.1) is a loopback address"
        + " (this machine)")
    XCTAssertEqual(h.state("mapped").movedTo, target, "the move is still reported")
    XCTAssertEqual(
      h.state("loopback").lastError,
      "redirect to http://127.0.0.2:\(h.server.port)/feed.xml refused: 127.0.0.2 is a loopback"
        + " address (this machine)")
    XCTAssertEqual(h.server.requests(to: "/feed.xml").count, 0, "no private target was requested")
    XCTAssertEqual(resolver.lookups, ["intranet.example"], "literals are not looked up")
  }

  /// A hop to a name connects to the address the guard checked: the name exists only in the
  /// injected resolver (the system's cannot resolve `.example`), its second answer would be a
  /// private address (rebinding) but there is no second lookup, and Host keeps the name.
  func testPublicHopConnectsToTheCheckedAddress() async throws {
    let resolver = ScriptedResolver([
      "cdn.example": [[loopback], [IPAddress("::ffff:127.0.0.1")!]]
    ])
    let policy = NetworkPolicy(resolver: resolver, classify: Self.loopbackIsPublic)
    let port = Locked(0)
    let body = Array(rssFeed(2, prefix: "cdn").utf8)
    let h = try await harness(policy: policy) { req in
      let p = port.withLock { $0 }
      switch req.path {
      case "/start":
        return .respond(status: 302, headers: [("Location", "http://cdn.example:\(p)/feed.xml")])
      case "/feed.xml": return .respond(status: 200, headers: [rssType], body: body)
      default: return .respond(status: 404)
      }
    }
    port.withLock { $0 = h.server.port }
    try await h.crawler.setSources([h.source("cdn", "/start")])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.fetched, 1, "\(h.state("cdn").lastError ?? "")")
    XCTAssertEqual(h.store.entries["cdn"]?.count, 2)
    XCTAssertEqual(
      h.server.requests(to: "/feed.xml").first?.header("Host"), "cdn.example:\(h.server.port)")
    XCTAssertEqual(resolver.lookups, ["cdn.example"], "one lookup, the checked one")
    // Next cycle: the name now answers with loopback (which reaches this server, so a crawler
    // that did not check each lookup would fetch again); a public chain may not go there.
    let again = await h.crawler.crawlOnce()
    XCTAssertEqual(again.failed, 1)
    XCTAssertEqual(
      h.state("cdn").lastError,
      "redirect to http://cdn.example:\(h.server.port)/feed.xml refused: cdn.example resolves to"
        + " ::ffff:127.0.0.1 (IPv4 127.0.0.1), a loopback address (this machine)")
    XCTAssertEqual(h.server.requests(to: "/feed.xml").count, 1)
    XCTAssertEqual(resolver.lookups, ["cdn.example", "cdn.example"], "one lookup per hop")
  }

  /// A private configured origin (127.0.0.1, the real classifier) may redirect inside the
  /// private network, to names and to IPv4-mapped loopback too; a pinned hop falls back to the next checked address when
  /// the first refuses the connection (127.0.0.2: nothing listens there).
  func testPrivateOriginMayRedirectInsideAndFallsBackAcrossAddresses() async throws {
    let resolver = ScriptedResolver([
      "intranet.example": [[IPAddress(127, 0, 0, 2), loopback]]
    ])
    let policy = NetworkPolicy(resolver: resolver)
    let port = Locked(0)
    let body = Array(rssFeed(3, prefix: "lan").utf8)
    let h = try await harness(policy: policy) { req in
      let p = port.withLock { $0 }
      switch req.path {
      case "/start":
        return .respond(
          status: 301, headers: [("Location", "http://intranet.example:\(p)/feed.xml")])
      case "/mapped":
        return .respond(status: 302, headers: [("Location", "http://[::ffff:7f00:1]:\(p)/m.xml")])
      case "/feed.xml", "/m.xml": return .respond(status: 200, headers: [rssType], body: body)
      default: return .respond(status: 404)
      }
    }
    port.withLock { $0 = h.server.port }
    try await h.crawler.setSources([h.source("lan", "/start"), h.source("mapped", "/mapped")])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(
      report.fetched, 2, "\(h.state("lan").lastError ?? "") \(h.state("mapped").lastError ?? "")")
    XCTAssertNil(h.state("lan").lastError)
    XCTAssertEqual(h.state("lan").movedTo, "http://intranet.example:\(h.server.port)/feed.xml")
    XCTAssertEqual(h.server.requests(to: "/feed.xml").count, 1)
    XCTAssertEqual(
      h.server.requests(to: "/m.xml").count, 1, "::ffff:127.0.0.1 reaches this server")
    XCTAssertEqual(resolver.lookups, ["intranet.example"])
  }

  /// A pinned HTTPS hop keeps the name for SNI and certificate checks while it connects to the
  /// checked address: `other.crt` names only other.example, the server listens on 127.0.0.1.
  /// The same server reached as wrong.example fails the name check.
  func testPinnedHTTPSHopVerifiesTheCertificateForTheName() async throws {
    let resolver = ScriptedResolver([
      "other.example": [[loopback]], "wrong.example": [[loopback]],
    ])
    let policy = NetworkPolicy(resolver: resolver)
    let certificate = try XCTUnwrap(
      NIOSSLCertificate.fromPEMFile(TestSupport.fixture("CrawlerTests", "tls/other.crt").path)
        .first)
    let key = try NIOSSLPrivateKey(
      file: TestSupport.fixture("CrawlerTests", "tls/other.key").path, format: .pem)
    let tls = try NIOSSLContext(
      configuration: .makeServerConfiguration(
        certificateChain: [.certificate(certificate)], privateKey: .privateKey(key)))
    let body = Array(rssFeed(2, prefix: "tls").utf8)
    let secure = ScriptedServer(tls: tls) { _ in
      .respond(status: 200, headers: [rssType], body: body)
    }
    try await secure.start()
    addTeardownBlock { await secure.stop() }
    var hop = CrawlerOptions.test().httpClientConfiguration()
    var trust = TLSConfiguration.makeClientConfiguration()
    trust.trustRoots = .certificates([certificate])
    hop.tlsConfiguration = trust
    let securePort = secure.port
    let h = try await harness(policy: policy, hopClientConfiguration: hop) { req in
      let host = req.path == "/good" ? "other.example" : "wrong.example"
      return .respond(
        status: 302, headers: [("Location", "https://\(host):\(securePort)/feed.xml")])
    }
    try await h.crawler.setSources([h.source("good", "/good"), h.source("wrong", "/wrong")])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.fetched, 1, "\(h.state("good").lastError ?? "")")
    XCTAssertEqual(h.store.entries["good"]?.count, 2)
    XCTAssertEqual(secure.requests.first?.header("Host"), "other.example:\(securePort)")
    let wrong = h.state("wrong").lastError ?? "nil"
    XCTAssertTrue(wrong.hasPrefix("TLS certificate is for another host"), wrong)
  }
}
