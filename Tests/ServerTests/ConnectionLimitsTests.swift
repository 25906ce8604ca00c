import FeedModel
import FeedStore
import Foundation
import Hummingbird
import Logging
import Publisher
import PublishingTestSupport
import TestSupport
import XCTest

@testable import Server

/// The limits that make the server fit for the public internet, through raw sockets on
/// 127.0.0.1: request-head deadline (slowloris), idle timeout, head size, connection cap, and
/// the byte-bounded cache of wire forms.
final class ConnectionLimitsTests: XCTestCase {
  static let t0 = Date(timeIntervalSince1970: 1_790_000_000)

  func makeStore() -> MemoryStore {
    let store = MemoryStore(sources: [
      SourceState(id: "ict", url: "https://ict.example.lt/feed/", title: "IT klasteris")
    ])
    for i in 0..<10 {
      store.add(
        sourceID: "ict",
        entry: Entry(title: "Naujiena \(i)", link: "https://ict.example.lt/\(i)"),
        sortDate: Self.t0.addingTimeInterval(Double(-i * 60)))
    }
    return store
  }

  func start(_ options: ServerOptions, store: MemoryStore? = nil) async throws -> (
    port: Int, task: Task<Void, any Error>
  ) {
    let publisher = Publisher(
      store: store ?? makeStore(),
      options: PublisherOptions(
        baseURL: URL(string: "https://news.example.org/")!, title: "Naujienos", author: "Tinklas",
        entriesPerPage: 100, generatorVersion: "test"))
    return await runTestServer(
      publisher: publisher, options: options, label: "limits-test",
      metricsFactory: CountingMetrics())
  }

  func stop(_ task: Task<Void, any Error>) async {
    task.cancel()
    _ = try? await task.value
  }

