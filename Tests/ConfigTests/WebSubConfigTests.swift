import Config
import Foundation
import TestSupport
import XCTest

/// `[websub]` and the per-source `websub` switch.
final class WebSubConfigTests: XCTestCase {
  var dir: URL!

  override func setUpWithError() throws {
    dir = try TestSupport.makeTempDirectory("cw-websub-config")
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

  private func load(_ main: String) throws -> Settings {
    let url = dir.appendingPathComponent("main.toml")
    try main.write(to: url, atomically: true, encoding: .utf8)
    return try ConfigLoader.load(path: url.path)
  }

  private func issues(_ main: String) throws -> [ConfigIssue] {
    do {
      _ = try load(main)
      XCTFail("expected the config to be rejected")
      return []
    } catch let error as ConfigError {
      return error.issues
    }
  }

  func testDefaults() throws {
    let s = try load("[[source]]\nid = \"a\"\nurl = \"https://a.example/feed\"\n")
    XCTAssertTrue(s.websub.hub)
    XCTAssertTrue(s.websub.subscribe)
    XCTAssertEqual(s.websub.ping, [])
    XCTAssertEqual(s.websub.leaseMin, 3600)
    XCTAssertEqual(s.websub.leaseDefault, 864_000)
    XCTAssertEqual(s.websub.leaseMax, 2_592_000)
    XCTAssertEqual(s.websub.pollWhileSubscribed, 6 * 3600)
    XCTAssertFalse(s.websub.allowPrivateCallbacks)
    XCTAssertTrue(s.sources[0].websub)
    XCTAssertTrue(
      s.summary().contains(
        "websub:      hub at http://127.0.0.1:8080/websub; subscribes at the sources' hubs "
          + "(polled every 6h while pushed);"), s.summary())
  }

  func testEverySetting() throws {
    let s = try load(
      """
      [websub]
      hub = false
      ping = ["https://hub.example/", "https://pubsubhubbub.example.net/publish"]
      lease_min = "10m"
      lease_default = "1d"
      lease_max = "7d"
      allow_private_callbacks = true
      max_subscriptions = 50
      max_per_callback_host = 5
      retry_for = "30m"
      delivery_timeout = "5s"
      poll_while_subscribed = "12h"

      [[source]]
      id = "a"
      url = "https://a.example/feed"
      websub = false
      """)
    XCTAssertFalse(s.websub.hub)
    XCTAssertEqual(
      s.websub.ping.map(\.absoluteString),
      ["https://hub.example/", "https://pubsubhubbub.example.net/publish"])
    XCTAssertEqual(s.websub.leaseMin, 600)
    XCTAssertEqual(s.websub.leaseDefault, 86_400)
    XCTAssertEqual(s.websub.leaseMax, 7 * 86_400)
    XCTAssertTrue(s.websub.allowPrivateCallbacks)
    XCTAssertEqual(s.websub.maxSubscriptions, 50)
    XCTAssertEqual(s.websub.maxPerCallbackHost, 5)
    XCTAssertEqual(s.websub.retryFor, 1800)
    XCTAssertEqual(s.websub.deliveryTimeout, 5)
    XCTAssertEqual(s.websub.pollWhileSubscribed, 12 * 3600)
    XCTAssertFalse(s.sources[0].websub)
    XCTAssertTrue(s.summary().contains("no hub; pings https://hub.example/"), s.summary())
    XCTAssertTrue(s.summary().contains("while pushed, 1 source polled only)"), s.summary())
  }

  func testErrorsNameTheLine() throws {
    let found = try issues(
      """
      [websub]
      ping = ["hub.example", "https://ok.example/"]
      lease_min = "2d"
      lease_max = "1d"
      pol_while_subscribed = "6h"
      hub = "yes"
      """)
    let byKey = Dictionary(found.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
    XCTAssertEqual(byKey["websub.ping[0]"]?.line, 2, "\(found)")
    XCTAssertTrue(byKey["websub.ping[0]"]?.message.contains("invalid hub URL") ?? false)
    XCTAssertEqual(byKey["websub.lease_min"]?.line, 3, "\(found)")
    XCTAssertTrue(
      byKey["websub.pol_while_subscribed"]?.message.contains("poll_while_subscribed") ?? false,
      "\(found)")
    XCTAssertEqual(byKey["websub.hub"]?.line, 6, "\(found)")
    XCTAssertEqual(found.count, 4, "\(found)")
  }
}
