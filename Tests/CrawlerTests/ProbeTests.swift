import AsyncHTTPClient
import FeedModel
import FeedParser
import Foundation
import NetworkGuard
import XCTest

@testable import Crawler

/// `Probe`, the fetch `clusterwire discover` uses: the admin's URL is fetched like a configured
/// source; URLs found in a page pass the private-network guard like a redirect hop from it.
final class ProbeTests: XCTestCase {
  static let rss = Array(
    """
    <?xml version="1.0"?><rss version="2.0"><channel><title>Narys</title><link>https://narys.example/</link>
    <item><title>Pirma</title><link>https://narys.example/1</link></item></channel></rss>
    """.utf8)

  /// Runs `body` against a loopback server answering `/feed.xml` with RSS and anything else 404.
  func withServer(_ body: (ScriptedServer, HTTPClient, CrawlerOptions) async throws -> Void)
    async throws
  {
    let server = ScriptedServer { request in
      request.path == "/feed.xml"
        ? .respond(
          status: 200, headers: [("Content-Type", "application/rss+xml")], body: ProbeTests.rss)
        : .respond(status: 404, body: Array("<h1>nerasta</h1>".utf8))
    }
    try await server.start()
    let options = CrawlerOptions.test()
    let client = HTTPClient(
      eventLoopGroupProvider: .singleton, configuration: options.httpClientConfiguration())
    do {
      try await body(server, client, options)
    } catch {
      try? await client.shutdown()
      await server.stop()
      throw error
    }
    try? await client.shutdown()
    await server.stop()
  }

  func testAdminURLAndLinksInsideThePrivateNetworkAreFetched() async throws {
    try await withServer { server, client, options in
      let page = URL(string: server.url("/"))!
      guard
        case .success(let home) = await Probe.probe(
          page, options: options, httpClient: client)
      else { return XCTFail("the admin's loopback URL is fetched") }
      XCTAssertEqual(home.status, 404)
      XCTAssertNil(home.body)
      // The page is on loopback (the admin's own network): a link on it may stay there.
      guard
        case .success(let feed) = await Probe.probe(
          URL(string: server.url("/feed.xml"))!, origin: page, options: options,
          httpClient: client)
      else { return XCTFail("a loopback link from a loopback page is fetched") }
      XCTAssertEqual(feed.status, 200)
      XCTAssertEqual(feed.contentType, "application/rss+xml")
      XCTAssertEqual(feed.body.map(Array.init), ProbeTests.rss)
      guard
        case .success(let parsed, _) = Probe.preview(
          SourceDefinition(id: "narys", url: feed.finalURL.absoluteString), fetched: feed,
          options: options)
      else { return XCTFail("the fetched feed previews") }
      XCTAssertEqual(parsed.feed.entries.map(\.title), ["Pirma"])
      XCTAssertEqual(server.requests.map(\.path), ["/", "/feed.xml"])
      XCTAssertTrue(server.requests.allSatisfy { $0.header("User-Agent") == options.userAgent })
    }
  }

  func testLinksFromAPublicPageIntoPrivateSpaceAreRefusedBeforeAnyRequest() async throws {
    // 127.0.0.1 stands in for a public site; a name on it resolving to 10.0.0.5 is an intranet.
    let policy = NetworkPolicy(
      resolver: ScriptedResolver(["intranet.example": [[IPAddress(10, 0, 0, 5)]]]),
      classify: { $0 == IPAddress(127, 0, 0, 1) ? .global : $0.addressClass })
    try await withServer { server, client, options in
      let page = URL(string: server.url("/"))!
      for target in [
        "http://169.254.169.254/latest/meta-data/", "http://intranet.example/feed/",
        "http://[::1]:\(server.port)/feed.xml",
      ] {
        let result = await Probe.probe(
          URL(string: target)!, origin: page, options: options, httpClient: client,
          policy: policy)
        guard case .failure(let error) = result else {
          return XCTFail("\(target) was fetched from a public page")
        }
        XCTAssertTrue(error.message.hasPrefix("found in a page: "), error.message)
        XCTAssertTrue(error.message.contains("refused"), error.message)
      }
      // A link to the public site itself is fine.
      guard
        case .success(let feed) = await Probe.probe(
          URL(string: server.url("/feed.xml"))!, origin: page, options: options,
          httpClient: client, policy: policy)
      else { return XCTFail("a public link from a public page is fetched") }
      XCTAssertEqual(feed.status, 200)
      XCTAssertEqual(server.requests.map(\.path), ["/feed.xml"])
    }
  }

  func testFileLinksAreNeverRead() async throws {
    try await withServer { server, client, options in
      let result = await Probe.probe(
        URL(string: "file:///etc/passwd")!, origin: URL(string: server.url("/"))!,
        options: options, httpClient: client)
      guard case .failure(let error) = result else { return XCTFail("file: link was read") }
      XCTAssertTrue(error.message.contains("only http and https"), error.message)
    }
  }
}
