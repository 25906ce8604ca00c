import FeedModel
import FeedParser
import Foundation
import XCTest

@testable import Crawler

#if canImport(Glibc)
  import Glibc
#endif

/// The guard end to end with a real "public" origin: a network namespace joined to this one by
/// a veth pair on a 198.51.100.0/24 /30 (documentation space, which the classifier counts as
/// public), an HTTP origin inside it, and the real crawler (with the system resolver and the
/// real classifier) outside. The origin redirects to a loopback server that would happily serve
/// a feed; the source must fail with the refusal and the loopback server must see nothing.
/// Traffic goes only to loopback and to the namespace this test creates; everything is torn
/// down whatever happens. Needs root, iproute2 and python3; skips otherwise.
final class NetnsRedirectTests: XCTestCase {
  override class func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  /// The origin inside the namespace: prints each request path (and `ready` once listening).
  static let origin = """
    import sys, threading, http.server
    addr, port, loop_port, feed = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].encode()
    lock = threading.Lock()  # one whole line per request: handler threads must not interleave
    def log(line):
        with lock:
            sys.stdout.write(line + "\\n")
            sys.stdout.flush()
    class Origin(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            log("GET " + self.path)
            if self.path == "/to-loopback":
                self.redirect("http://127.0.0.1:%s/feed.xml" % loop_port)
            elif self.path == "/to-public":
                self.redirect("/feed.xml")
            elif self.path == "/feed.xml":
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(feed)))
                self.end_headers()
                self.wfile.write(feed)
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
        def redirect(self, location):
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer((addr, port), Origin)
    log("ready")
    server.serve_forever()
    """

  /// A missing prerequisite skips the test on a developer's machine, but fails it in CI
  /// (`CI=true`: root, and `.ci/setup` installs iproute2), where the end-to-end refusal must run.
  static func unavailable(_ why: String) -> any Error {
    if ProcessInfo.processInfo.environment["CI"] == "true" { return Unavailable(why: why) }
    return XCTSkip(why)
  }

  struct Unavailable: Error, CustomStringConvertible {
    var why: String
    var description: String { "the network-namespace test must run in CI: \(why)" }
  }

  func testPublicOriginCannotRedirectIntoLoopback() async throws {
    guard getuid() == 0 else {
      throw Self.unavailable("needs root to create a network namespace (uid \(getuid()))")
    }
    guard let ip = Self.which("ip") else {
      throw Self.unavailable("iproute2's `ip` is not installed")
    }
    guard let python = Self.which("python3") else {
      throw Self.unavailable("python3 is not installed")
    }

    let tag = "\(getpid() % 100_000)\(Int.random(in: 100..<1000))"
    let namespace = "cwguard-\(tag)"
    let hostSide = "cwg\(tag)h"  // ≤ 15 characters, the kernel's limit
    let nsSide = "cwg\(tag)n"
    let block = 4 * Int.random(in: 0..<64)  // a random /30, so parallel runs do not clash
    let hostAddress = "198.51.100.\(block + 1)"
    let originAddress = "198.51.100.\(block + 2)"
    let originPort = 8080  // the namespace has its own ports

    var cleanups: [() -> Void] = []
    defer { for cleanup in cleanups.reversed() { cleanup() } }

    if let failure = Self.run(ip, ["netns", "add", namespace]) {
      throw Self.unavailable("cannot create a network namespace: \(failure)")
    }
    cleanups.append { _ = Self.run(ip, ["netns", "del", namespace]) }
    for step in [
      ["link", "add", hostSide, "type", "veth", "peer", "name", nsSide],
      ["link", "set", nsSide, "netns", namespace],
      ["addr", "add", "\(hostAddress)/30", "dev", hostSide],
      ["link", "set", hostSide, "up"],
      ["-n", namespace, "addr", "add", "\(originAddress)/30", "dev", nsSide],
      ["-n", namespace, "link", "set", nsSide, "up"],
      ["-n", namespace, "link", "set", "lo", "up"],
    ] {
      if let failure = Self.run(ip, step) {
        throw Self.unavailable(
          "cannot set up the namespace's network (ip \(step.joined(separator: " "))): \(failure)")
      }
      if step[0] == "link", step[1] == "add" {
        cleanups.append { _ = Self.run(ip, ["link", "del", hostSide]) }
      }
    }

    // The loopback server an unguarded crawler would reach: it serves a perfectly good feed.
    let loopbackFeed = Array(rssFeed(2, prefix: "loopback").utf8)
    let h = try await Harness(options: .test(timeout: 10)) { _ in
      .respond(status: 200, headers: [rssType], body: loopbackFeed)
    }
    addTeardownBlock { await h.shutdown() }

    let originLog = LineCollector()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: ip)
    process.arguments = [
      "netns", "exec", namespace, python, "-c", Self.origin, originAddress, "\(originPort)",
      "\(h.server.port)", rssFeed(1, prefix: "origin"),
    ]
    let stdout = Pipe()
    process.standardOutput = stdout
    process.standardError = FileHandle.nullDevice
    try process.run()
    try? stdout.fileHandleForWriting.close()  // the child has its copy; EOF when it exits
    cleanups.append {
      // SIGKILL: the child inherits the test runner's blocked-signal mask, in which SIGTERM is
      // blocked (a terminate() here once left the test waiting forever).
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      process.waitUntilExit()
    }
    originLog.read(stdout.fileHandleForReading)
    let ready = await eventually(timeout: 20) { originLog.lines.contains("ready") }
    XCTAssertTrue(ready, "the origin in the namespace did not start: \(originLog.lines)")
    guard ready else { return }

