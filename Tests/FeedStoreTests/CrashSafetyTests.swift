import FeedStore
import Foundation
import TestSupport
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// Kills a child process that is ingesting (SIGKILL, at random moments: during start-up,
/// migrations, transactions and between them), then reopens the database and checks it is sound
/// and holds every transaction the child had logged as committed.
final class CrashSafetyTests: XCTestCase {
  /// Starts `cwbench store-child` with `arguments`, lets it run a random 30–700 ms (the first
  /// run until it has logged something, so later rounds have something to lose), kills it with
  /// SIGKILL and waits for it; true when the kill cut it short.
  private func runAndKill(_ binary: URL, _ arguments: [String], log: String, first: Bool) throws
    -> Bool
  {
    let process = Process()
    process.executableURL = binary
    process.arguments = ["store-child"] + arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    if first {
      _ = TestSupport.waitUntil(timeout: 30) {
        (try? String(contentsOfFile: log, encoding: .utf8)) != nil
      }
    }
    usleep(UInt32.random(in: 30_000...700_000))
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    return process.terminationReason == .uncaughtSignal
  }

  /// The kill-9 child (`cwbench store-child`) and a fresh directory for its database and its
  /// log of committed results; skips on PostgreSQL (this is about a SQLite file).
  private func childFiles(_ name: String) throws -> (
    binary: URL, dir: URL, db: String, log: String
  ) {
    try Backend.skipOnPostgres("kill -9 of a process writing a SQLite file")
    let binary = TestSupport.benchBinary
    XCTAssertTrue(
      FileManager.default.isExecutableFile(atPath: binary.path),
      "cwbench not built at \(binary.path) (swift build --build-tests builds it)")
    let dir = try TestSupport.makeTempDirectory(name)
    return (
      binary, dir, dir.appendingPathComponent("store.sqlite").path,
      dir.appendingPathComponent("committed.log").path
    )
  }

  func testKillNineNeverLosesACommittedTransaction() async throws {
    let (binary, dir, db, log) = try childFiles("killnine")
    defer { try? FileManager.default.removeItem(at: dir) }
    let sources = 4
    let perTransaction = 20
    var rounds = 0
    var killedMidRun = 0
    for round in 0..<18 {
      let killed = try runAndKill(
        binary,
        ["--db", db, "--log", log, "--sources", "\(sources)", "--entries", "\(perTransaction)"],
        log: log, first: round == 0)
      if killed { killedMidRun += 1 }
      rounds += 1

      let committed = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
        .split(separator: "\n").compactMap { line -> (String, Int)? in
          let parts = line.split(separator: " ")
          guard parts.count == 2, parts[0] == "committed" else { return nil }
          let token = parts[1].split(separator: "-")
          guard token.count == 2, let n = Int(token[1]) else { return nil }
          return (String(token[0]), n)
        }
      let store = try SQLiteFeedStore(path: db)
      let integrity = try await store.integrityCheck()
      XCTAssertEqual(integrity, "ok", "round \(round)")
      var missing = 0
      for (run, n) in committed {
        let sourceID = "src\(n % sources)"
        for k in [0, perTransaction - 1] {
          if try await store.entry(sourceID: sourceID, originalID: "txn-\(run)-\(n)-\(k)") == nil {
            missing += 1
          }
        }
      }
      XCTAssertEqual(missing, 0, "round \(round): committed transactions lost")
      let counts = try await store.counts()
      XCTAssertGreaterThanOrEqual(counts.entries, committed.count * perTransaction)
      XCTAssertEqual(counts.entries % perTransaction, 0, "a transaction was half applied")
      try await store.close()
    }
    let total = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
      .count
    XCTAssertGreaterThan(total, 0, "the child never committed anything")
    XCTAssertEqual(rounds, 18)
    XCTAssertEqual(killedMidRun, 18)
  }

  /// The same kill -9, while the child records rounds of concurrent crawl results that the
  /// store group-commits (several per transaction, each in its savepoint). After every kill:
  /// the file is sound, every logged result is there, each result's entries are all there or
  /// none is, and each source's validator (its ETag) names the newest result whose entries are
  /// stored — entries and validators committed together, never one without the other.
  func testKillNineDuringGroupCommitKeepsEachResultWhole() async throws {
    let (binary, dir, db, log) = try childFiles("killnine-group")
    defer { try? FileManager.default.removeItem(at: dir) }
    let sources = 6
    let perResult = 12
    // One run to its end first, reporting what group commit did: the rounds below do write
    // several results per transaction.
    let full = Process()
    full.executableURL = binary
    full.arguments = [
      "store-child", "--db", db, "--log", log, "--sources", "\(sources)", "--entries",
      "\(perResult)", "--in-flight", "\(sources)", "--transactions", "60",
    ]
    let pipe = Pipe()
    full.standardOutput = pipe
    full.standardError = FileHandle.nullDevice
    try full.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    full.waitUntilExit()
    XCTAssertEqual(full.terminationStatus, 0, output)
    // "group commit: <transactions> transactions, <results> results"
    let numbers = output.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
    XCTAssertEqual(numbers.count, 2, output)
    if numbers.count == 2 {
      XCTAssertEqual(numbers[1], 60, output)
      XCTAssertLessThan(numbers[0], numbers[1], "no transaction carried two results: \(output)")
    }
    var killedMidRun = 0
    for round in 0..<12 {
      let killed = try runAndKill(
        binary,
        [
          "--db", db, "--log", log, "--sources", "\(sources)", "--entries", "\(perResult)",
          "--in-flight", "\(sources)",
        ], log: log, first: round == 0)
      if killed { killedMidRun += 1 }

      let committed = Set(
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
          .compactMap { line -> String? in
            let parts = line.split(separator: " ")
            return parts.count == 2 && parts[0] == "committed" ? String(parts[1]) : nil
          })
      let store = try SQLiteFeedStore(path: db)
      let integrity = try await store.integrityCheck()
      XCTAssertEqual(integrity, "ok", "round \(round)")
      var stored: [String: (count: Int, firstSeen: Date, source: String)] = [:]
      for s in 0..<sources {
        for e in try await store.entries(sourceID: "src\(s)", limit: 1_000_000) {
          // "txn-<run>-<n>-<k>": the result is "<run>-<n>".
          guard let id = e.entry.id, id.hasPrefix("txn-") else { continue }
          let result = String(
            id.dropFirst(4).split(separator: "-").prefix(2).joined(separator: "-"))
          let old = stored[result]
          stored[result] = ((old?.count ?? 0) + 1, e.firstSeen, e.sourceID)
        }
      }
      let partial = stored.filter { $0.value.count != perResult }
      XCTAssertEqual(partial.count, 0, "round \(round): results half applied: \(partial)")
      let lost = committed.subtracting(stored.keys)
      XCTAssertEqual(lost.count, 0, "round \(round): committed results lost: \(lost.sorted())")
      for s in 0..<sources {
        let sourceID = "src\(s)"
        let newest = stored.filter { $0.value.source == sourceID }
          .max { $0.value.firstSeen < $1.value.firstSeen }?.key
        let etag = try await store.sourceState(id: sourceID)?.etag
        XCTAssertEqual(
          etag, newest.map { "\"\($0)\"" }, "round \(round): \(sourceID)'s validator and entries")
      }
      try await store.close()
    }
    let total = ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n")
      .count
    XCTAssertGreaterThan(total, 0, "the child never committed anything")
    XCTAssertEqual(killedMidRun, 12)
  }
}
