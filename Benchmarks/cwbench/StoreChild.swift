import ArgumentParser
import FeedModel
import FeedStore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The child process of the kill-9 test: ingests synthetic crawl results in a loop, one store
/// transaction each, and after each commit appends `committed <run>-<n>` to a log file and
/// fsyncs it. The test kills it with SIGKILL at random moments and then checks that every logged
/// transaction is in the database.
struct StoreChild: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "store-child",
    abstract: "Ingest synthetic feeds forever, logging each committed transaction (kill-9 test).")

  @Option(help: "SQLite database path.") var db: String
  @Option(help: "Log file: one fsync'd 'committed <run>-<n>' line per committed transaction.")
  var log: String
  @Option(help: "Number of sources to rotate through.") var sources: Int = 4
  @Option(help: "New entries per transaction.") var entries: Int = 20
  @Option(help: "Stop after this many transactions.") var transactions: Int = 1_000_000

  func run() async throws {
    let store = try SQLiteFeedStore(
      path: db,
      options: StoreOptions(maxEntriesPerSource: 1_000_000, maxAge: 3650 * 86400))
    try await store.syncSources(
      (0..<sources).map {
        SourceDefinition(
          id: "src\($0)", url: "https://src\($0).example/feed", categories: ["c\($0 % 2)"],
          priority: $0 % 3)
      })
    let fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    guard fd >= 0 else { throw ValidationError("cannot open \(log)") }
    let run = "\(getpid())x\(Int(Date().timeIntervalSince1970 * 1000) % 1_000_000_000)"
    var rng = SystemRandomNumberGenerator()
    let words = [
      "energija", "vėjas", "saulė", "tinklas", "rūmai", "narys", "forumas", "Vilnius", "Kaunas",
      "eksportas", "investicijos", "sutartis", "paroda", "konferencija", "mokesčiai", "darbas",
    ]
    let body = String(
      repeating: "<p>Ilgas straipsnio tekstas apie prekybą ir pramonę.</p>", count: 40)
    for n in 0..<transactions {
      let sourceID = "src\(n % sources)"
      let now = Date()
      var list: [Entry] = []
      for k in 0..<entries {
        let title = (0..<8).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
        list.append(
          Entry(
            id: "txn-\(run)-\(n)-\(k)", title: "\(title) \(n)-\(k)",
            link: "https://\(sourceID).example/\(run)/\(n)/\(k)",
            published: now.addingTimeInterval(-Double(k)),
            summary: .text("\(title) santrauka \(UInt64.random(in: 0...UInt64.max, using: &rng))"),
            content: .html(body)))
      }
      try await store.record(
        FetchOutcome(
          sourceID: sourceID, result: .fetched, attemptedAt: now, httpStatus: 200,
          etag: "\"\(run)-\(n)\"", nextDue: now.addingTimeInterval(600)),
        feed: Feed(title: "Source \(sourceID)", entries: list))
      let line = Array("committed \(run)-\(n)\n".utf8)
      let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      guard written == line.count, fsync(fd) == 0 else { throw ValidationError("log write failed") }
    }
    close(fd)
    try await store.close()
  }
}