    let base = "http://\(originAddress):\(originPort)"
    try await h.crawler.setSources([
      SourceDefinition(id: "evil", url: "\(base)/to-loopback"),
      SourceDefinition(id: "direct", url: "\(base)/feed.xml"),
      SourceDefinition(id: "hop", url: "\(base)/to-public"),
    ])
    let started = Date()
    let report = await h.crawler.crawlOnce()
    let evil = h.state("evil")
    print(
      "netns \(namespace): origin \(base) (host side \(hostAddress)), loopback port"
        + " \(h.server.port); cycle \(report) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s;"
        + " evil: status \(evil.httpStatus.map(String.init) ?? "-"), error \(evil.lastError ?? "nil");"
        + " origin saw \(originLog.lines.filter { $0 != "ready" }); loopback saw"
        + " \(h.server.requests.map(\.path))")

    XCTAssertEqual(
      evil.lastError,
      "redirect to http://127.0.0.1:\(h.server.port)/feed.xml refused: 127.0.0.1 is a loopback"
        + " address (this machine)")
    XCTAssertEqual(evil.httpStatus, 302)
    XCTAssertEqual(h.server.requests.count, 0, "the loopback server received no request")
    // The controls: the origin is reachable and a public-to-public redirect is followed.
    XCTAssertNil(h.state("direct").lastError)
    XCTAssertNil(h.state("hop").lastError)
    XCTAssertEqual(report.fetched, 2)
    XCTAssertEqual(report.failed, 1)
    XCTAssertEqual(h.store.entries["hop"]?.count, 1)
    let seen = originLog.lines.filter { $0 != "ready" }.sorted()
    XCTAssertEqual(seen, ["GET /feed.xml", "GET /feed.xml", "GET /to-loopback", "GET /to-public"])
  }

  // MARK: - helpers

  /// The system's copy first (what `.ci/setup` installs), then `PATH`.
  static func which(_ tool: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    let dirs =
      ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] + path.split(separator: ":").map(String.init)
    for dir in dirs {
      let candidate = "\(dir)/\(tool)"
      if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
  }

  /// Runs a command to completion; nil on success, else its exit status and stderr.
  static func run(_ executable: String, _ arguments: [String]) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let stderr = Pipe()
    process.standardError = stderr
    process.standardOutput = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      return "\(error)"
    }
    let message = stderr.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus != 0 else { return nil }
    let text = String(decoding: message, as: UTF8.self).trimmingCharacters(
      in: .whitespacesAndNewlines)
    return "exit \(process.terminationStatus): \(text)"
  }
}

/// Lines read from a pipe on a background thread until EOF.
final class LineCollector: @unchecked Sendable {
  private let lock = NSLock()
  private var buffer = ""

  var lines: [String] {
    lock.withLock { buffer.split(separator: "\n").map(String.init) }
  }

  func read(_ handle: FileHandle) {
    Thread.detachNewThread {
      while true {
        let data = handle.availableData
        if data.isEmpty { return }
        let text = String(decoding: data, as: UTF8.self)
        self.lock.withLock { self.buffer += text }
      }
    }
  }
}
