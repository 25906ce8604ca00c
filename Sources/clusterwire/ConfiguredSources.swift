import Config
import Discovery
import FeedModel
import FeedParser
import Foundation

/// The sources a config already has, so that `discover --config` and `import-opml --config`
/// neither add a member's feed a second time nor write an id that `check-config` would then
/// refuse as a duplicate of another drop-in's.
struct ConfiguredSources {
  private(set) var ids: Set<String>
  private var byURL: [String: String]

  init(_ sources: [SourceDefinition]) {
    ids = Set(sources.map(\.id))
    byURL = [:]
    for s in sources { byURL[Self.key(s.url)] = byURL[Self.key(s.url)] ?? s.id }
  }

  /// The id of the configured source that already reads `url`, if any (scheme and host compared
  /// case-insensitively, a trailing slash ignored).
  func configured(_ url: String) -> String? { byURL[Self.key(url)] }

  /// `id`, or the first `id-2`, `id-3` … not taken yet (by the config or an earlier claim).
  mutating func claim(_ id: String) -> String {
    let unique = Slug.unique(id, avoiding: ids)
    ids.insert(unique)
    return unique
  }

  static func key(_ url: String) -> String { FeedAddress.key(url) }
}
