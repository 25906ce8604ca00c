import FeedModel
import LanguageDetection
import WebText

/// The normalisation step that gives an entry a language from its text when nothing declares
/// one: neither the feed (`language`, `xml:lang`, `dc:language`) nor the entry or its title,
/// summary or content. A confident guess only (else nil, and the store falls back to the
/// source's configured language), so a Lithuanian member's English post is filed as `en`.
enum LanguageStep {
  /// Letters of title + text that the detector sees at most (it needs a few hundred bytes).
  static let textLimit = 600

  /// Whether the detector's fingerprints are installed (libexttextcat-data).
  static var isAvailable: Bool { LanguageDetector.shared.isAvailable }

  static func detectMissing(in feed: inout Feed, detector: LanguageDetector = .shared) {
    guard feed.language == nil else { return }
    for i in feed.entries.indices {
      let e = feed.entries[i]
      guard e.language == nil, e.titleLanguage == nil, e.summary?.language == nil,
        e.content?.language == nil
      else { continue }
      feed.entries[i].language = detector.detect(text(of: e))
    }
  }

  /// Title, then content (or summary) as plain text.
  static func text(of e: Entry) -> String {
    var text = e.title ?? ""
    for body in [e.content, e.summary] {
      guard let body, text.utf8.count < textLimit else { continue }
      // Only the lead is read: a long body is cut (bytes, markup and all) before conversion.
      let lead = String(decoding: body.value.utf8.prefix(4 * textLimit), as: UTF8.self)
      let plain =
        body.type == .html
        ? HTMLText.plainText(lead, limit: textLimit) : HTMLText.cut(lead, limit: textLimit)
      text += text.isEmpty ? plain : ". " + plain
      break
    }
    return text
  }
}
