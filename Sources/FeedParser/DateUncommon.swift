import Foundation

/// The date forms off the fast path (tried only when the RFC 822 and RFC 3339 scanners fail):
/// what Python feedparser's `_parse_date_iso8601`, `_onblog`, `_nate`, `_greek` and
/// `_hungarian` accept, and month and weekday names in the EU languages.
extension DateScanner {
  static func scanUncommon(_ string: String, allowMilitaryZones: Bool) -> DateFields? {
    guard string.utf8.count <= 256 else { return nil }
    var copy = string
    if let f = copy.withUTF8({ scanTruncatedISO($0) }) { return f }
    if let f = scanKorean(string) { return f }
    return scanNamed(string, allowMilitaryZones: allowMilitaryZones)
  }

  // MARK: - ISO 8601 reduced, truncated, ordinal and week dates

  /// `-0312`, `-03-12` (year and month), `031231`, `03-12-31`, `03335`, `03-335`, `2003335`,
  /// `2003-335` (ordinal), `2003-W01-1`, `2003W011`, `2003-W01` (week), Google's
  /// `2003-012-31`; each optionally followed by a time and zone. Two-digit years are 20yy.
  static func scanTruncatedISO(_ b: Bytes) -> DateFields? {
    var start = 0
    var end = b.count
    while start < end && isSpace(b[start]) { start += 1 }
    while end > start && isSpace(b[end - 1]) { end -= 1 }
    guard end > start else { return nil }
    var i = start
    let leadingDash = b[i] == UInt8(ascii: "-")
    if leadingDash { i += 1 }
    // Up to three digit runs separated by single dashes; a `W` starts a week number.
    var runs: [(value: Int, count: Int, first: UInt8)] = []
    var week: (week: Int, day: Int)?
    while i < end && runs.count < 3 {
      if (b[i] | 0x20) == UInt8(ascii: "w"), runs.count == 1, runs[0].count == 4, !leadingDash {
        i += 1
        guard let w = digits(b, &i, end, 2) else { return nil }
        var d = 1
        if i < end && b[i] == UInt8(ascii: "-") && i + 1 < end && isDigit(b[i + 1]) { i += 1 }
        if i < end && isDigit(b[i]) {
          d = Int(b[i] &- 0x30)
          i += 1
        }
        week = (w, d)
        break
      }
      let s = i
      var v = 0
      while i < end && isDigit(b[i]) && i - s < 7 {
        v = v * 10 + Int(b[i] &- 0x30)
        i += 1
      }
      guard i > s else { return nil }
      runs.append((v, i - s, b[s]))
      if i < end && b[i] == UInt8(ascii: "-") && i + 1 < end
        && (isDigit(b[i + 1]) || (b[i + 1] | 0x20) == UInt8(ascii: "w"))
      {
        i += 1
      } else if i < end && (b[i] | 0x20) == UInt8(ascii: "w") && runs.count == 1 {
        continue  // basic week date: `2003W011`
      } else {
        break
      }
    }
    var f = DateFields(year: 1, month: 1, day: 1)
    func split(_ r: (value: Int, count: Int, first: UInt8), _ sizes: [Int]) -> [Int] {
      var out: [Int] = []
      var rest = r.value
      var div = 1
      for _ in 0..<(r.count) { div *= 10 }
      for size in sizes {
        var unit = 1
        for _ in 0..<size { unit *= 10 }
        div /= unit
        out.append(rest / div)
        rest %= div
      }
      return out
    }
    var ordinal: Int?
    let counts = runs.map(\.count)
    if let week {
      guard counts == [4] else { return nil }
      f.year = runs[0].value
      guard week.week >= 1, week.week <= 53, week.day >= 1, week.day <= 7 else { return nil }
      let jan4 = DateFields.daysFromCivil(year: f.year, month: 1, day: 4)
      let weekday = ((jan4 % 7) + 7 + 3) % 7  // Monday = 0 (1970-01-01 was a Thursday)
      let days = jan4 - weekday + (week.week - 1) * 7 + week.day - 1
      (f.year, f.month, f.day) = DateFields.civil(fromDays: days)
    } else if leadingDash {
      switch counts {
      case [4]:
        let p = split(runs[0], [2, 2])
        (f.year, f.month) = (2000 + p[0], p[1])
      case [2, 2]: (f.year, f.month) = (2000 + runs[0].value, runs[1].value)
      default: return nil
      }
    } else {
      switch counts {
      case [6]:
        let p = split(runs[0], [2, 2, 2])
        (f.year, f.month, f.day) = (2000 + p[0], p[1], p[2])
      case [2, 2, 2]:
        (f.year, f.month, f.day) = (2000 + runs[0].value, runs[1].value, runs[2].value)
      case [5]:
        let p = split(runs[0], [2, 3])
        f.year = 2000 + p[0]
        ordinal = p[1]
      case [2, 3]:
        f.year = 2000 + runs[0].value
        ordinal = runs[1].value
      case [7]:
        let p = split(runs[0], [4, 3])
        f.year = p[0]
        ordinal = p[1]
      case [4, 3]:
        f.year = runs[0].value
        if runs[1].first == UInt8(ascii: "0"), i < end, b[i] == UInt8(ascii: "-") {
          return nil  // handled below as Google's month with a leading zero
        }
        ordinal = runs[1].value
      case [4, 3, 2] where runs[1].first == UInt8(ascii: "0"):
        (f.year, f.month, f.day) = (runs[0].value, runs[1].value, runs[2].value)
      case [4, 1, 1], [4, 1, 2], [4, 2, 1]:
        (f.year, f.month, f.day) = (runs[0].value, runs[1].value, runs[2].value)
      default: return nil
      }
    }
    if let ordinal {
      let leap = DateFields.daysIn(month: 2, year: f.year) == 29
      guard ordinal >= 1, ordinal <= (leap ? 366 : 365) else { return nil }
      let days = DateFields.daysFromCivil(year: f.year, month: 1, day: 1) + ordinal - 1
      (f.year, f.month, f.day) = DateFields.civil(fromDays: days)
    }
    guard f.isValid else { return nil }
    guard scanISOTime(b, &i, end, &f, basic: false) else { return nil }
    return f.isValid ? f : nil
  }

