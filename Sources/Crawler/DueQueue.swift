import FeedModel
import Foundation
import HeapModule

/// The single-node scheduler's order of work: which source is due next, without looking at every
/// source on every event. `run()` used to scan and sort all sources each time a fetch finished
/// (O(n log n) copies of `SourceDefinition` per event), which at 50 000 sources took most of a
/// core and held the SQLite node to 12 fetches/s.
///
/// A min-heap of `(due, rank, id)` items, kept lazily: a source's schedule (`Scheduled`) stays
/// the truth, an item is pushed whenever a due time is set, and an item that no longer matches
/// its source (rescheduled, removed, gone, already running) is dropped when it reaches the top.
/// A due source whose host is at its `per_host` limit is *parked* under that host and moved back
/// one at a time as that host's fetches finish, so a host with thousands of due sources costs
/// nothing per event while it is full.
struct DueQueue: Sendable {
  struct Item: Comparable, Sendable {
    var due: Date
    /// Position in the configured order: ties break deterministically.
    var rank: Int
    var id: String

    static func < (a: Item, b: Item) -> Bool {
      a.due != b.due ? a.due < b.due : a.rank < b.rank
    }
  }

  private var heap = Heap<Item>()
  private var parked: [String: Heap<Item>] = [:]

  /// Items held, stale ones included (for compaction and tests).
  var count: Int { heap.count + parked.values.reduce(0) { $0 + $1.count } }

  mutating func push(_ item: Item) { heap.insert(item) }

  /// Replaces everything with one item per schedulable source (O(n) heapify).
  mutating func rebuild(from sources: [String: Crawler.Scheduled]) {
    heap = Heap(
      sources.compactMap { id, entry in
        entry.gone ? nil : Item(due: entry.due, rank: entry.rank, id: id)
      })
    parked = [:]
  }

  /// Takes up to `slots` due sources in due order, skipping those `running` and parking those
  /// whose host already has `perHostLimit` fetches (counting the ones taken here). Returns them
  /// with their host key, and the earliest future due time when nothing more is due (nil when
  /// the slots ran out first or nothing is scheduled).
  mutating func take(
    now: Date, slots: Int, sources: [String: Crawler.Scheduled], running: [String: Date],
    perHost: [String: Int], perHostLimit: Int
  ) -> (start: [(SourceDefinition, String?)], earliest: Date?) {
    var start: [(SourceDefinition, String?)] = []
    var hostCounts = perHost
    while let top = heap.min {
      guard let entry = Self.current(top, in: sources), running[top.id] == nil else {
        heap.removeMin()
        continue
      }
      if top.due > now { return (start, top.due) }
      if start.count >= slots { return (start, nil) }
      heap.removeMin()
      let host = Crawler.hostKey(entry.definition.url)
      if let host {
        if hostCounts[host, default: 0] >= perHostLimit {
          parked[host, default: Heap()].insert(top)
          continue
        }
        hostCounts[host, default: 0] += 1
      }
      start.append((entry.definition, host))
    }
    return (start, nil)
  }

  /// One fetch on `host` finished: its earliest still-valid parked source goes back in line.
  mutating func hostFreed(_ host: String?, sources: [String: Crawler.Scheduled]) {
    guard let host, var waiting = parked.removeValue(forKey: host) else { return }
    while let item = waiting.popMin() {
      if Self.current(item, in: sources) != nil {
        heap.insert(item)
        break
      }
    }
    if !waiting.isEmpty { parked[host] = waiting }
  }

  /// The source `item` stands for, if the item still matches its schedule (not rescheduled,
  /// removed or gone since it was queued).
  private static func current(_ item: Item, in sources: [String: Crawler.Scheduled])
    -> Crawler.Scheduled?
  {
    guard let entry = sources[item.id], !entry.gone, entry.due == item.due else { return nil }
    return entry
  }

  /// Keeps the stale items bounded: rebuilds once they outnumber the sources (plus slack).
  mutating func compact(sources: [String: Crawler.Scheduled]) {
    if count > 2 * sources.count + 1024 { rebuild(from: sources) }
  }
}
