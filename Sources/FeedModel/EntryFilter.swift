import Foundation
import WebText

/// `[source.filter]`: a member's feed that mixes news with job ads or event spam keeps only what
/// the network wants published. Patterns are ICU regular expressions (NSRegularExpression is
/// ICU's), matched case-insensitively against the title, the summary text and each category;
/// `block` wins over `keep`, and an empty `keep` keeps everything not blocked. The one rule used
/// at ingest, on reload (re-filtering stored entries) and by `try-source`.
public struct EntryFilter: Sendable, Hashable, Codable {
  public var block: [String]
  public var keep: [String]

  public init(block: [String] = [], keep: [String] = []) {
    self.block = block
    self.keep = keep
  }

  public var isEmpty: Bool { block.isEmpty && keep.isEmpty }

  /// Nil when `pattern` compiles, else ICU's complaint (for the config's line-numbered error).
  public static func patternError(_ pattern: String) -> String? {
    if pattern.isEmpty { return "empty regular expression" }
    do {
      _ = try NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
      return nil
    } catch {
      return "invalid regular expression \"\(pattern)\""
    }
  }

  /// The filter with its patterns compiled once; nil when a pattern does not compile (the config
  /// loader has refused those already).
  public func compiled() -> CompiledEntryFilter? {
    func compile(_ patterns: [String]) -> [(String, NSRegularExpression)]? {
      var out: [(String, NSRegularExpression)] = []
      for p in patterns {
        guard let r = try? NSRegularExpression(pattern: p, options: [.caseInsensitive]) else {
          return nil
        }
        out.append((p, r))
      }
      return out
    }
    guard let b = compile(block), let k = compile(keep) else { return nil }
    return CompiledEntryFilter(block: b, keep: k)
  }
}

/// Why an entry is not published: the first `block` pattern that matched (and where), or no
/// `keep` pattern matching.
public enum FilterVerdict: Sendable, Hashable, CustomStringConvertible {
  case blocked(pattern: String, field: String)
  case notKept

  public var description: String {
    switch self {
    case .blocked(let pattern, let field): "blocked by /\(pattern)/ (\(field))"
    case .notKept: "matches no keep pattern"
    }
  }
}

/// A compiled `EntryFilter`. NSRegularExpression is immutable once made and safe to share
/// across threads (ICU clones its matcher per call), hence `@unchecked Sendable`.
public final class CompiledEntryFilter: @unchecked Sendable {
  let block: [(String, NSRegularExpression)]
  let keep: [(String, NSRegularExpression)]

  init(block: [(String, NSRegularExpression)], keep: [(String, NSRegularExpression)]) {
    self.block = block
    self.keep = keep
  }

  /// Nil when the entry is published; else why it is not. `summary` is plain text.
  public func verdict(title: String?, summary: String?, categories: [String]) -> FilterVerdict? {
    var fields: [(String, String)] = []
    if let title, !title.isEmpty { fields.append(("title", title)) }
    if let summary, !summary.isEmpty { fields.append(("summary", summary)) }
    for c in categories where !c.isEmpty { fields.append(("category", c)) }
    func matches(_ r: NSRegularExpression, _ text: String) -> Bool {
      r.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
    for (pattern, r) in block {
      if let (field, _) = fields.first(where: { matches(r, $0.1) }) {
        return .blocked(pattern: pattern, field: field)
      }
    }
    if keep.isEmpty { return nil }
    for (_, r) in keep where fields.contains(where: { matches(r, $0.1) }) { return nil }
    return .notKept
  }
}

extension CompiledEntryFilter {
  /// The verdict on a parsed entry: its title, its summary as plain text (HTML summaries through
  /// the one HTML-to-text rule) and each category's term and label.
  public func verdict(for entry: Entry) -> FilterVerdict? {
    verdict(
      title: entry.title, summary: Self.summaryText(entry.summary),
      categories: Self.categoryTexts(entry.categories))
  }

  /// What of a category the filter reads: its term, and its label when it has one.
  public static func categoryTexts(_ categories: [Category]) -> [String] {
    categories.flatMap { [$0.term] + ($0.label.map { [$0] } ?? []) }
  }

  /// A summary as the filter reads it (the first 64 KiB of its text is plenty for a pattern).
  public static func summaryText(_ text: Text?) -> String? {
    guard let text else { return nil }
    return text.type == .html ? HTMLText.plainText(text.value, limit: 65536) : text.value
  }
}
