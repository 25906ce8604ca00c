import Foundation

/// Dates as people write them on HTML news pages: month names in the 24 EU languages
/// (`DateNames`: genitive and nominative, with or without diacritics); `d.`/`m.` markers;
/// day-month-year and year-month-day orders; numeric `dd.mm.yyyy`; an optional `HH:mm`.
///
/// Pages rarely state a zone, so the date is read in the page's zone (default Europe/Vilnius) and
/// returned as a UTC instant; a date without a time is local midnight. Machine forms with an
/// explicit zone (`2020-06-02T10:15:00+03:00`, RFC 822) keep their own zone.
public enum LocaleDateParser {
  /// Europe/Vilnius, the zone of the member pages this was written for.
  public static let defaultTimeZone: TimeZone = TimeZone(identifier: "Europe/Vilnius") ?? .gmt

  /// Parses `text` (e.g. `02 birželio d., 2020`, `2020 m. birželio 2 d.`, `July 18 d., 2017`).
  ///
  /// - Parameters:
  ///   - locale: month names to try first (any EU language code: `lt`, `en`, `de`, `pl`, `el`…;
  ///     a region suffix such as `lt-LT` is fine); English, then the other languages, are tried
  ///     as well.
  ///   - format: an explicit pattern tried first (`yyyy`, `yy`, `MM`, `M`, `MMM`/`MMMM` for a month
  ///     name, `dd`, `d`, `HH`, `H`, `mm`, `ss`, text in single quotes is literal); when it does
  ///     not match, the usual forms are tried.
  ///   - timeZone: the zone the page's wall-clock dates are in.
  public static func parse(
    _ text: String, locale: String = "lt", format: String? = nil,
    timeZone: TimeZone = LocaleDateParser.defaultTimeZone
  ) -> Date? {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty, trimmed.utf8.count <= 512 else { return nil }
    let scalars = fold(trimmed)
    let language = languageCode(locale)
    if let format, !format.isEmpty,
      let fields = PatternMatcher(pattern: format, language: language).match(scalars)
    {
      return instant(fields, timeZone: timeZone)
    }
    // Machine forms first (ISO 8601, RFC 822 with English names): their zone wins when given.
    var copy = trimmed
    if let fields = copy.withUTF8({ DateScanner.scan($0, allowMilitaryZones: false) }) {
      return instant(fields, timeZone: timeZone)
    }
    guard let fields = GenericScanner(language: language).scan(scalars) else { return nil }
    return instant(fields, timeZone: timeZone)
  }

  /// Convenience for configuration values: an unknown zone identifier falls back to Vilnius.
  public static func parse(
    _ text: String, locale: String, format: String?, timeZoneIdentifier: String
  ) -> Date? {
    parse(
      text, locale: locale, format: format,
      timeZone: TimeZone(identifier: timeZoneIdentifier) ?? defaultTimeZone)
  }

