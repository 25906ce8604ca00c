import FeedModel
import FeedStore
import Foundation

/// The database a fleet shares, in memory: one `MemoryStore` for the crawl state plus a lease
/// table and an instance table with the lease rules of `SharedFeedStore` (claimable when active,
/// not gone, due and not leased; per-host counted over every live lease; `record` releases the
/// recorder's lease). Each crawler gets its own view, `member(_:)`, with its instance id. It
/// records every claim and release so tests can tell who did what.
final class FleetBackend: @unchecked Sendable {
  struct Claim: Sendable {
    var instance: String
    var sourceID: String
    var at: Date
  }

  let store = MemoryStore()
  private let lock = NSLock()
  private var leaseTable: [String: SourceLease] = [:]
  private var instanceTable: [String: FleetInstance] = [:]
  private var _claims: [Claim] = []
  private var _releases: [(instance: String, sourceID: String)] = []
  private var listeners: [AsyncStream<Int64>.Continuation] = []
  private var _unavailable = false

  func member(_ instanceID: String) -> SharedMemoryStore {
    SharedMemoryStore(backend: self, instanceID: instanceID)
  }

  var claims: [Claim] { lock.withLock { _claims } }
  var releases: [(instance: String, sourceID: String)] { lock.withLock { _releases } }
  var leaseSnapshot: [String: SourceLease] { lock.withLock { leaseTable } }
  /// Test hook: the database is unreachable (`ping` and `claimDue` throw).
  var unavailable: Bool {
    get { lock.withLock { _unavailable } }
    set { lock.withLock { _unavailable = newValue } }
  }

  struct Unreachable: Error, CustomStringConvertible {
    var description: String { "connection refused" }
  }

  fileprivate func claimDue(
    instance: String, now: Date, limit: Int, perHost: Int, leaseTTL: TimeInterval
  ) throws -> [String] {
    try lock.withLock {
      if _unavailable { throw Unreachable() }
      let states = store.states.values.filter { $0.active }
      func leased(_ id: String) -> Bool {
        guard let lease = leaseTable[id], lease.owner != nil, let until = lease.until else {
          return false
        }
        return until > now
      }
      var held: [String: Int] = [:]
      for state in states where leased(state.id) {
        if let host = SourceDefinition.hostKey(state.url) { held[host, default: 0] += 1 }
      }
      let candidates = states.filter { state in
        !state.gone && (state.nextDue.map { $0 <= now } ?? true) && !leased(state.id)
      }.sorted { a, b in
        let da = a.nextDue ?? .distantPast
        let db = b.nextDue ?? .distantPast
        return da != db ? da < db : a.id < b.id
      }
      var out: [String] = []
      for state in candidates where out.count < limit {
        let host = SourceDefinition.hostKey(state.url)
        if let host, held[host, default: 0] >= perHost { continue }
        if let host { held[host, default: 0] += 1 }
        leaseTable[state.id] = SourceLease(
          owner: instance, until: now.addingTimeInterval(leaseTTL), lastHolder: instance)
        _claims.append(Claim(instance: instance, sourceID: state.id, at: now))
        out.append(state.id)
      }
      return out
    }
  }

  /// `explicit`: a `release` call (counted in `releases`), not the release of a `record`.
  fileprivate func release(instance: String, _ ids: [String], explicit: Bool) {
    lock.withLock {
      for id in ids where leaseTable[id]?.owner == instance {
        leaseTable[id]?.owner = nil
        leaseTable[id]?.until = nil
        if explicit { _releases.append((instance, id)) }
      }
    }
  }

  fileprivate func heartbeat(
    instance: String, configHash: String, now: Date, expireAfter: TimeInterval
  ) {
    lock.withLock {
      let started = instanceTable[instance]?.startedAt ?? now
      instanceTable[instance] = FleetInstance(
        id: instance, hostname: "localhost", pid: 1, startedAt: started, heartbeat: now,
        configHash: configHash, version: "test")
      instanceTable = instanceTable.filter {
        now.timeIntervalSince($0.value.heartbeat) <= expireAfter
      }
    }
  }

  fileprivate var instances: [FleetInstance] {
    lock.withLock { instanceTable.values.sorted { $0.heartbeat > $1.heartbeat } }
  }

  fileprivate func leases(now: Date) -> [String: SourceLease] {
    lock.withLock {
      leaseTable.mapValues { lease in
        var l = lease
        if let until = l.until, until <= now {
          l.owner = nil
          l.until = nil
        }
        return l
      }
    }
  }

  fileprivate func announce(_ token: Int64) {
    for listener in lock.withLock({ listeners }) { listener.yield(token) }
  }

  fileprivate func listen() -> AsyncStream<Int64> {
    let (stream, continuation) = AsyncStream<Int64>.makeStream()
    lock.withLock { listeners.append(continuation) }
    return stream
  }

  fileprivate func ping() throws {
    if unavailable { throw Unreachable() }
  }
}

/// One instance's view of a `FleetBackend`: the `SharedFeedStore` a crawler of the fleet gets.
final class SharedMemoryStore: SharedFeedStore, @unchecked Sendable {
  let backend: FleetBackend
  let instanceID: String
  private var inner: MemoryStore { backend.store }

  init(backend: FleetBackend, instanceID: String) {
    self.backend = backend
    self.instanceID = instanceID
  }

  func claimDue(now: Date, limit: Int, perHost: Int, leaseTTL: TimeInterval) async throws
    -> [String]
  {
    try backend.claimDue(
      instance: instanceID, now: now, limit: limit, perHost: perHost, leaseTTL: leaseTTL)
  }

  func release(sourceIDs: [String]) async throws {
    try backend.ping()
    backend.release(instance: instanceID, sourceIDs, explicit: true)
  }

  func heartbeat(configHash: String, now: Date, expireAfter: TimeInterval) async throws {
    try backend.ping()
    backend.heartbeat(
      instance: instanceID, configHash: configHash, now: now, expireAfter: expireAfter)
  }

  func instances() async throws -> [FleetInstance] { backend.instances }
  func leases() async throws -> [String: SourceLease] { backend.leases(now: Date()) }
  func changeNotifications() -> AsyncStream<Int64> { backend.listen() }
  func ping() async throws { try backend.ping() }

  func syncSources(_ definitions: [SourceDefinition]) async throws {
    try await inner.syncSources(definitions)
  }
  func sourceState(id: String) async throws -> SourceState? { try await inner.sourceState(id: id) }
  func sourceStates() async throws -> [SourceState] { try await inner.sourceStates() }

  /// Commits and releases this instance's lease of the source, as the real store does in one
  /// transaction (here: the state first, so the source is never claimable-and-due in between).
  @discardableResult
  func record(_ outcome: FetchOutcome, feed: Feed?) async throws -> IngestReport {
    let before = try await inner.changeToken()
    let report = try await inner.record(outcome, feed: feed)
    backend.release(instance: instanceID, [outcome.sourceID], explicit: false)
    let after = try await inner.changeToken()
    if after != before { backend.announce(after) }
    return report
  }

  func timeline(_ query: TimelineQuery) async throws -> TimelinePage {
    try await inner.timeline(query)
  }
  func archives(_ query: TimelineQuery, pageSize: Int) async throws -> ArchiveLayout {
    try await inner.archives(query, pageSize: pageSize)
  }
  func counts() async throws -> StoreCounts { try await inner.counts() }
  func facets() async throws -> StoreFacets { try await inner.facets() }
  func changeToken() async throws -> Int64 { try await inner.changeToken() }
  func sweep(at: Date) async throws -> RetentionSweep { try await inner.sweep(at: at) }
  func close() async throws {}
}
