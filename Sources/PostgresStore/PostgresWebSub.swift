import FeedStore
import Foundation

/// WebSub's subscriptions (issue 15): `StoreCore`'s rules, as on SQLite. Shared by the fleet:
/// every instance sees every subscription, and `claimHubDelivery` lets exactly one of them
/// deliver each version of a topic to each subscriber.
extension PostgresFeedStore: WebSubStore {
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
