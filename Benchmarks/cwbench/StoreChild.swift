import ArgumentParser
import FeedModel
import FeedStore
import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// The child process of the kill-9 tests: ingests synthetic crawl results in a loop and after
/// each `record` returns (its transaction committed) appends `committed <run>-<n>` to a log file
/// and fsyncs it. With `--in-flight 1` every result is its own transaction; with more, rounds of
/// that many results (on distinct sources) are recorded concurrently, so the store group-commits
/// several of them per transaction. The tests kill it with SIGKILL at random moments and then
/// check that every logged result is in the database and that each result is all-or-nothing.
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
  @Option(help: "Crawl results recorded concurrently per round (group commit; at most --sources).")
  var inFlight: Int = 1

  func run() async throws {
    let store = try SQLiteFeedStore(
      path: db,
      options: StoreOptions(
        maxEntriesPerSource: 1_000_000, maxAge: 3650 * 86400,
        // Concurrent rounds are group-committed whatever the store's default.
        commitBatch: max(1, inFlight)))
    try await store.syncSources(
      (0..<sources).map {
        SourceDefinition(
          id: "src\($0)", url: "https://src\($0).example/feed", categories: ["c\($0 % 2)"],
          priority: $0 % 3)
      })
    let fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    guard fd >= 0 else { throw ValidationError("cannot open \(log)") }
    let run = "\(getpid())x\(Int(Date().timeIntervalSince1970 * 1000) % 1_000_000_000)"
    let words = [
      "energija", "vėjas", "saulė", "tinklas", "rūmai", "narys", "forumas", "Vilnius", "Kaunas",
      "eksportas", "investicijos", "sutartis", "paroda", "konferencija", "mokesčiai", "darbas",
    ]
    let body = String(
      repeating: "<p>Ilgas straipsnio tekstas apie prekybą ir pramonę.</p>", count: 40)
    let commitLog = CommitLog(fd: fd)
    let sourceCount = sources
    let perResult = entries
    /// One crawl result: `perResult` new entries and the validator `"<run>-<n>"`, together.
    @Sendable func result(_ n: Int) -> (FetchOutcome, Feed) {
      var rng = SystemRandomNumberGenerator()
      let sourceID = "src\(n % sourceCount)"
      let now = Date()
      var list: [Entry] = []
      for k in 0..<perResult {
        let title = (0..<8).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
        list.append(
          Entry(
            id: "txn-\(run)-\(n)-\(k)", title: "\(title) \(n)-\(k)",
            link: "https://\(sourceID).example/\(run)/\(n)/\(k)",
            published: now.addingTimeInterval(-Double(k)),
            summary: .text("\(title) santrauka \(UInt64.random(in: 0...UInt64.max, using: &rng))"),
            content: .html(body)))
      }
      return (
        FetchOutcome(
          sourceID: sourceID, result: .fetched, attemptedAt: now, httpStatus: 200,
          etag: "\"\(run)-\(n)\"", nextDue: now.addingTimeInterval(600)),
        Feed(title: "Source \(sourceID)", entries: list)
      )
    }
    let width = max(1, min(inFlight, sources))
    var n = 0
    while n < transactions {
      let round = n..<min(n + width, transactions)
      try await withThrowingTaskGroup(of: Void.self) { group in
        for i in round {
          group.addTask {
            let (outcome, feed) = result(i)
            try await store.record(outcome, feed: feed)
            try commitLog.committed("\(run)-\(i)")
          }
        }
        try await group.waitForAll()
      }
      n = round.upperBound
    }
    close(fd)
    let stats = store.core.commitStats
    print("group commit: \(stats.transactions) transactions, \(stats.results) results")
    try await store.close()
  }
}

/// The fsync'd log of committed results, shared by the concurrent records of a round.
private final class CommitLog: @unchecked Sendable {
  private let fd: Int32
  private let lock = NSLock()
  init(fd: Int32) { self.fd = fd }

  func committed(_ token: String) throws {
    let line = Array("committed \(token)\n".utf8)
    try lock.withLock {
      let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      guard written == line.count, fsync(fd) == 0 else { throw ValidationError("log write failed") }
    }
  }
}
