import Foundation
import TestSupport
import XCTest

/// `clusterwire run` on a small generated config (one local RSS source), started and waited for
/// the way systemd would (READY=1 on a fake `$NOTIFY_SOCKET`), for the load and abuse tests.
final class RunningDaemon {
  let dir: URL
  let port: Int
  let process: Process
  let notify: NotifySocket
  let t0 = Date(timeIntervalSince1970: 1_790_000_000)

  /// - Parameters:
  ///   - items: entries in the source, one minute apart, newest at `t0`.
  ///   - serverKeys: extra `[server]` lines (timeouts, limits).
  init(items: Int, entriesPerPage: Int = 5, serverKeys: String = "") throws {
    dir = try TestSupport.makeTempDirectory("cw-load")
    port = TestSupport.freePort()
    var rss =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Alfa</title><link>https://alfa.lt/</link>"
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    for i in 0..<items {
      let date = formatter.string(from: t0.addingTimeInterval(Double(-60 * i)))
      rss +=
        "<item><title>Naujiena \(i)</title><link>https://alfa.lt/\(i)</link><guid>https://alfa.lt/\(i)</guid>"
        + "<pubDate>\(date)</pubDate><description>Apie naujieną \(i): tekstas.</description></item>"
    }
    rss += "</channel></rss>"
    try rss.write(to: dir.appendingPathComponent("alfa.xml"), atomically: true, encoding: .utf8)
    let config = """
      [server]
      listen = "127.0.0.1:\(port)"
      base_url = "http://127.0.0.1:\(port)/"
      \(serverKeys)
      [store]
      path = "state/clusterwire.sqlite"
      [feed]
      title = "Testo naujienos"
      author = "Testas"
      entries = \(entriesPerPage)
      [crawl]
      interval = "1h"
      timeout = "20s"
      [[source]]
      id = "alfa"
      url = "alfa.xml"
      categories = ["ict"]
      """
    let configURL = dir.appendingPathComponent("clusterwire.toml")
    try config.write(to: configURL, atomically: true, encoding: .utf8)
    notify = try NotifySocket(directory: dir)
    var env = ProcessInfo.processInfo.environment
    env["NOTIFY_SOCKET"] = notify.path
    process = try TestSupport.spawn(
      TestSupport.clusterwireBinary, ["run", "--config", configURL.path, "--log-level", "warning"],
      environment: env, logDirectory: dir)
  }

  var stderrLog: String {
    (try? String(contentsOf: dir.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
  }

  /// Waits for READY=1 and for the source's newest entry in `/feed.atom`.
  func waitUntilServing(newest: String = "Naujiena 0") -> Bool {
    guard notify.wait(for: "READY=1", timeout: 60) else { return false }
    return TestSupport.waitUntil(timeout: 30) {
      guard let r = TestSupport.httpGet(port: port, path: "/feed.atom"), r.status == 200 else {
        return false
      }
      return String(decoding: r.body, as: UTF8.self).contains(newest)
    }
  }

  var rss: Int { TestSupport.residentBytes(pid: process.processIdentifier) ?? 0 }

  /// Median wall time of `count` GETs of `path`, each on a fresh connection, in milliseconds.
  func medianLatency(_ path: String, count: Int = 15) -> Double {
    var times: [Double] = []
    for _ in 0..<count {
      let start = DispatchTime.now().uptimeNanoseconds
      _ = TestSupport.httpGet(port: port, path: path)
      times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
    }
    return times.sorted()[count / 2]
  }

  func stop(succeeded: Bool) {
    if process.isRunning {
      kill(process.processIdentifier, SIGTERM)
      if !TestSupport.waitUntil(timeout: 15, { !process.isRunning }) {
        kill(process.processIdentifier, SIGKILL)
      }
      process.waitUntilExit()
    }
    notify.close()
    if succeeded { try? FileManager.default.removeItem(at: dir) }
  }
}