  // MARK: - Korean (OnBlog and Nate)

  /// `2004년 05월 28일 01:31:15` and `2004-05-25 오후 11:23:17` (`오전` AM, `오후` PM), in
  /// Korean time (UTC+9) as feedparser reads them.
  static func scanKorean(_ s: String) -> DateFields? {
    let am = s.contains("오전")
    let pm = s.contains("오후")
    guard am || pm || s.contains("년") else { return nil }
    var numbers: [Int] = []
    var current: Int?
    for scalar in s.unicodeScalars {
      if scalar.value >= 0x30 && scalar.value <= 0x39 {
        current = (current ?? 0) * 10 + Int(scalar.value - 0x30)
        guard current! < 100_000 else { return nil }
      } else {
        if let c = current { numbers.append(c) }
        current = nil
        let allowed = " \t-:년월일오전후.".unicodeScalars
        guard allowed.contains(scalar) else { return nil }
      }
    }
    if let c = current { numbers.append(c) }
    guard numbers.count == 5 || numbers.count == 6 else { return nil }
    var f = DateFields(
      year: numbers[0], month: numbers[1], day: numbers[2], hour: numbers[3], minute: numbers[4],
      second: numbers.count == 6 ? numbers[5] : 0)
    if am || pm {
      guard f.hour >= 1 && f.hour <= 12 else { return nil }
      if pm && f.hour < 12 { f.hour += 12 }
      if am && f.hour == 12 { f.hour = 0 }
    }
    f.offset = 9 * 3600
    return f.isValid ? f : nil
  }

  // MARK: - Names in other languages

  /// Dates with month and weekday names in any of the EU languages (Greek `Κυρ, 11 Ιούλ 2004
  /// 12:00:00 EST`, Hungarian `2004-július-13T9:15-05:00`, German `Di, 2. Juni 2020 10:15`):
  /// names are replaced by numbers (for the ISO scanner) or English abbreviations (for the RFC
  /// scanner), weekdays and filler words dropped.
  static func scanNamed(_ s: String, allowMilitaryZones: Bool) -> DateFields? {
    scanNamed(s, language: nil, allowMilitaryZones: allowMilitaryZones)
  }

