import FeedModel
import Foundation

/// Issue 17, "sanitise only what changed": the store side. The parser keys each sanitised
/// fragment by its raw HTML, base URL and policy version (`SanitizerKey`); the keys travel in
/// the entry's `extra` blob (so they are in `fullHash`, and neither backend needed a schema
/// change), and these two calls read them back.
extension StoreCore {
  /// The sanitised HTML of the entries the source's last parsed document carried
  /// (`source.currentIDs`), by the key of the raw HTML it came from: what the parser of the
  /// source's next changed document may reuse (`ParseOptions.reusableHTML`). Empty before the
  /// first document.
  package func reusableHTML(sourceID: String) async throws -> [SanitizerKey: String] {
    try await engine.read { db in
      let ids = Retention.unpack(
        try db.fetchOne("SELECT currentIDs FROM source WHERE id = ?", [.text(sourceID)])?
          .optionalData("currentIDs"))
      guard !ids.isEmpty else { return [:] }
      var map: [SanitizerKey: String] = [:]
      let decoder = JSONDecoder()
      let all = Array(ids).sorted()
      var start = 0
      while start < all.count {
        let chunk = all[start..<min(start + 100, all.count)]
        start += chunk.count
        let marks = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
        let rows = try db.fetchAll(
          "SELECT summary, content, extra FROM entry WHERE sourceID = ? AND id IN (\(marks))",
          [.text(sourceID)] + chunk.map { SQLValue.integer($0) })
        for row in rows {
          guard let data = row.optionalData("extra"),
            let extra = try? decoder.decode(KeysInExtra.self, from: data),
            extra.sanitizerKeys != nil
          else { continue }
          // The fragments as an entry (types are irrelevant here): one rule, `reusableHTML`.
          let entry = Entry(
            summary: row.optionalString("summary").map { .html($0) },
            content: row.optionalString("content").map { .html($0) },
            media: extra.media.map { MediaInfo(description: $0.description) },
            sanitizerKeys: extra.sanitizerKeys)
          for (key, html) in entry.reusableHTML { map[key] = html }
        }
      }
      return map
    }
  }

  /// The two fields of `EntryExtra` the reuse map needs: decoding only these skips building
  /// the rest (authors, links, categories…) of every current entry on every changed fetch.
  private struct KeysInExtra: Decodable {
    struct Media: Decodable { var description: Text? }
    var sanitizerKeys: SanitizerKeys?
    var media: Media?
  }

  /// Runs `transform` over every stored entry of every source, one write transaction per
  /// source (`Ingest.rewrite`): `clusterwire resanitize` passes the sanitiser of the current
  /// policy. Returns (entries read, entries rewritten).
  package func rewriteEntries(
    _ transform: @escaping @Sendable (Entry) -> Entry?
  ) async throws -> (seen: Int, rewritten: Int) {
    let sources = try await engine.read { db in
      try db.fetchAll(
        "SELECT id, (SELECT COUNT(*) FROM entry WHERE sourceID = source.id) AS n FROM source ORDER BY id"
      )
      .map { ($0.string("id"), $0.int("n")) }
    }
    let options = self.options
    var seen = 0
    var rewritten = 0
    for (id, count) in sources {
      seen += count
      rewritten += try await engine.write { db in
        var ingest = Ingest(db: db, options: options())
        return try ingest.rewrite(sourceID: id, transform: transform)
      }
    }
    return (seen, rewritten)
  }
}
