import XCTest

@testable import FeedParser

/// Table-driven date forms: every case of Python feedparser's tests/test_date_parsers.py that it
/// parses, with the instant it gives (its tuples are UTC), plus the forms issue 13 names. Each row
/// is one form; a failure names the row.
final class DateFormsTests: XCTestCase {
  override func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  private func run(
    _ table: [(String, Date?)], file: StaticString = #filePath, line: UInt = #line
  ) {
    for (text, expected) in table {
      let parsed = DateParser.parse(text)
      guard let expected else {
        XCTAssertNil(
          parsed, "'\(text)' should not parse, got \(String(describing: parsed))",
          file: file, line: line)
        continue
      }
      guard let parsed else {
        XCTFail("'\(text)' did not parse", file: file, line: line)
        continue
      }
      XCTAssertEqual(
        parsed.timeIntervalSince1970, expected.timeIntervalSince1970, accuracy: 0.0005,
        "'\(text)' → \(parsed), expected \(expected)", file: file, line: line)
    }
  }

  /// feedparser's `_parse_date_greek`, `_hungarian`, `_nate`, `_onblog` and `_perforce` rows.
  func testFeedparserLocalisedForms() {
    run([
      ("Κυρ, 11 Ιούλ 2004 12:00:00 EST", utc(2004, 7, 11, 17)),
      ("2004-július-13T9:15-05:00", utc(2004, 7, 13, 14, 15)),
      ("2004-05-25 오후 11:23:17", utc(2004, 5, 25, 14, 23, 17)),
      ("2004년 05월 28일  01:31:15", utc(2004, 5, 27, 16, 31, 15)),
      ("2004년 05월 28일 01:31:15", utc(2004, 5, 27, 16, 31, 15)),
      ("2004-05-25 오전 11:23:17", utc(2004, 5, 25, 2, 23, 17)),
      ("Fri, 2006/09/15 08:19:53 EDT", utc(2006, 9, 15, 12, 19, 53)),
    ])
  }

  /// feedparser's `_parse_date_iso8601` rows: reduced, truncated and ordinal forms.
  func testFeedparserISO8601Forms() {
    run([
      ("-0312", utc(2003, 12, 1)),
      ("031231", utc(2003, 12, 31)),
      ("03-12-31", utc(2003, 12, 31)),
      ("-03-12", utc(2003, 12, 1)),
      ("03335", utc(2003, 12, 1)),
      ("03-335", utc(2003, 12, 1)),
      ("2003335", utc(2003, 12, 1)),
      ("2003-335", utc(2003, 12, 1)),
      ("2003-12-31T10:14:55.1234Z", utc(2003, 12, 31, 10, 14, 55).addingTimeInterval(0.1234)),
      ("2003-012-31T10:14:55+00:00", utc(2003, 12, 31, 10, 14, 55)),
    ])
  }

  /// feedparser's `_parse_date_rfc822` and `_parse_date_asctime` rows.
  func testFeedparserRFC822AndAsctimeForms() {
    run([
      ("Thu, 30 Apr 2015 08:57:00 MET", utc(2015, 4, 30, 7, 57)),
      ("Thu, 30 Apr 2015 08:57:00 MEST", utc(2015, 4, 30, 6, 57)),
      ("Thu, 01 Jan 04 19:48:21 GMT", utc(2004, 1, 1, 19, 48, 21)),
      ("Thu, 01 Jan 2004 19:48:21 GMT", utc(2004, 1, 1, 19, 48, 21)),
      ("Thu,  5 Apr 2012 10:00:00 GMT", utc(2012, 4, 5, 10)),
      ("Wed, 19 Aug 2009 18:28:00 Etc/GMT", utc(2009, 8, 19, 18, 28)),
      ("Wed, 19 Feb 2012 22:40:00 GMT-01:01", utc(2012, 2, 19, 23, 41)),
      ("Wed, 19 Feb 2012 22:40:00 -01:01", utc(2012, 2, 19, 23, 41)),
      ("Mon, 13 Feb, 2012 06:28:00 UTC", utc(2012, 2, 13, 6, 28)),
      ("Thu, 01 Jan 2004 00:00 GMT", utc(2004, 1, 1)),
      ("Thu, 01 Jan 2004", utc(2004, 1, 1)),
      ("Mon, 26 January 2004 16:31:00 AT", utc(2004, 1, 26, 20, 31)),
      ("Mon, 26 January 2004 16:31:00 ET", utc(2004, 1, 26, 21, 31)),
      ("Mon, 26 January 2004 16:31:00 CT", utc(2004, 1, 26, 22, 31)),
      ("Mon, 26 January 2004 16:31:00 MT", utc(2004, 1, 26, 23, 31)),
      ("Mon, 26 January 2004 16:31:00 PT", utc(2004, 1, 27, 0, 31)),
      ("Thu Aug 30 2012 17:26:16 +0200", utc(2012, 8, 30, 15, 26, 16)),
      ("Thu,Aug 30 2012 17:26:16 +0200", utc(2012, 8, 30, 15, 26, 16)),
      ("Sun Jan  4 16:29:06 2004", utc(2004, 1, 4, 16, 29, 6)),
      ("Sun Jul 15 01:16:00 +0000 2012", utc(2012, 7, 15, 1, 16)),
    ])
  }

