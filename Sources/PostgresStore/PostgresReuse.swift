import FeedModel
import FeedStore

extension PostgresFeedStore {
  public func reusableHTML(sourceID: String) async throws -> [SanitizerKey: String] {
    try await core.reusableHTML(sourceID: sourceID)
  }

  public func rewriteEntries(_ transform: @escaping @Sendable (Entry) -> Entry?) async throws -> (
    seen: Int, rewritten: Int
  ) {
    try await core.rewriteEntries(transform)
  }
}
