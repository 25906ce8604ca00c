import Foundation

// WebSub's state in the store (issue 15): the hub's subscribers to our documents and our own
// subscriptions at the hubs of our sources. The rules are written once, in `StoreCore` over
// `StoreConnection`, and run unchanged on SQLite and PostgreSQL (tables
// `websub_hub_subscription` and `websub_push_subscription`, lower-case snake_case columns so that
// PostgreSQL's folding of names changes nothing). Dates are REAL / `double precision` seconds
// since 1970. Neither table refers to `source`: removing a source leaves its push subscription
// (the daemon unsubscribes first, then removes the row).

/// One subscriber's verified subscription to one of our topics (the hub side).
public struct HubSubscription: Sendable, Hashable {
  /// Absolute URL of our document.
  public var topic: String
  /// The subscriber's callback URL.
  public var callback: String
  /// Lowercased host of `callback`, for the per-host bound (the store lower-cases it).
  public var callbackHost: String
  public var secret: String?
  public var leaseSeconds: Int
  public var expires: Date
  public var created: Date
  /// Consecutive failed deliveries (each after all its retries).
  public var failures: Int
  public var failingSince: Date?
  /// ETag of the last version claimed for delivery.
  public var deliveredETag: String?
  /// The last successful delivery.
  public var lastDelivery: Date?

  public init(
    topic: String, callback: String, callbackHost: String, secret: String?, leaseSeconds: Int,
    expires: Date, created: Date = Date(), failures: Int = 0, failingSince: Date? = nil,
    deliveredETag: String? = nil, lastDelivery: Date? = nil
  ) {
    self.topic = topic
    self.callback = callback
    self.callbackHost = callbackHost
    self.secret = secret
    self.leaseSeconds = leaseSeconds
    self.expires = expires
    self.created = created
    self.failures = failures
    self.failingSince = failingSince
    self.deliveredETag = deliveredETag
    self.lastDelivery = lastDelivery
  }
}

/// Our subscription at a source's hub (the subscriber side), one per source.
public struct PushSubscription: Sendable, Hashable {
  /// Where the subscription stands with the hub.
  public enum State: String, Sendable {
    case pending, verified, failing, unsubscribing
  }

  public var sourceID: String
  public var hub: String
  public var topic: String
  /// Random path token in our callback URL.
  public var token: String
  public var secret: String
  public var state: State
  /// When the (re)subscribe request was sent.
  public var requested: Date
  public var leaseSeconds: Int?
  /// Verified until.
  public var expires: Date?
  public var failingSince: Date?
  public var lastError: String?
  /// The last content POST accepted.
  public var lastPush: Date?

  public init(
    sourceID: String, hub: String, topic: String, token: String, secret: String,
    state: State = .pending, requested: Date, leaseSeconds: Int? = nil, expires: Date? = nil,
    failingSince: Date? = nil, lastError: String? = nil, lastPush: Date? = nil
  ) {
    self.sourceID = sourceID
    self.hub = hub
    self.topic = topic
    self.token = token
    self.secret = secret
    self.state = state
    self.requested = requested
    self.leaseSeconds = leaseSeconds
    self.expires = expires
    self.failingSince = failingSince
    self.lastError = lastError
    self.lastPush = lastPush
  }
}

