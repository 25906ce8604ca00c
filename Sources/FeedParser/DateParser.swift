import Foundation

/// Parses the date formats feeds really contain into UTC instants.
///
/// A hand-written scanner over the UTF-8 bytes (no `DateFormatter`, no `Calendar`): it runs on
/// every entry of every feed, so it must cost well under a microsecond.
public enum DateParser {
  /// RFC 822/1123 and its broken variants, RFC 3339/W3CDTF (partial dates too), ISO 8601 basic,
  /// asctime. Nil when nothing matched: the caller reports it; never "now".
  ///
  /// A date without a zone is taken as UTC. Single military zone letters other than `Z` count as
  /// UTC too (RFC 2822 §4.3: their signs were botched in RFC 822, so they carry no information).
  public static func parse(_ string: String) -> Date? {
    var copy = string
    let fast = copy.withUTF8 { buffer -> DateFields? in
      DateScanner.scan(buffer, allowMilitaryZones: true)
    }
    if let fast { return fast.instant(defaultOffset: 0) }
    // The rarer forms, off the fast path: truncated and ordinal ISO 8601, Korean, month and
    // weekday names in the EU languages and Greek.
    return DateScanner.scanUncommon(string, allowMilitaryZones: true)?.instant(defaultOffset: 0)
  }
}

/// Calendar fields as scanned, before any zone is applied. Shared with `LocaleDateParser`, which
/// applies the page's zone when the text named none.
struct DateFields: Equatable {
  var year: Int
  var month: Int
  var day: Int
  var hour = 0
  var minute = 0
  var second = 0
  var fraction: Double = 0
  /// Seconds east of UTC when the text named a zone or an offset.
  var offset: Int?

  /// True when the fields name a real calendar day and a valid time of day.
  var isValid: Bool {
    guard year >= 1 && year <= 9999, month >= 1 && month <= 12 else { return false }
    guard day >= 1 && day <= DateFields.daysIn(month: month, year: year) else { return false }
    if hour == 24 { return minute == 0 && second == 0 && fraction == 0 }
    return hour >= 0 && hour < 24 && minute >= 0 && minute < 60 && second >= 0 && second <= 60
  }

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: return (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28
    case 4, 6, 9, 11: return 30
    default: return 31
    }
  }

  /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
  static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = month > 2 ? month - 3 : month + 9
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
  }

  /// Seconds since the epoch of the fields read as a wall clock in UTC.
  var wallClockSeconds: Int {
    DateFields.daysFromCivil(year: year, month: month, day: day) * 86400 + hour * 3600 + minute * 60
      + second
  }

  /// The instant, using the scanned offset or `defaultOffset` when the text had none; nil when
  /// the offset moves it out of years 1–9999 in UTC (`0001-01-01T00:00:00+14:00`), which no
  /// RFC 3339 timestamp we publish could carry and read back.
  func instant(defaultOffset: Int) -> Date? {
    guard isValid else { return nil }
    let seconds = wallClockSeconds - (offset ?? defaultOffset)
    guard seconds >= -62_135_596_800, seconds <= 253_402_300_799 else { return nil }
    return Date(timeIntervalSince1970: Double(seconds) + fraction)
  }
}

/// The byte-level scanners behind `DateParser` (ISO 8601/RFC 3339 and the RFC 822 family).
enum DateScanner {
  typealias Bytes = UnsafeBufferPointer<UInt8>

