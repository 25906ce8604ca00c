import CLibXML2
import XCTest

@testable import FeedParser

/// UTC instant from calendar fields, computed by Foundation's calendar (independent of the scanner).
func utc(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0) -> Date {
  var calendar = Calendar(identifier: .gregorian)
  calendar.timeZone = TimeZone(identifier: "UTC")!
  return calendar.date(
    from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: s))!
}

/// Asserts that `DateParser` reads `text` as `expected` (to the millisecond); shared by the date
/// test classes.
func check(
  _ text: String, _ expected: Date, file: StaticString = #filePath, line: UInt = #line
) {
  guard let parsed = DateParser.parse(text) else {
    XCTFail("'\(text)' did not parse", file: file, line: line)
    return
  }
  XCTAssertEqual(
    parsed.timeIntervalSince1970, expected.timeIntervalSince1970, accuracy: 0.0005,
    "'\(text)' → \(parsed)", file: file, line: line)
}

final class DateParserTests: XCTestCase {
  override func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  func testHelperMatchesKnownEpoch() {
    XCTAssertEqual(utc(2020, 6, 2, 10, 15, 0).timeIntervalSince1970, 1_591_092_900)
    XCTAssertEqual(DateParser.parse("2020-06-02T10:15:00Z")?.timeIntervalSince1970, 1_591_092_900)
  }

  func testRFC822Canonical() {
    check("Tue, 02 Jun 2020 10:15:00 GMT", utc(2020, 6, 2, 10, 15))
    check("Tue, 02 Jun 2020 10:15:00 +0000", utc(2020, 6, 2, 10, 15))
    check("Tue, 02 Jun 2020 10:15:00 +0200", utc(2020, 6, 2, 8, 15))
    check("Tue, 02 Jun 2020 10:15:00 -0500", utc(2020, 6, 2, 15, 15))
    check("Tue, 02 Jun 2020 10:15:00 +02:00", utc(2020, 6, 2, 8, 15))
    check("Tue, 02 Jun 2020 10:15:00 +0530", utc(2020, 6, 2, 4, 45))
  }

  func testRFC822BrokenVariants() {
    check("Tue, 2 Jun 2020 10:15:00 GMT", utc(2020, 6, 2, 10, 15))  // one-digit day
    check("02 Jun 2020 10:15 +0300", utc(2020, 6, 2, 7, 15))  // no weekday, no seconds
    check("Tue, 02 Jun 20 10:15:00 GMT", utc(2020, 6, 2, 10, 15))  // two-digit year
    check("Thu, 02 Jun 99 10:15:00 GMT", utc(1999, 6, 2, 10, 15))  // 19xx
    check("Mon, 02 Jun 2020 10:15:00 GMT", utc(2020, 6, 2, 10, 15))  // wrong weekday
    check("Tuesday, 02 June 2020 10:15:00 GMT", utc(2020, 6, 2, 10, 15))  // full names
    check("Tue,  02  Jun  2020  10:15:00  GMT", utc(2020, 6, 2, 10, 15))  // extra spaces
    check("Tue, 02 Jun, 2020, 10:15:00 GMT", utc(2020, 6, 2, 10, 15))  // extra commas
    check("Tue 02 Jun 2020 10:15:00 GMT", utc(2020, 6, 2, 10, 15))  // no comma
    check("  Tue, 02 Jun 2020 10:15:00 GMT\n", utc(2020, 6, 2, 10, 15))  // whitespace around
    check("tue, 02 jun 2020 10:15:00 gmt", utc(2020, 6, 2, 10, 15))  // lowercase
    check("02 Jun 2020", utc(2020, 6, 2))  // no time at all
    check("Tuesday, 02-Jun-20 10:15:00 GMT", utc(2020, 6, 2, 10, 15))  // RFC 850
    check("Tue, 02 Sept 2020 10:15:00 GMT", utc(2020, 9, 2, 10, 15))
    check("Tue, 02 Jun 2020 10:15:00", utc(2020, 6, 2, 10, 15))  // no zone → UTC
    check("Tue, 02 Jun 2020 10:15:00 +0000 (UTC)", utc(2020, 6, 2, 10, 15))  // comment
    check("Tue, 02 Jun 2020 10:15:00 GMT+0200", utc(2020, 6, 2, 8, 15))
    check("Tue, 02 Jun 2020 10:15:00.250 GMT", utc(2020, 6, 2, 10, 15).addingTimeInterval(0.25))
    check("June 2, 2020 10:15 pm", utc(2020, 6, 2, 22, 15))
    check("Sat, 30 May 2020 8:05 AM GMT", utc(2020, 5, 30, 8, 5))
    check("Sat, 30 May 2020 12:05 AM GMT", utc(2020, 5, 30, 0, 5))
    check("Tue, 02 Jun 2020 10:15:00 +0200 (CEST)", utc(2020, 6, 2, 8, 15))
    check("Tue, 02 Jun 2020 10:15:00 GMT+2", utc(2020, 6, 2, 8, 15))
    check("Tue, 02 Jun 2020 10:15:00 UTC-05:00", utc(2020, 6, 2, 15, 15))
  }

