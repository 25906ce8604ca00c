import Config
import Foundation
import TestSupport
import XCTest

/// `[store] commit_batch` and `commit_delay` (group commit, issue 17): read, bounded, reported
/// with their line, spelled-out suggestions, and shown by check-config.
final class GroupCommitConfigTests: XCTestCase {
  private var dir: URL!

  override func setUpWithError() throws {
    dir = try TestSupport.makeTempDirectory("config-commit")
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: dir)
  }

  private func load(_ main: String) throws -> Settings {
    let url = dir.appendingPathComponent("main.toml")
    try main.write(to: url, atomically: true, encoding: .utf8)
    return try ConfigLoader.load(path: url.path)
  }

  private func single(_ main: String) throws -> ConfigIssue? {
    do {
      _ = try load(main)
      XCTFail("expected the config to be rejected")
      return nil
    } catch let error as ConfigError {
      XCTAssertEqual(error.issues.count, 1, "\(error.issues)")
      return error.issues.first
    }
  }

  func testDefaultIsOneTransactionPerResult() throws {
    let settings = try load("[store]\nmax_entries = 10\n")
    XCTAssertEqual(settings.store.commitBatch, 1)
    XCTAssertEqual(settings.store.commitDelay, 0)
    XCTAssertTrue(
      settings.summary().contains(
        "commits:     one write transaction per crawl result (group commit off)"),
      settings.summary())
    let batched = try load("[store]\ncommit_batch = 8\n")
    XCTAssertTrue(
      batched.summary().contains(
        "commits:     up to 8 crawl results per write transaction, never waiting for more"),
      batched.summary())
  }

  func testKeysAreReadWithDurationUnits() throws {
    let settings = try load(
      """
      [store]
      commit_batch = 32
      commit_delay = "10ms"
      """)
    XCTAssertEqual(settings.store.commitBatch, 32)
    XCTAssertEqual(settings.store.commitDelay, 0.010, accuracy: 1e-9)
    XCTAssertTrue(
      settings.summary().contains(
        "up to 32 crawl results per write transaction, waiting at most 10ms"),
      settings.summary())
  }

  func testBadValuesAreReportedOnTheirLine() throws {
    var issue = try single("[store]\nmax_entries = 10\ncommit_batch = 0\n")
    XCTAssertEqual(issue?.line, 3)
    XCTAssertEqual(issue?.key, "store.commit_batch")
    XCTAssertTrue(
      issue?.message.contains("must be at least 1") ?? false, "\(String(describing: issue))")

    issue = try single("[store]\ncommit_delay = \"5s\"\n")
    XCTAssertEqual(issue?.line, 2)
    XCTAssertEqual(issue?.key, "store.commit_delay")
    XCTAssertTrue(issue?.message.contains("at most 1s") ?? false, "\(String(describing: issue))")

    issue = try single("[store]\ncommit_delay = \"soon\"\n")
    XCTAssertEqual(issue?.key, "store.commit_delay")
    XCTAssertTrue(
      issue?.message.contains("invalid duration") ?? false, "\(String(describing: issue))")

    issue = try single("[store]\ncomit_batch = 4\n")
    XCTAssertEqual(issue?.line, 2)
    XCTAssertTrue(
      issue?.message.contains("did you mean \"commit_batch\"?") ?? false,
      "\(String(describing: issue))")
  }
}
