import FeedParser
import Foundation

/// How a listing writes its dates: which month names (`DateNames`' languages), and an explicit
/// pattern when the numbers alone are ambiguous (`05/03/2024`: day or month first?).
struct ListingDateStyle: Equatable {
  var locale: String
  var format: String?
  var notes: [String]
}

enum ListingDates {
  /// The date parser's language code for an `<html lang>` value (`lt-LT` → `lt`), nil for
  /// languages it has no month names for.
  static func languageCode(_ lang: String?) -> String? {
    guard let lang else { return nil }
    let code = String(lang.lowercased().prefix { $0 != "-" && $0 != "_" })
    return DateNames.languages.contains(code) ? code : nil
  }

  static let languageNames: [String: String] = [
    "lt": "Lithuanian", "en": "English", "lv": "Latvian", "et": "Estonian", "pl": "Polish",
    "de": "German", "fr": "French", "fi": "Finnish", "sv": "Swedish", "da": "Danish",
    "nl": "Dutch", "es": "Spanish", "it": "Italian", "pt": "Portuguese", "cs": "Czech",
    "sk": "Slovak", "sl": "Slovenian", "hr": "Croatian", "hu": "Hungarian", "ro": "Romanian",
    "bg": "Bulgarian", "el": "Greek", "ga": "Irish", "mt": "Maltese",
  ]

  /// The style of `samples` (the date strings the items offer, as the scraper reads them).
  ///
  /// Month names decide the language (the page's own language on a tie, then English); without
  /// names the page's language is kept. Slash dates get an explicit day/month order: the date
  /// parser reads `05/03/2024` month-first on English pages, and a European listing means
  /// 5 March; a day above 12 anywhere settles it, else the page's region does (`en-US`).
  static func style(samples: [String], pageLanguage: String?) -> ListingDateStyle {
    let pageCode = languageCode(pageLanguage)
    var notes: [String] = []
    var counts: [String: Int] = [:]
    for sample in samples {
      let words = DateNames.fold(sample).split { !$0.isLetter }.map(String.init)
      for lang in DateNames.languages {
        let months = DateNames.byLanguage[lang]?.months ?? [:]
        if words.contains(where: { $0.count >= 3 && months[$0] != nil }) {
          counts[lang, default: 0] += 1
        }
      }
    }
    var locale = pageCode ?? "lt"
    if let top = counts.values.max() {
      let tied = counts.filter { $0.value == top }.map(\.key)
      if let pageCode, tied.contains(pageCode) {
        locale = pageCode
      } else if tied.contains("en") {
        locale = "en"
      } else {
        locale = DateNames.languages.first(where: tied.contains) ?? locale
      }
      let example = samples.first ?? ""
      notes.append(
        "dates use \(languageNames[locale] ?? locale) month names (e.g. '\(example.prefix(40))')")
    } else if !samples.isEmpty, samples.allSatisfy(isMachineDate) {
      notes.append("dates are machine-readable (e.g. '\(samples[0].prefix(40))')")
    }

    var format: String?
    let slashes = samples.compactMap(slashTriple)
    if !slashes.isEmpty, slashes.count * 2 >= samples.count {
      let yearDigits = slashes[0].yearDigits
      let year = yearDigits == 2 ? "yy" : "yyyy"
      let dayFirst: Bool
      let why: String
      if slashes.contains(where: { $0.first > 12 }) {
        dayFirst = true
        why = "a first number above 12"
      } else if slashes.contains(where: { $0.second > 12 }) {
        dayFirst = false
        why = "a second number above 12"
      } else {
        dayFirst = pageLanguage?.lowercased().replacingOccurrences(of: "_", with: "-") != "en-us"
        why = "ambiguous, taken from the page's language '\(pageLanguage ?? "none")'"
      }
      format = dayFirst ? "d/M/\(year)" : "M/d/\(year)"
      notes.append(
        "numeric dates are \(dayFirst ? "day/month/year" : "month/day/year") (\(why)): format \(format!)"
      )
    }
    return ListingDateStyle(locale: locale, format: format, notes: notes)
  }

  /// ISO 8601 and the like: digits, separators and the `T`/`Z` letters only.
  static func isMachineDate(_ s: String) -> Bool {
    let trimmed = s.trimmingCharacters(in: .whitespaces)
    guard DateParser.parse(trimmed) != nil else { return false }
    return trimmed.unicodeScalars.allSatisfy {
      ($0.value >= 0x30 && $0.value <= 0x39) || "-:+.TZ ".unicodeScalars.contains($0)
    }
  }

  /// `05/03/2024` (at the start of the text, after spaces) as its three numbers.
  static func slashTriple(_ s: String) -> (first: Int, second: Int, yearDigits: Int)? {
    var numbers: [(value: Int, digits: Int)] = []
    var current: (value: Int, digits: Int)?
    for c in s.trimmingCharacters(in: .whitespaces).unicodeScalars {
      if c.value >= 0x30 && c.value <= 0x39 {
        let d = Int(c.value - 0x30)
        current = ((current?.value ?? 0) * 10 + d, (current?.digits ?? 0) + 1)
        if current!.digits > 4 { return nil }
        continue
      }
      guard let n = current else { return nil }
      numbers.append(n)
      current = nil
      if numbers.count == 3 { break }
      guard c == "/" else { return nil }
    }
    if let n = current, numbers.count < 3 { numbers.append(n) }
    guard numbers.count == 3, numbers[0].digits <= 2, numbers[1].digits <= 2,
      numbers[2].digits == 4 || numbers[2].digits == 2
    else { return nil }
    return (numbers[0].value, numbers[1].value, numbers[2].digits)
  }
}