  /// The instant of `fields`: its own offset when it has one, else its wall clock in `timeZone`.
  static func instant(_ fields: DateFields, timeZone: TimeZone) -> Date? {
    guard fields.isValid else { return nil }
    if fields.offset != nil { return fields.instant(defaultOffset: 0) }
    let wall = fields.wallClockSeconds
    // Two rounds settle the offset around DST changes (a wall time inside the spring-forward gap
    // lands one hour later, as the clocks themselves did).
    var offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall)))
    offset = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(wall - offset)))
    return Date(timeIntervalSince1970: Double(wall - offset) + fields.fraction)
  }

  static func languageCode(_ locale: String) -> String {
    let lower = locale.lowercased()
    if let cut = lower.firstIndex(where: { $0 == "-" || $0 == "_" }) {
      return String(lower[..<cut])
    }
    return lower
  }

  /// Lowercases and strips diacritics (`DateNames.fold`), so that `Birželio`, `birzelio` and
  /// `BIRŽELIO` compare equal.
  static func fold(_ text: String) -> [Unicode.Scalar] {
    Array(DateNames.fold(text).unicodeScalars)
  }

  /// Month number of a folded word: `language`'s names first, then English, then the other EU
  /// languages (`DateNames`). A word that is a weekday in `language` and not one of its months
  /// is no month (`mar.` is Tuesday on a French page, not March).
  static func month(_ word: String, language: String) -> Int? {
    if DateNames.byLanguage[language]?.months[word] == nil,
      DateNames.byLanguage[language]?.weekdays.contains(word) == true
    {
      return nil
    }
    return DateNames.month(word, language: language)
  }

  /// A number, a word or punctuation, as found in folded text.
  enum Token: Equatable {
    case number(value: Int, digits: Int)
    case word(String)
    case mark(Unicode.Scalar)
  }

  static func tokenize(_ s: [Unicode.Scalar]) -> [Token] {
    var tokens: [Token] = []
    var i = 0
    while i < s.count {
      let c = s[i]
      if c.properties.numericType == .decimal, let d = c.properties.numericValue, c.value < 0x80 {
        var v = Int(d)
        var n = 1
        i += 1
        while i < s.count, s[i].value >= 0x30 && s[i].value <= 0x39 {
          if n < 9 { v = v * 10 + Int(s[i].value - 0x30) }
          n += 1
          i += 1
        }
        tokens.append(.number(value: v, digits: n))
      } else if c.properties.isAlphabetic {
        var word = ""
        while i < s.count, s[i].properties.isAlphabetic {
          word.unicodeScalars.append(s[i])
          i += 1
        }
        tokens.append(.word(word))
      } else {
        if !c.properties.isWhitespace { tokens.append(.mark(c)) }
        i += 1
      }
    }
    return tokens
  }

  /// Recognises the usual forms without a pattern: a month word plus day and year numbers, or a
  /// numeric triple, and the first `HH:mm[:ss]` time.
  struct GenericScanner {
    let language: String

    func scan(_ s: [Unicode.Scalar]) -> DateFields? {
      let tokens = LocaleDateParser.tokenize(s)
      var time: (Int, Int, Int)?
      var consumed = Set<Int>()
      // Times first, so that their numbers are not taken for days.
      var k = 0
      while k + 2 < tokens.count {
        if case .number(let h, let hd) = tokens[k], hd <= 2, tokens[k + 1] == .mark(":"),
          case .number(let m, 2) = tokens[k + 2]
        {
          var sec = 0
          var last = k + 2
          if k + 4 < tokens.count, tokens[k + 3] == .mark(":"),
            case .number(let sv, 2) = tokens[k + 4]
          {
            sec = sv
            last = k + 4
          }
          if time == nil { time = (h, m, sec) }
          for t in k...last { consumed.insert(t) }
          k = last + 1
        } else {
          k += 1
        }
      }
      var month: Int?
      for (index, token) in tokens.enumerated() {
        if case .word(let w) = token, let m = LocaleDateParser.month(w, language: language) {
          month = m
          consumed.insert(index)
          break
        }
      }
      var fields: DateFields?
      if let month {
        fields = withMonthName(tokens, month: month, consumed: consumed)
      } else {
        fields = numeric(tokens, consumed: consumed)
      }
      guard var f = fields else { return nil }
      if let (h, m, sec) = time {
        f.hour = h
        f.minute = m
        f.second = sec
      }
      return f.isValid ? f : nil
    }

    private func withMonthName(_ tokens: [Token], month: Int, consumed: Set<Int>) -> DateFields? {
      var year: Int?
      var day: Int?
      var small: [Int] = []
      for (index, token) in tokens.enumerated() where !consumed.contains(index) {
        guard case .number(let v, let n) = token else { continue }
        if n == 4 {
          if year == nil { year = v }
        } else if n <= 2 {
          small.append(v)
        }
      }
      if let y = year {
        guard let d = small.first else { return nil }
        year = y
        day = d
      } else if small.count >= 2 {
        // "18 Jul 17": day, then a two-digit year.
        day = small[0]
        year = 2000 + small[1]
      }
      guard let y = year, let d = day else { return nil }
      return DateFields(year: y, month: month, day: d)
    }

    private func numeric(_ tokens: [Token], consumed: Set<Int>) -> DateFields? {
      // The first number-mark-number-mark-number run with one separator kind.
      var k = 0
      while k + 4 < tokens.count {
        defer { k += 1 }
        guard !consumed.contains(k),
          case .number(let a, let an) = tokens[k], case .mark(let s1) = tokens[k + 1],
          case .number(let b, let bn) = tokens[k + 2], tokens[k + 3] == .mark(s1),
          case .number(let c, let cn) = tokens[k + 4], ".-/".unicodeScalars.contains(s1),
          bn <= 2
        else { continue }
        if an == 4 && cn <= 2 {
          return DateFields(year: a, month: b, day: c)
        }
        if an <= 2 && (cn == 4 || cn == 2) {
          let year = cn == 4 ? c : 2000 + c
          if language == "en" && s1 == "/" && a <= 12 {
            let us = DateFields(year: year, month: a, day: b)
            if us.isValid { return us }
          }
          return DateFields(year: year, month: b, day: a)
        }
      }
      return nil
    }
  }

  /// Matches an explicit pattern such as `yyyy-MM-dd HH:mm` or `dd MMMM 'd.', yyyy`.
  struct PatternMatcher {
    let pattern: [Unicode.Scalar]
    let language: String

    init(pattern: String, language: String) {
      self.pattern = Array(pattern.unicodeScalars)
      self.language = language
    }

    func match(_ text: [Unicode.Scalar]) -> DateFields? {
      var f = DateFields(year: 0, month: 1, day: 1)
      var sawYear = false
      var pm: Bool?
      var p = 0
      var t = 0
      func skipSpaces() { while t < text.count, text[t].properties.isWhitespace { t += 1 } }
      func number(min: Int, max: Int) -> Int? {
        var v = 0
        var n = 0
        while t < text.count, n < max, text[t].value >= 0x30 && text[t].value <= 0x39 {
          v = v * 10 + Int(text[t].value - 0x30)
          n += 1
          t += 1
        }
        return n >= min ? v : nil
      }
      while p < pattern.count {
        let c = pattern[p]
        if c == "'" {
          // Quoted literal; '' is a quote.
          p += 1
          while p < pattern.count, pattern[p] != "'" {
            guard literal(pattern[p], text, &t) else { return nil }
            p += 1
          }
          p += 1
          continue
        }
        guard c.properties.isAlphabetic, c.value < 0x80 else {
          if c.properties.isWhitespace {
            skipSpaces()
          } else if !literal(c, text, &t) {
            return nil
          }
          p += 1
          continue
        }
        var run = 1
        while p + run < pattern.count, pattern[p + run] == c { run += 1 }
        p += run
        switch c {
        case "y":
          guard let v = run == 2 ? number(min: 2, max: 2) : number(min: 4, max: 4) else {
            return nil
          }
          f.year = run == 2 ? 2000 + v : v
          sawYear = true
        case "M", "L":
          if run >= 3 {
            var word = ""
            while t < text.count, text[t].properties.isAlphabetic {
              word.unicodeScalars.append(text[t])
              t += 1
            }
            guard let m = LocaleDateParser.month(word, language: language) else { return nil }
            f.month = m
            if t < text.count, text[t] == ".", p < pattern.count, pattern[p] != "." { t += 1 }
          } else {
            guard let v = number(min: run, max: 2) else { return nil }
            f.month = v
          }
        case "d":
          guard let v = number(min: run, max: 2) else { return nil }
          f.day = v
        case "H", "h", "k":
          guard let v = number(min: run, max: 2) else { return nil }
          f.hour = v
        case "m":
          guard let v = number(min: run, max: 2) else { return nil }
          f.minute = v
        case "s":
          guard let v = number(min: run, max: 2) else { return nil }
          f.second = v
        case "a":
          skipSpaces()
          guard t + 1 < text.count, text[t + 1] == "m", text[t] == "a" || text[t] == "p" else {
            return nil
          }
          pm = text[t] == "p"
          t += 2
        case "E":
          while t < text.count, text[t].properties.isAlphabetic { t += 1 }
          if t < text.count, text[t] == "." { t += 1 }
        default:
          // Any other letter is literal.
          for _ in 0..<run {
            guard literal(c, text, &t) else { return nil }
          }
        }
      }
      guard sawYear else { return nil }
      if let pm {
        guard f.hour >= 1 && f.hour <= 12 else { return nil }
        if pm && f.hour < 12 { f.hour += 12 }
        if !pm && f.hour == 12 { f.hour = 0 }
      }
      return f.isValid ? f : nil
    }

    /// One literal pattern character against folded text (so letters compare folded too).
    private func literal(_ c: Unicode.Scalar, _ text: [Unicode.Scalar], _ t: inout Int) -> Bool {
      let folded = LocaleDateParser.fold(String(c))
      for scalar in folded {
        if scalar.properties.isWhitespace {
          while t < text.count, text[t].properties.isWhitespace { t += 1 }
          continue
        }
        guard t < text.count, text[t] == scalar else { return false }
        t += 1
      }
      return true
    }
  }
}
