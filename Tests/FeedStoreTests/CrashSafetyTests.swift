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
  func testKillNineNeverLosesACommittedTransaction() async throws {
    try Backend.skipOnPostgres("kill -9 of a process writing a SQLite file")
    let binary = TestSupport.benchBinary
    XCTAssertTrue(
      FileManager.default.isExecutableFile(atPath: binary.path),
      "cwbench not built at \(binary.path) (swift build --build-tests builds it)")
    let dir = try TestSupport.makeTempDirectory("killnine")
    defer { try? FileManager.default.removeItem(at: dir) }
    let db = dir.appendingPathComponent("store.sqlite").path
    let log = dir.appendingPathComponent("committed.log").path
    let sources = 4
    let perTransaction = 20
    var rounds = 0
    var killedMidRun = 0
    for round in 0..<18 {
      let process = Process()
      process.executableURL = binary
      process.arguments = [
        "store-child", "--db", db, "--log", log, "--sources", "\(sources)", "--entries",
        "\(perTransaction)",
      ]
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
      if round == 0 {
        // Let the first run get going so later rounds have something to lose.
        _ = TestSupport.waitUntil(timeout: 30) {
          (try? String(contentsOfFile: log, encoding: .utf8)) != nil
        }
      }
      usleep(UInt32.random(in: 30_000...700_000))
      kill(process.processIdentifier, SIGKILL)
      process.waitUntilExit()
      if process.terminationReason == .uncaughtSignal { killedMidRun += 1 }
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
}
