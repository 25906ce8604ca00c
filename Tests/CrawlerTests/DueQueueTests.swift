import FeedModel
import Foundation
import XCTest

@testable import Crawler

/// The single-node scheduler's due queue: due order, lazy invalidation, per-host parking.
final class DueQueueTests: XCTestCase {
  private let t0 = Date(timeIntervalSince1970: 1_800_000_000)

  private func schedule(_ rows: [(id: String, host: String, due: TimeInterval)]) -> [String:
    Crawler.Scheduled]
  {
    var sources: [String: Crawler.Scheduled] = [:]
    for (rank, row) in rows.enumerated() {
      sources[row.id] = Crawler.Scheduled(
        definition: SourceDefinition(id: row.id, url: "https://\(row.host)/\(row.id).xml"),
        due: t0.addingTimeInterval(row.due), gone: false, rank: rank)
    }
    return sources
  }

  private func take(
    _ queue: inout DueQueue, _ sources: [String: Crawler.Scheduled], at offset: TimeInterval = 0,
    slots: Int = 100, running: [String: Date] = [:], perHost: [String: Int] = [:], limit: Int = 100
  ) -> (ids: [String], earliest: Date?) {
    let (start, earliest) = queue.take(
      now: t0.addingTimeInterval(offset), slots: slots, sources: sources, running: running,
      perHost: perHost, perHostLimit: limit)
    return (start.map(\.0.id), earliest)
  }

  func testTakesDueSourcesInDueOrderThenConfiguredOrderAndReportsTheNextDueTime() {
    let sources = schedule([
      ("c", "a.lt", -5), ("a", "b.lt", -10), ("b", "c.lt", -5), ("later", "d.lt", 30),
    ])
    var queue = DueQueue()
    queue.rebuild(from: sources)
    let (ids, earliest) = take(&queue, sources)
    // a is oldest; c and b are due at the same time, c comes first in the config.
    XCTAssertEqual(ids, ["a", "c", "b"])
    XCTAssertEqual(earliest, t0.addingTimeInterval(30))
    // Taken sources are out of the queue until a new due time is pushed.
    XCTAssertEqual(take(&queue, sources, at: 29).ids, [])
    XCTAssertEqual(take(&queue, sources, at: 30).ids, ["later"])
    XCTAssertNil(take(&queue, sources, at: 60).earliest, "nothing is scheduled any more")
  }

  func testSlotsLimitWhatIsTakenAndTheRestStaysQueued() {
    let sources = schedule((0..<5).map { ("s\($0)", "h\($0).lt", TimeInterval(-$0)) })
    var queue = DueQueue()
    queue.rebuild(from: sources)
    let first = take(&queue, sources, slots: 2)
    XCTAssertEqual(first.ids, ["s4", "s3"])
    XCTAssertNil(first.earliest, "more is due: the next completion, not a timer, wakes the loop")
    XCTAssertEqual(take(&queue, sources, slots: 0).ids, [])
    XCTAssertEqual(take(&queue, sources).ids, ["s2", "s1", "s0"])
  }

  func testRescheduledGoneRemovedAndRunningSourcesAreSkipped() {
    var sources = schedule(
      [("moved", "a.lt", -3), ("gone", "b.lt", -2), ("removed", "c.lt", -1)]
        + [("running", "d.lt", -4), ("ok", "e.lt", 0)])
    var queue = DueQueue()
    queue.rebuild(from: sources)
    // Reschedule "moved" into the future the way apply() does: new due time, new item.
    sources["moved"]?.due = t0.addingTimeInterval(100)
    queue.push(.init(due: t0.addingTimeInterval(100), rank: 0, id: "moved"))
    sources["gone"]?.gone = true
    sources["removed"] = nil
    let (ids, earliest) = take(&queue, sources, running: ["running": t0])
    XCTAssertEqual(ids, ["ok"])
    XCTAssertEqual(earliest, t0.addingTimeInterval(100), "the stale item of 'moved' is dropped")
  }