  @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
  @inline(__always) static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 }
  @inline(__always) static func isSpace(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C || c == 0x0B
  }

  /// Scans a whole string; nil unless every byte was understood (ignoring outer whitespace).
  static func scan(_ b: Bytes, allowMilitaryZones: Bool) -> DateFields? {
    var start = 0
    var end = b.count
    while start < end && isSpace(b[start]) { start += 1 }
    while end > start && isSpace(b[end - 1]) { end -= 1 }
    // Non-breaking spaces (C2 A0) at either end, as HTML pages leave them.
    while end - start >= 2 && b[start] == 0xC2 && b[start + 1] == 0xA0 { start += 2 }
    while end - start >= 2 && b[end - 2] == 0xC2 && b[end - 1] == 0xA0 { end -= 2 }
    guard end > start else { return nil }
    if end - start >= 4 && isDigit(b[start]) && isDigit(b[start + 1]) && isDigit(b[start + 2])
      && isDigit(b[start + 3])
    {
      let next = start + 4 < end ? b[start + 4] : 0
      if next == 0 || next == UInt8(ascii: "-") || isDigit(next) {
        if let iso = scanISO(b, start, end) { return iso }
      }
    }
    return scanRFC(b, start, end, allowMilitaryZones: allowMilitaryZones)
  }

  /// Reads exactly `count` digits at `i`.
  @inline(__always) static func digits(_ b: Bytes, _ i: inout Int, _ end: Int, _ count: Int) -> Int?
  {
    guard end - i >= count else { return nil }
    var v = 0
    for k in 0..<count {
      let c = b[i + k]
      guard isDigit(c) else { return nil }
      v = v * 10 + Int(c &- 0x30)
    }
    i += count
    return v
  }

  /// Reads one or two digits at `i`.
  @inline(__always) static func oneOrTwoDigits(_ b: Bytes, _ i: inout Int, _ end: Int) -> Int? {
    guard i < end, isDigit(b[i]) else { return nil }
    var v = Int(b[i] &- 0x30)
    i += 1
    if i < end && isDigit(b[i]) {
      v = v * 10 + Int(b[i] &- 0x30)
      i += 1
    }
    return v
  }

  /// A fraction of a second after `.` or `,`.
  static func fraction(_ b: Bytes, _ i: inout Int, _ end: Int) -> Double {
    guard i + 1 < end, b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ","), isDigit(b[i + 1])
    else { return 0 }
    i += 1
    var value = 0.0
    var scale = 0.1
    while i < end && isDigit(b[i]) {
      value += Double(b[i] &- 0x30) * scale
      scale /= 10
      i += 1
    }
    return value
  }

  /// `Z`, `±hh:mm`, `±hhmm`, `±hh`, or a zone name, then the end of the string.
  static func isoZone(_ b: Bytes, _ i: inout Int, _ end: Int) -> (ok: Bool, offset: Int?) {
    while i < end && isSpace(b[i]) { i += 1 }
    guard i < end else { return (true, nil) }
    let c = b[i]
    if (c | 0x20) == UInt8(ascii: "z") && i + 1 == end {
      i += 1
      return (true, 0)
    }
    if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") {
      i += 1
      guard let off = numericOffset(b, &i, end, sign: c == UInt8(ascii: "-") ? -1 : 1), i == end
      else { return (false, nil) }
      return (true, off)
    }
    if isAlpha(c) {
      let s = i
      while i < end && isAlpha(b[i]) { i += 1 }
      guard var off = zoneOffset(b, s, i, allowMilitary: false) else { return (false, nil) }
      if i < end && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) {
        let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
        i += 1
        guard let extra = numericOffset(b, &i, end, sign: sign) else { return (false, nil) }
        off += extra
      }
      while i < end && isSpace(b[i]) { i += 1 }
      return (i == end, off)
    }
    return (false, nil)
  }

  /// After the sign: `hh:mm`, `hhmm`, `hh` (or `h`). Offsets beyond ±18 h are refused.
  static func numericOffset(_ b: Bytes, _ i: inout Int, _ end: Int, sign: Int) -> Int? {
    let s = i
    while i < end && isDigit(b[i]) { i += 1 }
    let n = i - s
    var hours = 0
    var minutes = 0
    func value(_ from: Int, _ count: Int) -> Int {
      var v = 0
      for k in 0..<count { v = v * 10 + Int(b[from + k] &- 0x30) }
      return v
    }
    switch n {
    case 1, 2:
      hours = value(s, n)
      if i < end && b[i] == UInt8(ascii: ":") {
        i += 1
        guard let m = digits(b, &i, end, 2) else { return nil }
        minutes = m
      }
    case 3:
      hours = value(s, 1)
      minutes = value(s + 1, 2)
    case 4:
      hours = value(s, 2)
      minutes = value(s + 2, 2)
    default: return nil
    }
    guard hours <= 18, minutes < 60 else { return nil }
    return sign * (hours * 3600 + minutes * 60)
  }

  /// RFC 3339 / W3CDTF / ISO 8601 (extended and basic), partial dates included.
  static func scanISO(_ b: Bytes, _ start: Int, _ end: Int) -> DateFields? {
    var i = start
    guard let year = digits(b, &i, end, 4) else { return nil }
    var f = DateFields(year: year, month: 1, day: 1)
    var basic = false
    if i == end { return f }
    if b[i] == UInt8(ascii: "-") {
      i += 1
      guard let month = oneOrTwoDigits(b, &i, end) else { return nil }
      f.month = month
      if i < end && b[i] == UInt8(ascii: "-") {
        i += 1
        guard let day = oneOrTwoDigits(b, &i, end) else { return nil }
        f.day = day
      } else if i < end {
        return nil  // YYYY-MM must stand alone
      }
    } else {
      guard let month = digits(b, &i, end, 2), let day = digits(b, &i, end, 2) else { return nil }
      f.month = month
      f.day = day
      basic = true
    }
    guard scanISOTime(b, &i, end, &f, basic: basic) else { return nil }
    return f.isValid ? f : nil
  }

  /// The optional time after an ISO 8601 date: `T` or spaces (or nothing, after a basic date:
  /// Date::Manip's `2004070816:29:06`), `hh:mm[:ss][.fff]` or `hhmm[ss]`, then a zone. A
  /// one-digit hour is accepted before `:` (`2004-07-13T9:15`).
  static func scanISOTime(
    _ b: Bytes, _ i: inout Int, _ end: Int, _ f: inout DateFields, basic: Bool
  ) -> Bool {
    if i < end {
      let sep = b[i]
      if (sep | 0x20) == UInt8(ascii: "t") {
        i += 1
      } else if isSpace(sep) {
        while i < end && isSpace(b[i]) { i += 1 }
      } else if !(basic && isDigit(sep)) {
        return false
      }
      var hour: Int
      if i + 1 < end && isDigit(b[i]) && b[i + 1] == UInt8(ascii: ":") {
        hour = Int(b[i] &- 0x30)
        i += 1
      } else {
        guard let h = digits(b, &i, end, 2) else { return false }
        hour = h
      }
      f.hour = hour
      if i < end && b[i] == UInt8(ascii: ":") {
        i += 1
        guard let minute = digits(b, &i, end, 2) else { return false }
        f.minute = minute
        if i < end && b[i] == UInt8(ascii: ":") {
          i += 1
          guard let second = digits(b, &i, end, 2) else { return false }
          f.second = second
        }
      } else if i < end && isDigit(b[i]) {
        guard let minute = digits(b, &i, end, 2) else { return false }
        f.minute = minute
        if i < end && isDigit(b[i]) {
          guard let second = digits(b, &i, end, 2) else { return false }
          f.second = second
        }
      } else if !basic {
        return false  // an hour alone is no time in the extended form
      }
      f.fraction = fraction(b, &i, end)
      let zone = isoZone(b, &i, end)
      guard zone.ok else { return false }
      f.offset = zone.offset
    }
    return true
  }

  /// Month from an English name or its abbreviation (three letters or more, any case).
  static func month(_ b: Bytes, _ s: Int, _ e: Int) -> Int? {
    let n = e - s
    guard n >= 3 else { return nil }
    let key = (UInt32(b[s] | 0x20) << 16) | (UInt32(b[s + 1] | 0x20) << 8) | UInt32(b[s + 2] | 0x20)
    let m: Int
    switch key {
    case 0x6A_616E: m = 1  // jan
    case 0x66_6562: m = 2  // feb
    case 0x6D_6172: m = 3  // mar
    case 0x61_7072: m = 4  // apr
    case 0x6D_6179: m = 5  // may
    case 0x6A_756E: m = 6  // jun
    case 0x6A_756C: m = 7  // jul
    case 0x61_7567: m = 8  // aug
    case 0x73_6570: m = 9  // sep
    case 0x6F_6374: m = 10  // oct
    case 0x6E_6F76: m = 11  // nov
    case 0x64_6563: m = 12  // dec
    default: return nil
    }
    if n == 3 { return m }
    // Longer forms must be a prefix of the full name ("Sept", "June", "September").
    let full = englishMonths[m - 1]
    guard n <= full.count else { return nil }
    for k in 3..<n where (b[s + k] | 0x20) != full[k] { return nil }
    return m
  }

  static let englishMonths: [[UInt8]] = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
  ].map { Array($0.utf8) }

  static let weekdays: [[UInt8]] = [
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
  ].map { Array($0.utf8) }

  /// Weekday names and abbreviations ("Tue", "Tues", "Tuesday"): recognised and ignored (feeds
  /// often state the wrong one).
  static func isWeekday(_ b: Bytes, _ s: Int, _ e: Int) -> Bool {
    let n = e - s
    guard n >= 2 else { return false }
    for name in weekdays where n <= name.count {
      var same = true
      for k in 0..<n where (b[s + k] | 0x20) != name[k] {
        same = false
        break
      }
      if same { return n >= 3 || n == name.count }
    }
    return false
  }

  /// Named zones seen in feeds (North American, European, a few others) → seconds east of UTC.
  static let zones: [String: Int] = {
    let hours: [String: Double] = [
      "ut": 0, "utc": 0, "gmt": 0, "z": 0, "zulu": 0, "wet": 0,
      // North American zones without the S/D letter, as feedparser reads them (standard time).
      "at": -4, "et": -5, "ct": -6, "mt": -7, "pt": -8,
      "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
      "akst": -9, "akdt": -8, "hst": -10, "ast": -4, "adt": -3, "nst": -3.5, "ndt": -2.5,
      "cet": 1, "cest": 2, "met": 1, "mest": 2, "eet": 2, "eest": 3, "west": 1, "bst": 1,
      "msk": 3, "ist": 5.5, "jst": 9, "kst": 9, "hkt": 8, "sgt": 8, "awst": 8, "acst": 9.5,
      "acdt": 10.5, "aest": 10, "aedt": 11, "nzst": 12, "nzdt": 13,
    ]
    return hours.mapValues { Int($0 * 3600) }
  }()

  static func zoneOffset(_ b: Bytes, _ s: Int, _ e: Int, allowMilitary: Bool) -> Int? {
    let n = e - s
    if n == 1 {
      let c = b[s] | 0x20
      if c == UInt8(ascii: "z") { return 0 }
      // RFC 2822 §4.3: military zones other than Z are treated as -0000 (unknown, so UTC).
      return allowMilitary && c != UInt8(ascii: "j") ? 0 : nil
    }
    guard n <= 5 else { return nil }
    var key = ""
    key.reserveCapacity(n)
    for k in s..<e { key.unicodeScalars.append(Unicode.Scalar(b[k] | 0x20)) }
    return zones[key]
  }

  /// RFC 822/1123/850, asctime and the broken forms feeds emit: tokens in any sensible order.
  static func scanRFC(_ b: Bytes, _ start: Int, _ end: Int, allowMilitaryZones: Bool) -> DateFields?
  {
    var year: Int?
    var month: Int?
    var day: Int?
    var hour = 0
    var minute = 0
    var second = 0
    var frac = 0.0
    var sawTime = false
    var offset: Int?
    var pm: Bool?
    var yearDigits = 0
    var yearFirst = false
    var third: Int?
    var etc = false
    var i = start
    while i < end {
      let c = b[i]
      if isAlpha(c) {
        let s = i
        while i < end && isAlpha(b[i]) { i += 1 }
        if let m = DateScanner.month(b, s, i) {
          guard month == nil else { return nil }
          month = m
        } else if isWeekday(b, s, i) {
          continue
        } else if i - s == 2 && (b[s] | 0x20 == 0x61 || b[s] | 0x20 == 0x70)
          && (b[s + 1] | 0x20) == 0x6D
        {
          pm = (b[s] | 0x20) == 0x70  // am / pm
        } else if i - s == 2 && (b[s] | 0x20) == 0x61 && (b[s + 1] | 0x20) == 0x74 && !sawTime {
          continue  // "at" before the time; after it, AT is Atlantic time
        } else if i - s == 3 && i < end && b[i] == UInt8(ascii: "/") && !etc
          && (b[s] | 0x20) == 0x65 && (b[s + 1] | 0x20) == 0x74 && (b[s + 2] | 0x20) == 0x63
        {
          etc = true  // tz database "Etc/GMT", "Etc/GMT+5" (POSIX signs: that is UTC-5)
          i += 1
        } else if offset == nil, sawTime || day != nil,
          let z = zoneOffset(b, s, i, allowMilitary: allowMilitaryZones && sawTime)
        {
          offset = z
          // "GMT+0200", "UTC-05:00"
          if i < end && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) && i + 1 < end
            && isDigit(b[i + 1])
          {
            let sign = b[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let extra = numericOffset(b, &i, end, sign: etc ? -sign : sign) else {
              return nil
            }
            offset = z + extra
          }
        } else {
          return nil
        }
      } else if isDigit(c) {
        let s = i
        var v = 0
        while i < end && isDigit(b[i]) {
          v = v &* 10 &+ Int(b[i] &- 0x30)
          i += 1
        }
        let n = i - s
        if i < end && b[i] == UInt8(ascii: ":") && n <= 2 && !sawTime {
          i += 1
          guard let m = digits(b, &i, end, 2) else { return nil }
          hour = v
          minute = m
          if i < end && b[i] == UInt8(ascii: ":") {
            i += 1
            guard let sec = digits(b, &i, end, 2) else { return nil }
            second = sec
            frac = fraction(b, &i, end)
          }
          sawTime = true
        } else if n >= 3 || v > 31 {
          guard year == nil, n <= 4 else { return nil }
          year = v
          yearDigits = n
          yearFirst = day == nil && month == nil
        } else if day == nil {
          day = v
        } else if year == nil {
          year = v
          yearDigits = n
        } else if yearFirst && month == nil && third == nil {
          third = v  // "2006/09/15": year, month, day in numbers (Perforce)
        } else {
          return nil
        }
      } else if c == UInt8(ascii: "+") || (c == UInt8(ascii: "-") && sawTime) {
        guard sawTime, offset == nil || offset == 0 else { return nil }
        i += 1
        guard let off = numericOffset(b, &i, end, sign: c == UInt8(ascii: "-") ? -1 : 1) else {
          return nil
        }
        offset = off
      } else if c == UInt8(ascii: "(") {
        // A comment such as "(EST)" or "(Coordinated Universal Time)": ignored.
        while i < end && b[i] != UInt8(ascii: ")") { i += 1 }
        i += 1
      } else if c == UInt8(ascii: ",") || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
        || c == UInt8(ascii: "/") || isSpace(c)
      {
        i += 1
      } else if c == 0xC2 && i + 1 < end && b[i + 1] == 0xA0 {
        i += 2
      } else {
        return nil
      }
    }
    if let t = third {
      guard month == nil else { return nil }
      month = day
      day = t
    }
    guard var y = year, let m = month, let d = day else { return nil }
    if yearDigits <= 2 {
      y += y < 50 ? 2000 : 1900  // RFC 2822 §4.3
    } else if yearDigits == 3 {
      y += 1900
    }
    if let pm {
      guard sawTime, hour >= 1, hour <= 12 else { return nil }
      if pm && hour < 12 { hour += 12 }
      if !pm && hour == 12 { hour = 0 }
    }
    var f = DateFields(year: y, month: m, day: d, hour: hour, minute: minute, second: second)
    f.fraction = frac
    f.offset = offset
    return f.isValid ? f : nil
  }
}