  func testIncompleteHeadsAreClosedAfterTheHeadTimeoutButIdleKeepAliveLastsLonger() async throws {
    let (port, task) = try await start(
      ServerOptions(idleTimeout: .seconds(4), requestHeadTimeout: .milliseconds(700)))
    let slow = try XCTUnwrap(RawConnection(port: port))
    let silent = try XCTUnwrap(RawConnection(port: port))
    let trickle = try XCTUnwrap(RawConnection(port: port))
    let keepAlive = try XCTUnwrap(RawConnection(port: port))
    XCTAssertEqual(keepAlive.get("/feed.atom")?.status, 200)
    slow.send("GET /feed.atom HTTP/1.1\r\nHo")
    let started = Date()
    // A slowloris client keeps sending, a byte at a time: the deadline counts from the first
    // byte, not from the last one.
    var trickled = 0
    let request = Array("GET /feed.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8)
    while Date().timeIntervalSince(started) < 2.5, trickle.send([request[trickled % request.count]])
    {
      trickled += 1
      try await Task.sleep(for: .milliseconds(100))
    }
    let trickleCut = Date().timeIntervalSince(started)
    // Well before the idle timeout (4 s), which is all Hummingbird itself would apply.
    XCTAssertLessThan(trickleCut, 2.5, "a connection trickling its head is cut off")
    XCTAssertTrue(slow.closedByPeer(within: 0.5), "a half-sent head is closed")
    XCTAssertTrue(silent.closedByPeer(within: 0.5), "so is a connection that never sends")
    XCTAssertTrue(trickle.closedByPeer(within: 0.5))
    XCTAssertLessThan(Date().timeIntervalSince(started), 3.5)
    // The idle keep-alive connection (4 s) is still usable after the head deadline passed.
    XCTAssertFalse(keepAlive.closedByPeer(within: 0.1))
    XCTAssertEqual(keepAlive.get("/feed.atom")?.status, 200, "keep-alive outlives the head timeout")
    // …and is closed after the idle timeout.
    XCTAssertTrue(keepAlive.closedByPeer(within: 8), "idle connection closed after idleTimeout")
    await stop(task)
  }

  func testAClientThatStopsReadingIsCutOffAfterTheIdleTimeout() async throws {
    // A feed of about 8 MB: more than the kernel's socket buffers hold, so the server's writes
    // stall when the client stops reading.
    let store = MemoryStore(sources: [
      SourceState(id: "big", url: "https://big.example.lt/feed", title: "Didelis")
    ])
    let text = String(repeating: "Ilgas tekstas apie klasterius. ", count: 3300)
    for i in 0..<80 {
      store.add(
        sourceID: "big",
        entry: Entry(
          title: "Įrašas \(i)", link: "https://big.example.lt/\(i)", summary: .text(text)),
        sortDate: Self.t0.addingTimeInterval(Double(-i * 60)))
    }
    let (port, task) = try await start(
      ServerOptions(idleTimeout: .seconds(1), requestHeadTimeout: .seconds(1)), store: store)
    // Render it first, so the stalled connection below waits on the client only.
    let reader = try XCTUnwrap(RawConnection(port: port, receiveTimeout: 30))
    let full = try XCTUnwrap(reader.get("/feed.atom"))
    XCTAssertEqual(full.status, 200)
    XCTAssertGreaterThan(full.body.count, 6_000_000)
    let stalled = try XCTUnwrap(
      RawConnection(port: port, receiveTimeout: 5, receiveBuffer: 4096))
    stalled.send("GET /feed.atom HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    // Not reading for longer than the idle timeout: the server gives up on the response (what
    // the kernel had already buffered still arrives, then the close). Hummingbird alone never
    // closes a connection whose response is still being written: the whole feed would arrive
    // and the connection stay open.
    try await Task.sleep(for: .seconds(4))
    let (bytes, eof) = stalled.drain()
    XCTAssertTrue(eof, "the server closed the stalled connection")
    XCTAssertLessThan(bytes, full.body.count, "the unread response was abandoned")
    await stop(task)
  }

  func testOversizedRequestHeadsAreRejected() async throws {
    let (port, task) = try await start(ServerOptions(maxRequestHeadBytes: 4096))
    let ok = try XCTUnwrap(RawConnection(port: port))
    let fine = ok.get("/feed.atom", headers: ["X-Pad": String(repeating: "a", count: 2000)])
    XCTAssertEqual(fine?.status, 200)
    let big = try XCTUnwrap(RawConnection(port: port))
    big.send(
      "GET /feed.atom HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: \(String(repeating: "a", count: 5000))\r\n\r\n"
    )
    XCTAssertTrue(big.closedByPeer(within: 5), "an oversized head closes the connection")
    XCTAssertTrue(big.received.isEmpty || big.received.hasPrefix("HTTP/1.1 4"), big.received)
    XCTAssertFalse(big.received.hasPrefix("HTTP/1.1 200"))
    // A long URL counts too.
    let url = try XCTUnwrap(RawConnection(port: port))
    url.send("GET /feed.atom?x=\(String(repeating: "b", count: 5000)) HTTP/1.1\r\nHost: h\r\n\r\n")
    XCTAssertTrue(url.closedByPeer(within: 5))
    XCTAssertFalse(url.received.hasPrefix("HTTP/1.1 200"), url.received)
    await stop(task)
  }

  func testConnectionsOverTheLimitAreClosedAtOnce() async throws {
    let (port, task) = try await start(ServerOptions(maxConnections: 5))
    var held: [RawConnection] = []
    for _ in 0..<5 { held.append(try XCTUnwrap(RawConnection(port: port))) }
    // The server has accepted and counted every one of them (each answers a request; accepted
    // connections become active on different event loops, so without this the order is open).
    for c in held { XCTAssertEqual(c.get("/healthz")?.status, 200) }
    let extra = try XCTUnwrap(RawConnection(port: port))
    let t = Date()
    XCTAssertTrue(extra.closedByPeer(within: 5), "the sixth connection is closed")
    XCTAssertLessThan(Date().timeIntervalSince(t), 2, "at once, not after a timeout")
    XCTAssertNil(extra.get("/feed.atom"))
    for c in held.dropFirst() { XCTAssertFalse(c.closedByPeer(within: 0.05)) }
    // Closing one frees a place.
    held.removeLast()
    var served = false
    for _ in 0..<50 where !served {
      try await Task.sleep(for: .milliseconds(50))
      served = RawConnection(port: port)?.get("/feed.atom")?.status == 200
    }
    XCTAssertTrue(served, "a freed slot is reused")
    held.removeAll()
    await stop(task)
  }

  func testWireFormsAreReplacedPerPathAndBoundedInBytes() throws {
    let cache = BodyCache(maxBytes: 1 << 20, pagedBytes: 64 * 1024)
    func doc(_ text: String, path: String = "/feed.atom") -> Document {
      let body = Array(String(repeating: text, count: 200).utf8)
      return Document(
        path: path, contentType: ContentTypes.atom, body: body, etag: "\"\(text)\"",
        lastModified: Self.t0)
    }
    let v1 = cache.get(doc("senas "), key: "/feed.atom")
    XCTAssertEqual(cache.usage.entries, 1)
    XCTAssertNotNil(v1.gzip)
    // The wire forms hold no more than their bytes (the compressor's worst-case buffer is not
    // kept), so the byte budget is honest.
    XCTAssertLessThanOrEqual(v1.gzip?.capacity ?? .max, 2 * (v1.gzip?.readableBytes ?? 0) + 64)
    XCTAssertLessThanOrEqual(v1.identity.capacity, 2 * v1.identity.readableBytes)
    XCTAssertEqual(cache.get(doc("senas "), key: "/feed.atom").etag, v1.etag, "a hit")
    let v2 = cache.get(doc("naujas "), key: "/feed.atom")
    XCTAssertEqual(cache.usage.entries, 1, "the new version replaces the old one")
    let expected =
      v2.identity.capacity + (v2.gzip?.capacity ?? 0) + "/feed.atom".utf8.count
      + BodyCache.overhead
    XCTAssertEqual(cache.usage.bytes, expected, "only the new version's bytes are held")
    // Pages stay within their lane and never push out the unpaged document.
    for i in 0..<5000 {
      _ = cache.get(doc("puslapis \(i) "), key: "/feed.atom?before=\(i)-\(i)")
    }
    XCTAssertLessThanOrEqual(cache.usage.bytes, expected + 64 * 1024)
    XCTAssertLessThan(cache.usage.entries, 100)
    XCTAssertEqual(cache.get(doc("naujas "), key: "/feed.atom").etag, v2.etag)
  }
}
