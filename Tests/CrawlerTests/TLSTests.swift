import AsyncHTTPClient
import FeedModel
import FeedParser
import Foundation
import NIOSSL
import TestSupport
import XCTest

@testable import Crawler

/// HTTPS sources against a real TLS server on 127.0.0.1. `Fixtures/tls` holds two self-signed
/// certificates valid until 2126: `server` names IP 127.0.0.1, `other` only the host
/// other.example. The daemon's client verifies certificates: an untrusted or wrong-host
/// certificate fails that source with a reason an admin can act on, stores nothing from it, and
/// the rest of the cycle carries on. The trusted control proves the server itself is sound, so
/// the failures are the verification's.
final class TLSTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  private func certificate(_ name: String) throws -> NIOSSLCertificate {
    let path = TestSupport.fixture("CrawlerTests", "tls/\(name).crt").path
    return try XCTUnwrap(NIOSSLCertificate.fromPEMFile(path).first, path)
  }

  private func serverContext(_ name: String) throws -> NIOSSLContext {
    let key = try NIOSSLPrivateKey(
      file: TestSupport.fixture("CrawlerTests", "tls/\(name).key").path, format: .pem)
    return try NIOSSLContext(
      configuration: .makeServerConfiguration(
        certificateChain: [.certificate(try certificate(name))], privateKey: .privateKey(key)))
  }

  /// A crawler on an HTTPS server presenting certificate `name`; `trusting` adds that
  /// certificate to the client's trust roots (otherwise the client is exactly the daemon's).
  private func harness(certificate name: String, trusting: Bool) async throws -> Harness {
    let body = Array(rssFeed(2, prefix: "tls").utf8)
    let trusted = trusting ? try certificate(name) : nil
    let configure: (inout HTTPClient.Configuration) -> Void = { configuration in
      guard let trusted else { return }
      var tls = TLSConfiguration.makeClientConfiguration()
      tls.trustRoots = .certificates([trusted])
      configuration.tlsConfiguration = tls
    }
    let h = try await Harness(
      options: .test(), tls: try serverContext(name), configure: configure,
      script: { _ in .respond(status: 200, headers: [rssType], body: body) })
    addTeardownBlock { await h.shutdown() }
    return h
  }

  /// The daemon's own configuration refuses a self-signed certificate; a plain-HTTP source in
  /// the same cycle is still fetched.
  func testUntrustedCertificateFailsThatSourceOnly() async throws {
    let h = try await harness(certificate: "server", trusting: false)
    let plain = ScriptedServer { _ in
      .respond(status: 200, headers: [rssType], body: Array(rssFeed(3, prefix: "plain").utf8))
    }
    try await plain.start()
    addTeardownBlock { await plain.stop() }
    try await h.crawler.setSources([
      h.source("self-signed", "/feed.xml"),
      SourceDefinition(id: "plain", url: plain.url("/feed.xml")),
    ])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.failed, 1)
    XCTAssertEqual(report.fetched, 1)
    let state = h.state("self-signed")
    XCTAssertEqual(
      state.lastError,
      "TLS certificate not trusted: not signed by a known authority, expired, or not yet valid")
    XCTAssertEqual(state.consecutiveFailures, 1)
    XCTAssertEqual(h.store.entries["self-signed"]?.count ?? 0, 0)
    XCTAssertEqual(h.store.entries["plain"]?.count ?? 0, 3)
    XCTAssertTrue(h.server.requests.isEmpty, "no HTTP request goes over an unverified connection")
  }

  /// Control: the same server, with its certificate trusted, serves the feed.
  func testTrustedCertificateIsFetched() async throws {
    let h = try await harness(certificate: "server", trusting: true)
    try await h.crawler.setSources([h.source("trusted", "/feed.xml")])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.fetched, 1, h.state("trusted").lastError ?? "")
    XCTAssertEqual(h.store.entries["trusted"]?.count ?? 0, 2)
    XCTAssertEqual(h.server.requests.count, 1)
  }

  /// A trusted certificate that names another host (other.example; the source says localhost).
  func testCertificateForAnotherHostIsRefused() async throws {
    let h = try await harness(certificate: "other", trusting: true)
    try await h.crawler.setSources([
      SourceDefinition(id: "renamed", url: "https://localhost:\(h.server.port)/feed.xml")
    ])
    let report = await h.crawler.crawlOnce()
    XCTAssertEqual(report.failed, 1)
    XCTAssertEqual(
      h.state("renamed").lastError,
      "TLS certificate is for another host (Couldn't find localhost in certificate from peer)")
    XCTAssertEqual(h.store.entries["renamed"]?.count ?? 0, 0)
    XCTAssertTrue(h.server.requests.isEmpty)
  }

  /// TLS spoken to a plain-HTTP server: a handshake failure named by its reason, without
  /// BoringSSL's source paths.
  func testTLSToAPlainHTTPServer() async throws {
    let plain = ScriptedServer { _ in .respond(status: 200, headers: [rssType]) }
    try await plain.start()
    addTeardownBlock { await plain.stop() }
    let h = try await harness(certificate: "server", trusting: true)
    try await h.crawler.setSources([
      SourceDefinition(id: "http-only", url: "https://127.0.0.1:\(plain.port)/feed.xml")
    ])
    _ = await h.crawler.crawlOnce()
    let error = h.state("http-only").lastError ?? ""
    XCTAssertTrue(error.hasPrefix("TLS handshake failed ("), error)
    XCTAssertFalse(error.contains(".cc:"), error)
  }
}
