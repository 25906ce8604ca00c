import Foundation
import TestSupport
import XCTest

/// A slowloris client — 1 000 half-open connections on loopback, each having sent a few bytes of
/// a request head — neither stops the real daemon from serving `/feed.atom` to others nor grows
/// its memory without bound, and the server closes those connections after its head timeout.
final class SlowlorisTests: XCTestCase {
  func testThousandHalfOpenConnections() throws {
    let connections = 1000
    let limit = TestSupport.raiseOpenFileLimit(to: connections + 512)
    XCTAssertGreaterThanOrEqual(limit, connections + 100, "cannot open enough sockets")
    // Head deadline 6 s: long enough to check the daemon while every connection is held,
    // short enough for the test.
    let headTimeout = 6.0
    let daemon = try RunningDaemon(
      items: 20,
      serverKeys: """
        idle_timeout = "8s"
        request_head_timeout = "\(Int(headTimeout))s"
        """)
    var succeeded = false
    defer { daemon.stop(succeeded: succeeded) }
    XCTAssertTrue(daemon.waitUntilServing(), "daemon not serving; stderr:\n\(daemon.stderrLog)")
    let port = daemon.port
    let etag = TestSupport.httpGet(port: port, path: "/feed.atom")?.headers["etag"]
    XCTAssertNotNil(etag)
    let latencyBefore = daemon.medianLatency("/feed.atom")
    let rssBefore = daemon.rss

    let opened = Date()
    var held: [RawConnection] = []
    for i in 0..<connections {
      guard let c = RawConnection(port: port) else {
        XCTFail("connection \(i) refused")
        break
      }
      // A few bytes of a head, then nothing.
      c.send("GET /feed.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")
      held.append(c)
    }
    let openSeconds = Date().timeIntervalSince(opened)
    XCTAssertEqual(held.count, connections)

    // Another client is served at once while all of them are held.
    let asked = Date()
    let served = TestSupport.httpGet(port: port, path: "/feed.atom")
    let servedSeconds = Date().timeIntervalSince(asked)
    XCTAssertEqual(served?.status, 200)
    XCTAssertEqual(served?.headers["etag"], etag)
    XCTAssertLessThan(servedSeconds, 5, "/feed.atom waited behind the slowloris connections")
    let latencyDuring = daemon.medianLatency("/feed.atom", count: 9)
    let rssDuring = daemon.rss
    // They really were held open by the server meanwhile (else this test proves nothing).
    let stillOpen = held.filter { !$0.closedByPeer(within: 0) }.count
    XCTAssertLessThan(
      Date().timeIntervalSince(opened), headTimeout, "too slow to check within the deadline")
    XCTAssertGreaterThan(stillOpen, connections * 9 / 10, "connections closed before the deadline")

    // The server closes every one of them after the head timeout.
    let deadline = opened.addingTimeInterval(headTimeout + 20)
    var closed = 0
    for c in held {
      if c.closedByPeer(within: max(0, deadline.timeIntervalSinceNow)) { closed += 1 }
    }
    let closedAfter = Date().timeIntervalSince(opened)
    XCTAssertEqual(closed, connections, "half-open connections left open by the server")
    held.removeAll()
    XCTAssertTrue(daemon.process.isRunning)
    let after = TestSupport.httpGet(port: port, path: "/feed.atom")
    XCTAssertEqual(after?.status, 200)
    let rssAfter = daemon.rss

    let mb = { (b: Int) in String(format: "%+.1f MB", Double(b) / 1e6) }
    print(
      """
      SlowlorisTests: \(connections) half-open connections opened in \
      \(String(format: "%.1f", openSeconds)) s; /feed.atom served in \
      \(String(format: "%.0f", servedSeconds * 1000)) ms while held (median \
      \(String(format: "%.2f", latencyDuring)) ms, \(String(format: "%.2f", latencyBefore)) ms \
      before); RSS \(mb(rssDuring - rssBefore)) while held, \(mb(rssAfter - rssBefore)) after \
      they were closed; all \(closed) closed by the server \
      \(String(format: "%.1f", closedAfter)) s after opening (head timeout \(Int(headTimeout)) s)
      """)
    XCTAssertLessThan(rssDuring - rssBefore, 100_000_000, "memory grew with the connections")
    succeeded = testRun?.hasSucceeded ?? false
  }
}