  func testAFullHostParksItsSourcesUntilOneOfItsFetchesFinishes() {
    let sources = schedule([
      ("a1", "busy.lt", -9), ("a2", "busy.lt", -8), ("a3", "busy.lt", -7), ("b1", "calm.lt", -1),
    ])
    var queue = DueQueue()
    queue.rebuild(from: sources)
    // per_host 1, busy.lt already has one fetch running.
    var result = take(&queue, sources, perHost: ["busy.lt": 1], limit: 1)
    XCTAssertEqual(result.ids, ["b1"])
    XCTAssertEqual(queue.count, 3, "the three busy.lt sources are parked, not dropped")
    // Still full: a timer tick does not bring them back.
    result = take(&queue, sources, perHost: ["busy.lt": 1], limit: 1)
    XCTAssertEqual(result.ids, [])
    // Its fetch finished: exactly the oldest parked source is back in line.
    queue.hostFreed("busy.lt", sources: sources)
    result = take(&queue, sources, perHost: [:], limit: 1)
    XCTAssertEqual(result.ids, ["a1"])
    queue.hostFreed("busy.lt", sources: sources)
    result = take(&queue, sources, perHost: [:], limit: 1)
    XCTAssertEqual(result.ids, ["a2"])
    // Within one take, the host's count includes what this take started.
    queue.rebuild(from: sources)
    XCTAssertEqual(take(&queue, sources, limit: 2).ids, ["a1", "a2", "b1"])
  }

  func testHostFreedSkipsParkedSourcesThatWereRescheduled() {
    var sources = schedule([("a1", "h.lt", -3), ("a2", "h.lt", -2), ("a3", "h.lt", -1)])
    var queue = DueQueue()
    queue.rebuild(from: sources)
    XCTAssertEqual(take(&queue, sources, limit: 1).ids, ["a1"])  // a2, a3 parked
    sources["a2"]?.gone = true
    queue.hostFreed("h.lt", sources: sources)
    XCTAssertEqual(take(&queue, sources, limit: 1).ids, ["a3"])
  }

  func testCompactionBoundsStaleItems() {
    let sources = schedule([("only", "h.lt", 0)])
    var queue = DueQueue()
    queue.rebuild(from: sources)
    for i in 0..<5000 {
      queue.push(.init(due: t0.addingTimeInterval(Double(i)), rank: 0, id: "only"))
      queue.compact(sources: sources)
    }
    XCTAssertLessThanOrEqual(queue.count, 2 * sources.count + 1025)
    XCTAssertEqual(take(&queue, sources).ids, ["only"])
  }

  /// A whole cycle at the size that exposed the old scan-and-sort: 50 000 sources on 64 hosts,
  /// concurrency 16, per_host 4. Every source is started exactly once, and each host's sources
  /// start in their due order.
  func testAFiftyThousandSourceCycleStartsEverySourceOnceInDueOrderPerHost() {
    let n = 50_000
    let sources = schedule(
      (0..<n).map { ("s\($0)", "h\($0 % 64).lt", TimeInterval(($0 * 7919) % n) / 1000) })
    var queue = DueQueue()
    queue.rebuild(from: sources)
    var running: [String: Date] = [:]
    var hostOf: [String: String] = [:]
    var perHost: [String: Int] = [:]
    var started: [String] = []
    let end = Double(n) / 1000 + 1
    while started.count < n {
      let (start, _) = queue.take(
        now: t0.addingTimeInterval(end), slots: 16 - running.count, sources: sources,
        running: running, perHost: perHost, perHostLimit: 4)
      for (definition, host) in start {
        running[definition.id] = t0
        hostOf[definition.id] = host
        perHost[host!, default: 0] += 1
        started.append(definition.id)
      }
      // Finish the oldest running fetch (its source is then not due again in this cycle).
      guard let id = running.keys.min(by: { sources[$0]!.due < sources[$1]!.due }) else { break }
      running[id] = nil
      perHost[hostOf[id]!]! -= 1
      queue.hostFreed(hostOf[id], sources: sources)
    }
    XCTAssertEqual(started.count, n)
    XCTAssertEqual(Set(started).count, n, "no source started twice")
    var lastDue: [String: Date] = [:]
    for id in started {
      let host = hostOf[id]!
      let due = sources[id]!.due
      if let last = lastDue[host] { XCTAssertLessThanOrEqual(last, due, "\(id) on \(host)") }
      lastDue[host] = due
    }
  }
}