/// What the WebSub hub and subscriber ask of the store. Both stores conform.
///
/// A hub subscription is live while `expires > now`; an expired one is invisible to every read
/// and claim, counts as absent for a re-subscribe, and is deleted by `expireHubSubscriptions`.
public protocol WebSubStore: Sendable {
  /// Inserts or replaces the (topic, callback) subscription. A re-subscribe renews its lease
  /// and secret and resets `failures`/`failingSince`; `created`, `deliveredETag` and
  /// `lastDelivery` are kept when a live subscription already existed (an expired one is
  /// replaced as a whole, `s.created` being the time of this subscribe).
  func saveHubSubscription(_ s: HubSubscription) async throws
  /// Deletes it; true when it existed.
  func removeHubSubscription(topic: String, callback: String) async throws -> Bool
  /// Subscriptions whose lease has not expired at `now`, for `topic` (nil: all), ordered by
  /// topic, callback.
  func hubSubscriptions(topic: String?, now: Date) async throws -> [HubSubscription]
  /// Unexpired subscriptions whose callback host is `host`, and in total (for the bounds).
  func hubSubscriptionCounts(callbackHost: String, now: Date) async throws
    -> (host: Int, total: Int)
  /// Claims the delivery of version `etag` of `topic` to `callback`: true (and records `etag`)
  /// only when the stored `deliveredETag` differs (NULL counts as different) and the
  /// subscription exists and is unexpired. An atomic compare-and-set in one UPDATE statement,
  /// so of several instances sharing a PostgreSQL store exactly one wins each version.
  func claimHubDelivery(topic: String, callback: String, etag: String, now: Date) async throws
    -> Bool
  /// After the retries of one delivery: success clears `failures`/`failingSince` and sets
  /// `lastDelivery`; failure increments `failures` and sets `failingSince` if nil.
  func recordHubDelivery(topic: String, callback: String, success: Bool, at: Date) async throws
  /// Deletes subscriptions expired at `now`; returns how many.
  func expireHubSubscriptions(now: Date) async throws -> Int
  /// Inserts or replaces the source's subscription (every field).
  func savePushSubscription(_ p: PushSubscription) async throws
  func pushSubscription(sourceID: String) async throws -> PushSubscription?
  /// Every push subscription, ordered by source id.
  func pushSubscriptions() async throws -> [PushSubscription]
  func removePushSubscription(sourceID: String) async throws
  /// Makes the source due at `at` unless it is due sooner already: its push subscription
  /// stopped (lapsed, denied, the hub failed), so normal polling resumes at once, fleet-wide.
  func resumePolling(sourceID: String, at: Date) async throws
}

// MARK: - the rules, once

extension StoreCore {
  static var hubColumns: String {
    """
    topic, callback, callback_host, secret, lease_seconds, expires, created, failures,
    failing_since, delivered_etag, last_delivery
    """
  }

  static var pushColumns: String {
    """
    source_id, hub, topic, token, secret, state, requested, lease_seconds, expires,
    failing_since, last_error, last_push
    """
  }

  /// One upsert. On a conflict with a live row (`expires` after this subscribe's `created`),
  /// the row's `created`, `delivered_etag` and `last_delivery` stay; with an expired row they
  /// are the new subscription's. The failure state is the given one on insert, reset on renewal.
  package func saveHubSubscription(_ s: HubSubscription) async throws {
    let arguments: [SQLValue] = [
      .text(s.topic), .text(s.callback), .text(s.callbackHost.lowercased()), SQLValue(s.secret),
      SQLValue(s.leaseSeconds), .real(s.expires.timeIntervalSince1970),
      .real(s.created.timeIntervalSince1970), SQLValue(s.failures),
      SQLValue(s.failingSince?.timeIntervalSince1970), SQLValue(s.deliveredETag),
      SQLValue(s.lastDelivery?.timeIntervalSince1970),
    ]
    try await engine.write { db in
      try db.run(
        """
        INSERT INTO websub_hub_subscription (\(Self.hubColumns))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (topic, callback) DO UPDATE SET
          callback_host = excluded.callback_host,
          secret = excluded.secret,
          lease_seconds = excluded.lease_seconds,
          expires = excluded.expires,
          failures = 0,
          failing_since = NULL,
          created = CASE WHEN websub_hub_subscription.expires > excluded.created
            THEN websub_hub_subscription.created ELSE excluded.created END,
          delivered_etag = CASE WHEN websub_hub_subscription.expires > excluded.created
            THEN websub_hub_subscription.delivered_etag ELSE excluded.delivered_etag END,
          last_delivery = CASE WHEN websub_hub_subscription.expires > excluded.created
            THEN websub_hub_subscription.last_delivery ELSE excluded.last_delivery END
        """, arguments)
    }
  }

  package func removeHubSubscription(topic: String, callback: String) async throws -> Bool {
    try await engine.write { db in
      try db.execute(
        "DELETE FROM websub_hub_subscription WHERE topic = ? AND callback = ?",
        [.text(topic), .text(callback)]) > 0
    }
  }

  package func hubSubscriptions(topic: String?, now: Date) async throws -> [HubSubscription] {
    let select = "SELECT \(Self.hubColumns) FROM websub_hub_subscription WHERE expires > ?"
    let order = " ORDER BY topic, callback"
    let (sql, arguments): (String, [SQLValue]) =
      if let topic {
        (select + " AND topic = ?" + order, [.real(now.timeIntervalSince1970), .text(topic)])
      } else {
        (select + order, [.real(now.timeIntervalSince1970)])
      }
    return try await engine.read { db in
      try db.fetchAll(sql, arguments).map(Self.hubSubscription(from:))
    }
  }