  /// feedparser's `_parse_date_w3dtf` rows, MSSQL forms included.
  func testFeedparserW3CDTFForms() {
    run([
      ("2003-12-31T10:14:55Z", utc(2003, 12, 31, 10, 14, 55)),
      ("2003-12-31T10:14:55-08:00", utc(2003, 12, 31, 18, 14, 55)),
      ("2003-12-31T18:14:55+08:00", utc(2003, 12, 31, 10, 14, 55)),
      ("2007-04-23T23:25:47.538+10:00", utc(2007, 4, 23, 13, 25, 47).addingTimeInterval(0.538)),
      ("2003-12-31", utc(2003, 12, 31)),
      ("2003-12", utc(2003, 12, 1)),
      ("2003", utc(2003, 1, 1)),
      ("2004-02-28T18:14:55-08:00", utc(2004, 2, 29, 2, 14, 55)),
      ("2003-02-28T18:14:55-08:00", utc(2003, 3, 1, 2, 14, 55)),
      ("2000-02-28T18:14:55-08:00", utc(2000, 2, 29, 2, 14, 55)),
      ("2004-07-08 23:56:58 -00:20", utc(2004, 7, 9, 0, 16, 58)),
      ("2004-07-08 23:56:58", utc(2004, 7, 8, 23, 56, 58)),
      ("2004-07-08 23:56:58.0", utc(2004, 7, 8, 23, 56, 58)),
      ("2004-07-08 23:56:58.7", utc(2004, 7, 8, 23, 56, 58).addingTimeInterval(0.7)),
      ("2003-12-31T10:14:55-00:00", utc(2003, 12, 31, 10, 14, 55)),
    ])
  }

  /// The rows feedparser rejects, and garbage: no date, never "now".
  func testInvalidForms() {
    run([
      ("", nil),
      ("Sun, 16 Dec 2012 1:2:3:4 GMT", nil),
      ("Sun, 16 zzz 2012 11:47:32 GMT", nil),
      ("Sun, Dec x 2012 11:47:32 GMT", nil),
      ("Sun, 16 Dec zz 11:47:32 GMT", nil),
      ("Sun, 16 Dec 2012 11:47:32 +zz:00", nil),
      ("Sun, 16 Dec 2012 11:47:32 +00:zz", nil),
      ("Sun, 99 Jun 2009 12:00:00 GMT", nil),
      ("2003-12-31T25:14:55Z", nil),
      ("2003-12-31T10:61:55Z", nil),
      ("2003-12-31T10:14:61Z", nil),
      ("2013-xx-27", nil),
      ("2013-01-28T09:xx:00Z", nil),
      ("2013-01-28T09:00:00+00:xx", nil),
      ("013", nil),
      ("Sun, 31 Dec 9999 23:59:59 -9999", nil),
    ])
  }

  /// The zones issue 13 lists: US abbreviations with and without S/D, UT, GMT, Z, military
  /// letters (UTC: RFC 2822 §4.3), `Etc/GMT±n` with POSIX signs.
  func testZones() {
    let base = "Mon, 26 Jan 2004 16:31:00 "
    run([
      (base + "EST", utc(2004, 1, 26, 21, 31)), (base + "EDT", utc(2004, 1, 26, 20, 31)),
      (base + "CST", utc(2004, 1, 26, 22, 31)), (base + "CDT", utc(2004, 1, 26, 21, 31)),
      (base + "MST", utc(2004, 1, 26, 23, 31)), (base + "MDT", utc(2004, 1, 26, 22, 31)),
      (base + "PST", utc(2004, 1, 27, 0, 31)), (base + "PDT", utc(2004, 1, 26, 23, 31)),
      (base + "AST", utc(2004, 1, 26, 20, 31)), (base + "ADT", utc(2004, 1, 26, 19, 31)),
      (base + "UT", utc(2004, 1, 26, 16, 31)), (base + "GMT", utc(2004, 1, 26, 16, 31)),
      (base + "Z", utc(2004, 1, 26, 16, 31)), (base + "A", utc(2004, 1, 26, 16, 31)),
      (base + "Y", utc(2004, 1, 26, 16, 31)),
      (base + "Etc/GMT+5", utc(2004, 1, 26, 21, 31)),
      (base + "Etc/GMT-2", utc(2004, 1, 26, 14, 31)),
      ("Sun Jan 4 16:29:06 PST 2004", utc(2004, 1, 5, 0, 29, 6)),
      ("Sun Jan  4 16:29:06 EDT 2004", utc(2004, 1, 4, 20, 29, 6)),
    ])
  }

