import XCTest

@testable import FeedParser

/// Written dates in the 24 EU languages through both date parsers, the ISO 8601 forms beyond
/// feedparser's rows (ordinal, week dates), zones and the odd forms of old CMSes.
final class DateNamesTests: XCTestCase {
  func testOrdinalAndWeekDates() {
    check("2004-366T10:00Z", utc(2004, 12, 31, 10))  // leap year
    check("031231T10:14:55Z", utc(2003, 12, 31, 10, 14, 55))
    check("2003-W01-1", utc(2002, 12, 30))  // ISO week 1 of 2003 starts in 2002
    check("2003W011", utc(2002, 12, 30))
    check("2003-W01", utc(2002, 12, 30))
    check("2009-W53-7", utc(2010, 1, 3))
    check("2020-W23-2T10:15:00+02:00", utc(2020, 6, 2, 8, 15))
    for bad in ["2003-367", "2003-W54-1", "-0313", "2013-01-27-01", "2006/09/15/01 08:19:53"] {
      XCTAssertNil(DateParser.parse(bad), bad)
    }
  }

  func testMoreZonesAndOddForms() {
    let base = utc(2004, 1, 4, 16, 29, 6)
    for (zone, hours) in [
      ("ET", -5), ("CT", -6), ("MT", -7), ("PT", -8), ("AT", -4), ("Etc/GMT", 0),
      ("Etc/GMT+5", -5), ("Etc/GMT-3", 3), ("Etc/UTC", 0),
    ] {
      check("Sun, 04 Jan 2004 16:29:06 \(zone)", base.addingTimeInterval(Double(-hours * 3600)))
    }
    check("2004070816:29:06", utc(2004, 7, 8, 16, 29, 6))  // Perl Date::Manip
    check("2004-07-08 23:56:58 -00:00", utc(2004, 7, 8, 23, 56, 58))
    check("Tue,02 Jun 2020 10:15:00GMT", utc(2020, 6, 2, 10, 15))
    check("02Jun2020 10:15", utc(2020, 6, 2, 10, 15))
    check("Tue, 02 Jun 20 10:15:00 EST", utc(2020, 6, 2, 15, 15))
    check("June 2, 2020 at 10:15 AM", utc(2020, 6, 2, 10, 15))
    check("2020/06/02 10:15:00 +0300", utc(2020, 6, 2, 7, 15))
    check("2004-05-25 오전 12:23:17", utc(2004, 5, 24, 15, 23, 17))
  }

  /// One written date per EU language, as news sites and CMSes print them: all are 2 June 2020
  /// 10:15 UTC, weekday included.
  static let euDates: [(String, String)] = [
    ("en", "Tuesday, 2 June 2020 10:15"),
    ("de", "Dienstag, 2. Juni 2020 10:15"),
    ("fr", "mardi 2 juin 2020 10:15"),
    ("es", "martes, 2 de junio de 2020 10:15"),
    ("it", "martedì 2 giugno 2020 10:15"),
    ("pt", "terça-feira, 2 de junho de 2020 10:15"),
    ("nl", "dinsdag 2 juni 2020 10:15"),
    ("pl", "wtorek, 2 czerwca 2020 10:15"),
    ("cs", "úterý 2. června 2020 10:15"),
    ("sk", "utorok 2. júna 2020 10:15"),
    ("sl", "torek, 2. junij 2020 10:15"),
    ("hr", "utorak, 2. lipnja 2020. 10:15"),
    ("lt", "antradienis, 2020 m. birželio 2 d. 10:15"),
    ("lv", "otrdiena, 2020. gada 2. jūnijs 10:15"),
    ("et", "teisipäev, 2. juuni 2020 10:15"),
    ("fi", "tiistai 2. kesäkuuta 2020 10:15"),
    ("sv", "tisdag 2 juni 2020 10:15"),
    ("da", "tirsdag den 2. juni 2020 10:15"),
    ("hu", "2020. június 2., kedd 10:15"),
    ("ro", "marți, 2 iunie 2020 10:15"),
    ("bg", "вторник, 2 юни 2020 г. 10:15"),
    ("el", "Τρίτη, 2 Ιουνίου 2020 10:15"),
    ("ga", "Dé Máirt, 2 Meitheamh 2020 10:15"),
    ("mt", "It-Tlieta, 2 ta’ Ġunju 2020 10:15"),
  ]

  func testWrittenDatesInAllEULanguages() {
    let expected = utc(2020, 6, 2, 10, 15)
    XCTAssertEqual(Set(Self.euDates.map(\.0)).count, 24)
    for (lang, text) in Self.euDates {
      check(text, expected)
      // Upper case and without diacritics too.
      check(DateNames.fold(text).uppercased(), expected)
      // Through the HTML scraper's parser with the page's language (a UTC page zone here).
      let local = LocaleDateParser.parse(text, locale: lang, format: nil, timeZone: .gmt)
      XCTAssertEqual(local, expected, "\(lang): \(text)")
    }
  }

  func testAbbreviationsAndGrammaticalCases() {
    let june = utc(2020, 6, 2)
    for text in [
      "2 cze 2020", "2. čvn 2020", "2 juin 2020", "Di, 02 Jun 2020", "mar, 02 jun 2020",
      "2 ιουν 2020", "2 Ιούν 2020", "2. júna 2020", "2 iun. 2020", "2. jún. 2020", "02 birž. 2020",
    ] {
      check(text, june)
    }
    check("1 stycznia 2020", utc(2020, 1, 1))
    check("1 styczeń 2020", utc(2020, 1, 1))
    check("1. ledna 2020", utc(2020, 1, 1))
    check("1 Ιανουαρίου 2020", utc(2020, 1, 1))
    check("1 Ιανουάριος 2020", utc(2020, 1, 1))
    check("1 Deireadh Fómhair 2020", utc(2020, 10, 1))
    // `listopad` is November in Polish and Czech, October in Croatian: the locale decides.
    check("1 listopada 2020", utc(2020, 11, 1))
    XCTAssertEqual(
      LocaleDateParser.parse("1. listopada 2020.", locale: "hr", format: nil, timeZone: .gmt),
      utc(2020, 10, 1))
    // `mar.` is Tuesday on a French page, not March.
    XCTAssertEqual(
      LocaleDateParser.parse("mar. 2 juin 2020", locale: "fr", format: nil, timeZone: .gmt),
      utc(2020, 6, 2))
    XCTAssertNil(DateParser.parse("2 blah 2020"))
    XCTAssertNil(DateParser.parse("Dienstag, 2020"))
  }
}