  /// One pass over the live rows (by the `expires` index).
  package func hubSubscriptionCounts(callbackHost: String, now: Date) async throws
    -> (host: Int, total: Int)
  {
    let arguments: [SQLValue] = [
      .text(callbackHost.lowercased()), .real(now.timeIntervalSince1970),
    ]
    return try await engine.read { db in
      let row = try db.fetchOne(
        """
        SELECT COUNT(CASE WHEN callback_host = ? THEN 1 END) AS host, COUNT(*) AS total
        FROM websub_hub_subscription WHERE expires > ?
        """, arguments)
      return (host: row?.int("host") ?? 0, total: row?.int("total") ?? 0)
    }
  }

  /// The compare-and-set is the one UPDATE: on PostgreSQL (`READ COMMITTED`) a concurrent
  /// claim of the same row waits for the winner's commit and then re-checks the WHERE against
  /// the new `delivered_etag`, so it changes nothing; on SQLite writes are serialised anyway.
  package func claimHubDelivery(topic: String, callback: String, etag: String, now: Date)
    async throws -> Bool
  {
    let arguments: [SQLValue] = [
      .text(etag), .text(topic), .text(callback), .real(now.timeIntervalSince1970), .text(etag),
    ]
    return try await engine.write { db in
      try db.execute(
        """
        UPDATE websub_hub_subscription SET delivered_etag = ?
        WHERE topic = ? AND callback = ? AND expires > ?
          AND (delivered_etag IS NULL OR delivered_etag <> ?)
        """, arguments) == 1
    }
  }

  package func recordHubDelivery(topic: String, callback: String, success: Bool, at: Date)
    async throws
  {
    let arguments: [SQLValue] = [.real(at.timeIntervalSince1970), .text(topic), .text(callback)]
    let sql =
      success
      ? """
      UPDATE websub_hub_subscription SET failures = 0, failing_since = NULL, last_delivery = ?
      WHERE topic = ? AND callback = ?
      """
      : """
      UPDATE websub_hub_subscription
      SET failures = failures + 1, failing_since = COALESCE(failing_since, ?)
      WHERE topic = ? AND callback = ?
      """
    try await engine.write { db in try db.run(sql, arguments) }
  }

  package func expireHubSubscriptions(now: Date) async throws -> Int {
    try await engine.write { db in
      try db.execute(
        "DELETE FROM websub_hub_subscription WHERE expires <= ?",
        [.real(now.timeIntervalSince1970)])
    }
  }

  package func savePushSubscription(_ p: PushSubscription) async throws {
    let arguments: [SQLValue] = [
      .text(p.sourceID), .text(p.hub), .text(p.topic), .text(p.token), .text(p.secret),
      .text(p.state.rawValue), .real(p.requested.timeIntervalSince1970),
      SQLValue(p.leaseSeconds), SQLValue(p.expires?.timeIntervalSince1970),
      SQLValue(p.failingSince?.timeIntervalSince1970), SQLValue(p.lastError),
      SQLValue(p.lastPush?.timeIntervalSince1970),
    ]
    try await engine.write { db in
      try db.run(
        """
        INSERT INTO websub_push_subscription (\(Self.pushColumns))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (source_id) DO UPDATE SET
          hub = excluded.hub, topic = excluded.topic, token = excluded.token,
          secret = excluded.secret, state = excluded.state, requested = excluded.requested,
          lease_seconds = excluded.lease_seconds, expires = excluded.expires,
          failing_since = excluded.failing_since, last_error = excluded.last_error,
          last_push = excluded.last_push
        """, arguments)
    }
  }

  package func pushSubscription(sourceID: String) async throws -> PushSubscription? {
    try await engine.read { db in
      try db.fetchOne(
        "SELECT \(Self.pushColumns) FROM websub_push_subscription WHERE source_id = ?",
        [.text(sourceID)]
      ).map(Self.pushSubscription(from:))
    }
  }