  /// Odd whitespace: tabs, newlines, runs of spaces, no-break space around the parts.
  func testOddWhitespace() {
    run([
      ("\n\t Thu, 01 Jan 2004 19:48:21 GMT \r\n", utc(2004, 1, 1, 19, 48, 21)),
      ("Thu,\t01\tJan\t2004\t19:48:21\tGMT", utc(2004, 1, 1, 19, 48, 21)),
      ("  2003-12-31T10:14:55Z  ", utc(2003, 12, 31, 10, 14, 55)),
      ("Thu, 01   Jan   2004   19:48:21   GMT", utc(2004, 1, 1, 19, 48, 21)),
    ])
  }

  /// One date per EU language, through the feed date parser (names with and without
  /// diacritics, full and abbreviated, genitive and nominative where the language has both).
  func testEULanguageMonthAndWeekdayNames() {
    let june2 = utc(2020, 6, 2, 10, 15)
    run([
      ("Tue, 02 Jun 2020 10:15:00 GMT", june2),  // en
      ("Di, 02 Juni 2020 10:15:00 GMT", june2),  // de
      ("mar., 02 juin 2020 10:15:00 GMT", june2),  // fr
      ("mar, 02 jun 2020 10:15:00 GMT", june2),  // es
      ("mar, 02 giu 2020 10:15:00 GMT", june2),  // it
      ("ter, 02 jun 2020 10:15:00 GMT", june2),  // pt
      ("di, 02 jun 2020 10:15:00 GMT", june2),  // nl
      ("wt, 02 czerwca 2020 10:15:00 GMT", june2),  // pl genitive
      ("02 czerwiec 2020 10:15:00 GMT", june2),  // pl nominative
      ("út, 02 června 2020 10:15:00 GMT", june2),  // cs
      ("ut, 02 cervna 2020 10:15:00 GMT", june2),  // cs without diacritics
      ("ut, 02 júna 2020 10:15:00 GMT", june2),  // sk
      ("tor, 02 junij 2020 10:15:00 GMT", june2),  // sl
      ("uto, 02 lipnja 2020 10:15:00 GMT", june2),  // hr genitive
      ("02 lipanj 2020 10:15:00 GMT", june2),  // hr nominative
      ("an, 02 birželio 2020 10:15:00 GMT", june2),  // lt
      ("02 birzelis 2020 10:15:00 GMT", june2),  // lt nominative, no diacritics
      ("otrd., 02 jūnijs 2020 10:15:00 GMT", june2),  // lv
      ("teisipäev, 02 juuni 2020 10:15:00 GMT", june2),  // et
      ("ti, 02 kesäkuuta 2020 10:15:00 GMT", june2),  // fi
      ("tis, 02 juni 2020 10:15:00 GMT", june2),  // sv
      ("tir, 02 juni 2020 10:15:00 GMT", june2),  // da
      ("2020-június-02T10:15Z", june2),  // hu
      ("kedd, 02 jún 2020 10:15:00 GMT", june2),  // hu abbreviated
      ("ma, 02 iunie 2020 10:15:00 GMT", june2),  // ro
      ("вт, 02 юни 2020 10:15:00 GMT", june2),  // bg
      ("Τρί, 02 Ιουνίου 2020 10:15:00 GMT", june2),  // el genitive
      ("Τρι, 02 Ιουν 2020 10:15:00 GMT", june2),  // el abbreviated without accent
      ("Máirt, 02 Meitheamh 2020 10:15:00 GMT", june2),  // ga
      ("02 Meán Fómhair 2020 10:15:00 GMT", utc(2020, 9, 2, 10, 15)),  // ga, two words
      ("Tlieta, 02 Ġunju 2020 10:15:00 GMT", june2),  // mt
    ])
  }

  /// The fast path stays the fast path: the common forms parse without the uncommon scanner
  /// (measured: they must not get slower than a microsecond-scale budget in a tight loop).
  func testCommonFormsStillParseThroughTheScanner() {
    for text in ["Tue, 02 Jun 2020 10:15:00 GMT", "2020-06-02T10:15:00Z"] {
      var copy = text
      let fields = copy.withUTF8 { DateScanner.scan($0, allowMilitaryZones: true) }
      XCTAssertNotNil(fields, text)
    }
  }
}