  func testNamedZones() {
    let base = utc(2020, 6, 2, 10, 15)
    let zones: [(String, Double)] = [
      ("GMT", 0), ("UT", 0), ("UTC", 0), ("Z", 0), ("EST", -5), ("EDT", -4), ("CST", -6),
      ("CDT", -5), ("MST", -7), ("MDT", -6), ("PST", -8), ("PDT", -7), ("CET", 1), ("CEST", 2),
      ("EET", 2), ("EEST", 3), ("BST", 1), ("WET", 0), ("WEST", 1), ("MSK", 3),
    ]
    for (name, hours) in zones {
      check("Tue, 02 Jun 2020 10:15:00 \(name)", base.addingTimeInterval(-hours * 3600))
    }
  }

  func testMilitaryLettersCountAsUTC() {
    // RFC 2822 §4.3: the letters other than Z carry no reliable offset.
    check("Tue, 02 Jun 2020 10:15:00 A", utc(2020, 6, 2, 10, 15))
    check("Tue, 02 Jun 2020 10:15:00 Y", utc(2020, 6, 2, 10, 15))
    XCTAssertNil(DateParser.parse("Tue, 02 Jun 2020 10:15:00 J"))
  }

  func testRFC3339AndW3CDTF() {
    check("2020-06-02T10:15:00Z", utc(2020, 6, 2, 10, 15))
    check("2020-06-02T10:15:00+03:00", utc(2020, 6, 2, 7, 15))
    check("2020-06-02T10:15:00-05:00", utc(2020, 6, 2, 15, 15))
    check("2020-06-02T10:15:00.123456Z", utc(2020, 6, 2, 10, 15).addingTimeInterval(0.123456))
    check("2020-06-02t10:15:00z", utc(2020, 6, 2, 10, 15))  // lowercase t and z
    check("2020-06-02 10:15:00Z", utc(2020, 6, 2, 10, 15))  // space for T
    check("2020-06-02T10:15Z", utc(2020, 6, 2, 10, 15))  // no seconds
    check("2020-06-02T10:15+02:00", utc(2020, 6, 2, 8, 15))
    check("2020-06-02T10:15:00+0300", utc(2020, 6, 2, 7, 15))
    check("2020-06-02T10:15:00", utc(2020, 6, 2, 10, 15))  // no zone → UTC
    check("2020-06-02 10:15:00 EEST", utc(2020, 6, 2, 7, 15))
    check("2020-06-02 10:15:00 UTC", utc(2020, 6, 2, 10, 15))
    check("2020-06-02T10:15:00 +02:00", utc(2020, 6, 2, 8, 15))
    check("2020-06-02T10:15:00,5Z", utc(2020, 6, 2, 10, 15).addingTimeInterval(0.5))
    check("2020-06-02", utc(2020, 6, 2))
    check("2020-06", utc(2020, 6, 1))
    check("2020", utc(2020, 1, 1))
    check("2020-02-29T23:59:60Z", utc(2020, 3, 1))  // leap second rolls over
  }

  func testISO8601Basic() {
    check("20200602T101500Z", utc(2020, 6, 2, 10, 15))
    check("20200602T1015Z", utc(2020, 6, 2, 10, 15))
    check("20200602T101500+0300", utc(2020, 6, 2, 7, 15))
    check("20200602", utc(2020, 6, 2))
  }

  func testAsctime() {
    check("Tue Jun  2 10:15:00 2020", utc(2020, 6, 2, 10, 15))
    check("Tue Jun 02 10:15:00 2020", utc(2020, 6, 2, 10, 15))
  }

  func testRejectsGarbageNeverNow() {
    for bad in [
      "", "   ", "yesterday", "not a date", "2020-13-01", "2020-02-30", "2019-02-29T00:00:00Z",
      "Tue, 32 Jun 2020 10:15:00 GMT", "Tue, 02 Foo 2020 10:15:00 GMT", "2020-06-02T25:00:00Z",
      "2020-06-02T10:61:00Z", "2020-06-02T10:15:00+25:00", "02 Jun", "Jun 2020", "12:30",
      "2020-06-02Tfoo", "Tue, 02 Jun 2020 10:15:00 XYZ",
    ] {
      XCTAssertNil(DateParser.parse(bad), "'\(bad)' should not parse")
    }
  }
}