  static func scanNamed(_ s: String, language: String?, allowMilitaryZones: Bool) -> DateFields? {
    let folded = Array(DateNames.fold(s).unicodeScalars)
    enum Piece {
      case text(Unicode.Scalar)
      case word(String)
    }
    var pieces: [Piece] = []
    var k = 0
    var sawLetter = false
    while k < folded.count {
      let c = folded[k]
      if c.properties.isAlphabetic && !(c.value >= 0x30 && c.value <= 0x39) {
        var w = String.UnicodeScalarView()
        while k < folded.count, folded[k].properties.isAlphabetic,
          !(folded[k].value >= 0x30 && folded[k].value <= 0x39)
        {
          w.append(folded[k])
          k += 1
        }
        pieces.append(.word(String(w)))
        sawLetter = true
      } else {
        pieces.append(.text(c))
        k += 1
      }
    }
    guard sawLetter else { return nil }
    // Which words are months: a word that is also a weekday (`mar` is March, and Tuesday in
    // French, Spanish, Italian, Romanian) is a month only when no other word is.
    var monthAt: [Int: Int] = [:]
    var skip = Set<Int>()
    var ambiguous: [Int] = []
    for (index, piece) in pieces.enumerated() {
      guard case .word(let w) = piece else { continue }
      // Two-word names (Irish `Meán Fómhair`).
      if index + 2 < pieces.count, case .word(let next) = pieces[index + 2],
        case .text(let gap) = pieces[index + 1], gap == " ",
        let m = DateNames.month(w + next, language: language)
      {
        monthAt[index] = m
        skip.insert(index + 2)
        continue
      }
      if skip.contains(index) { continue }
      if let m = DateNames.month(w, language: language) {
        if DateNames.isWeekday(w, language: language) {
          ambiguous.append(index)
        }
        monthAt[index] = m
      }
    }
    if monthAt.count > ambiguous.count {
      for index in ambiguous { monthAt[index] = nil }
    }
    guard monthAt.count <= 1 else { return nil }
    var numeric: [UInt8] = []
    var named: [UInt8] = []
    for (index, piece) in pieces.enumerated() {
      switch piece {
      case .text(let c):
        guard c.isASCII, c != "'" else {
          numeric.append(0x20)
          named.append(0x20)
          continue
        }
        numeric.append(UInt8(c.value))
        named.append(UInt8(c.value))
      case .word(let w):
        if skip.contains(index) { continue }
        if let m = monthAt[index] {
          numeric.append(contentsOf: Array((m < 10 ? "0\(m)" : "\(m)").utf8))
          named.append(contentsOf: englishMonths[m - 1].prefix(3))
        } else if DateNames.isWeekday(w, language: language) || DateNames.fillers.contains(w) {
          numeric.append(0x20)
          named.append(0x20)
        } else if w.utf8.allSatisfy({ $0 < 0x80 }) {
          numeric.append(contentsOf: Array(w.utf8))
          named.append(contentsOf: Array(w.utf8))
        } else {
          return nil
        }
      }
    }
    if !monthAt.isEmpty, let f = numeric.withUnsafeBufferPointer({ scanNumericForm($0) }) {
      return f
    }
    return named.withUnsafeBufferPointer { buffer -> DateFields? in
      var start = 0
      var end = buffer.count
      while start < end && (isSpace(buffer[start]) || buffer[start] == UInt8(ascii: ",")) {
        start += 1
      }
      while end > start && isSpace(buffer[end - 1]) { end -= 1 }
      guard end > start else { return nil }
      return scanRFC(buffer, start, end, allowMilitaryZones: allowMilitaryZones)
    }
  }

  /// A date whose month name became a number: ISO 8601 (`2004-07-13T9:15-05:00`).
  static func scanNumericForm(_ b: Bytes) -> DateFields? {
    var start = 0
    var end = b.count
    while start < end && isSpace(b[start]) { start += 1 }
    while end > start && isSpace(b[end - 1]) { end -= 1 }
    guard end - start >= 8, isDigit(b[start]), isDigit(b[start + 3]),
      b[start + 4] == UInt8(ascii: "-")
    else { return nil }
    return scanISO(b, start, end)
  }
}

extension DateFields {
  /// Year, month and day of a count of days since 1970-01-01 (H. Hinnant's civil_from_days).
  static func civil(fromDays z0: Int) -> (Int, Int, Int) {
    let z = z0 + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
  }
}
