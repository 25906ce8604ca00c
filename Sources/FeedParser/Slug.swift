import Foundation

/// The one rule that turns a name into a URL slug (`[a-z0-9-]`): source ids made by `discover`
/// and `import-opml` (`DropIn.slug`) and category slugs read from OPML folders. It lives here
/// because both Config and Discovery depend on FeedParser, and it reuses the parser's
/// diacritic folding (`DateNames.fold`), so `Žemės ūkis` and `zemes ukis` give the same slug.
public enum Slug {
  /// The longest slug made: ids appear in URLs (`/sources/{id}.atom`) and file names.
  public static let maxLength = 40

  /// Lower-case ASCII letters and digits; Lithuanian and other Latin letters with diacritics
  /// transliterated (`ą`→`a`, `ž`→`z`, `ł`→`l`, `ß`→`ss`, `æ`→`ae`); apostrophes dropped
  /// (`O’Brien`→`obrien`); every other run of characters one hyphen; no leading or trailing
  /// hyphen; at most `maxLength` characters, cut at a word boundary when one is near. Empty
  /// when nothing usable is left (a name in another script): callers choose the fallback.
  public static func make(_ text: String, maxLength: Int = Slug.maxLength) -> String {
    // Compatibility forms first (`ﬁ`, full-width letters, `²`), then the parser's folding.
    let folded = DateNames.fold(text.decomposedStringWithCompatibilityMapping)
    var out = ""
    var pendingHyphen = false
    func append(_ s: String) {
      if pendingHyphen && !out.isEmpty { out.append("-") }
      pendingHyphen = false
      out.append(s)
    }
    for scalar in folded.unicodeScalars {
      switch scalar.value {
      case 0x61...0x7A, 0x30...0x39: append(String(scalar))
      case 0x27, 0x2019, 0x02BC, 0x60, 0xB4: continue  // apostrophes join the word
      default:
        if let latin = ligatures[scalar.value] { append(latin) } else { pendingHyphen = true }
      }
    }
    guard out.count > maxLength else { return out }
    var cut = String(out.prefix(maxLength))
    if out[out.index(out.startIndex, offsetBy: maxLength)] != "-",
      let lastHyphen = cut.lastIndex(of: "-"),
      cut.distance(from: cut.startIndex, to: lastHyphen) >= maxLength / 2
    {
      cut = String(cut[..<lastHyphen])
    }
    while cut.hasSuffix("-") { cut.removeLast() }
    return cut
  }

  /// Latin letters that neither decompose nor fold: written out as their usual transliteration.
  private static let ligatures: [UInt32: String] = [
    0xE6: "ae", 0x153: "oe", 0xFE: "th", 0xF0: "d",
  ]
}

extension Slug {
  /// Whether `text` is already a slug as the config requires it (`[a-z0-9-]+`): an id that may
  /// be used as is, and as a file name.
  public static func isValid(_ text: String) -> Bool {
    !text.isEmpty
      && text.utf8.allSatisfy {
        ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D
      }
  }
}

extension Slug {
  /// `base`, or `base-2`, `base-3` … (the stem cut so the whole stays within `maxLength`): the
  /// first not in `used`. The one rule for ids `import-opml` and `discover` make unique.
  public static func unique(_ base: String, avoiding used: Set<String>) -> String {
    var candidate = base
    var n = 2
    while used.contains(candidate) {
      let suffix = "-\(n)"
      var stem = String(base.prefix(maxLength - suffix.count))
      while stem.hasSuffix("-") { stem.removeLast() }
      candidate = stem + suffix
      n += 1
    }
    return candidate
  }
}