  package func pushSubscriptions() async throws -> [PushSubscription] {
    try await engine.read { db in
      try db.fetchAll(
        "SELECT \(Self.pushColumns) FROM websub_push_subscription ORDER BY source_id"
      ).map(Self.pushSubscription(from:))
    }
  }

  package func removePushSubscription(sourceID: String) async throws {
    try await engine.write { db in
      try db.run(
        "DELETE FROM websub_push_subscription WHERE source_id = ?", [.text(sourceID)])
    }
  }

  package func resumePolling(sourceID: String, at: Date) async throws {
    try await engine.write { db in
      try db.run(
        "UPDATE source SET nextDue = ? WHERE id = ? AND gone = 0 AND (nextDue IS NULL OR nextDue > ?)",
        [.real(at.timeIntervalSince1970), .text(sourceID), .real(at.timeIntervalSince1970)])
    }
  }

  static func hubSubscription(from row: SQLRow) -> HubSubscription {
    HubSubscription(
      topic: row.string("topic"), callback: row.string("callback"),
      callbackHost: row.string("callback_host"), secret: row.optionalString("secret"),
      leaseSeconds: row.int("lease_seconds"),
      expires: Date(timeIntervalSince1970: row.double("expires")),
      created: Date(timeIntervalSince1970: row.double("created")),
      failures: row.int("failures"),
      failingSince: Timeline.date(row.optionalDouble("failing_since")),
      deliveredETag: row.optionalString("delivered_etag"),
      lastDelivery: Timeline.date(row.optionalDouble("last_delivery")))
  }

  /// A stored push subscription; an unknown `state` means the row was not written by us.
  static func pushSubscription(from row: SQLRow) throws -> PushSubscription {
    let id = row.string("source_id")
    let stateName = row.string("state")
    guard let state = PushSubscription.State(rawValue: stateName) else {
      throw FeedStoreError.corrupt("push subscription of \(id) has unknown state '\(stateName)'")
    }
    return PushSubscription(
      sourceID: id, hub: row.string("hub"), topic: row.string("topic"),
      token: row.string("token"), secret: row.string("secret"), state: state,
      requested: Date(timeIntervalSince1970: row.double("requested")),
      leaseSeconds: row.optionalInt("lease_seconds"),
      expires: Timeline.date(row.optionalDouble("expires")),
      failingSince: Timeline.date(row.optionalDouble("failing_since")),
      lastError: row.optionalString("last_error"),
      lastPush: Timeline.date(row.optionalDouble("last_push")))
  }
}

// MARK: - SQLite

extension SQLiteFeedStore: WebSubStore {
  public func saveHubSubscription(_ s: HubSubscription) async throws {
    try await core.saveHubSubscription(s)
  }

  public func removeHubSubscription(topic: String, callback: String) async throws -> Bool {
    try await core.removeHubSubscription(topic: topic, callback: callback)
  }

  public func hubSubscriptions(topic: String?, now: Date) async throws -> [HubSubscription] {
    try await core.hubSubscriptions(topic: topic, now: now)
  }

  public func hubSubscriptionCounts(callbackHost: String, now: Date) async throws
    -> (host: Int, total: Int)
  {
    try await core.hubSubscriptionCounts(callbackHost: callbackHost, now: now)
  }

  public func claimHubDelivery(topic: String, callback: String, etag: String, now: Date)
    async throws -> Bool
  {
    try await core.claimHubDelivery(topic: topic, callback: callback, etag: etag, now: now)
  }

  public func recordHubDelivery(topic: String, callback: String, success: Bool, at: Date)
    async throws
  {
    try await core.recordHubDelivery(topic: topic, callback: callback, success: success, at: at)
  }

  public func expireHubSubscriptions(now: Date) async throws -> Int {
    try await core.expireHubSubscriptions(now: now)
  }

  public func savePushSubscription(_ p: PushSubscription) async throws {
    try await core.savePushSubscription(p)
  }

  public func pushSubscription(sourceID: String) async throws -> PushSubscription? {
    try await core.pushSubscription(sourceID: sourceID)
  }

  public func pushSubscriptions() async throws -> [PushSubscription] {
    try await core.pushSubscriptions()
  }

  public func removePushSubscription(sourceID: String) async throws {
    try await core.removePushSubscription(sourceID: sourceID)
  }

  public func resumePolling(sourceID: String, at: Date) async throws {
    try await core.resumePolling(sourceID: sourceID, at: at)
  }
}
