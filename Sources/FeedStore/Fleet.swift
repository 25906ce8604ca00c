import Foundation

/// A store that several clusterwire instances share (PostgreSQL, issue 14). The crawler asks it
/// which due sources this instance may fetch (a lease each, so the fleet fetches every source
/// once per interval), the daemon keeps a heartbeat in it and re-renders when it announces a
/// change; `status` reads the fleet from it. The SQLite store is not shared and does not conform.
///
/// Lease rules (written once, in the PostgreSQL store's SQL): a source is claimable when it is
/// active, not gone, due (`nextDue` unset or past) and not leased by anyone (`leaseUntil` unset
/// or past). A claim sets `leaseOwner = instanceID`, `leaseUntil = now + leaseTTL` and
/// `lastHolder`. `record` of that source releases the lease in the same transaction that writes
/// the result (and its `nextDue`), so a fetch committed is never repeated within its interval; an
/// instance that dies loses its leases when they expire. Claims are serialised fleet-wide (one
/// advisory lock), which is what makes `perHost` hold across the fleet.
public protocol SharedFeedStore: FeedStore {
  /// This instance's id in the fleet (host name, pid and a random suffix by default).
  var instanceID: String { get }

  /// Claims up to `limit` due sources for this instance, never more than `perHost` leased at
  /// once per host across the fleet (hosts as `SourceDefinition.hostKey`), oldest due first.
  /// Returns the claimed source ids.
  func claimDue(now: Date, limit: Int, perHost: Int, leaseTTL: TimeInterval) async throws
    -> [String]

  /// Gives a lease back without recording a result (the source is unknown to this instance's
  /// config, or the fetch was cancelled before it committed).
  func release(sourceIDs: [String]) async throws

  /// Records that this instance is alive, with the hash of the config it runs; removes
  /// instances whose heartbeat is older than `expireAfter`.
  func heartbeat(configHash: String, now: Date, expireAfter: TimeInterval) async throws

  /// The live instances, newest heartbeat first.
  func instances() async throws -> [FleetInstance]

  /// Per source id: who holds its lease now (if anyone) and who last held it.
  func leases() async throws -> [String: SourceLease]

  /// Change tokens announced by any instance (`LISTEN`/`NOTIFY`), including this one's own
  /// commits. The stream ends when the store closes; a lost connection is re-established and
  /// announces the then-current token.
  func changeNotifications() -> AsyncStream<Int64>

  /// Throws when the database cannot be reached now (for `/readyz`).
  func ping() async throws
}

/// One live instance of the fleet.
public struct FleetInstance: Sendable, Hashable {
  public var id: String
  public var hostname: String
  public var pid: Int
  public var startedAt: Date
  public var heartbeat: Date
  public var configHash: String
  public var version: String
  public init(
    id: String, hostname: String, pid: Int, startedAt: Date, heartbeat: Date, configHash: String,
    version: String
  ) {
    self.id = id
    self.hostname = hostname
    self.pid = pid
    self.startedAt = startedAt
    self.heartbeat = heartbeat
    self.configHash = configHash
    self.version = version
  }
}

/// Who fetches a source, in a fleet.
public struct SourceLease: Sendable, Hashable {
  /// The instance holding the lease now (nil when none does or it expired).
  public var owner: String?
  public var until: Date?
  /// The instance that last claimed it.
  public var lastHolder: String?
  public init(owner: String? = nil, until: Date? = nil, lastHolder: String? = nil) {
    self.owner = owner
    self.until = until
    self.lastHolder = lastHolder
  }
}
