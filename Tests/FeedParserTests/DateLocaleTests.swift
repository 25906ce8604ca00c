import XCTest

@testable import FeedParser

final class DateLocaleTests: XCTestCase {
  override func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  private let vilnius = TimeZone(identifier: "Europe/Vilnius")!

  private func check(
    _ text: String, locale: String = "lt", format: String? = nil, zone: TimeZone? = nil,
    _ expected: Date, file: StaticString = #filePath, line: UInt = #line
  ) {
    guard
      let parsed = LocaleDateParser.parse(
        text, locale: locale, format: format, timeZone: zone ?? vilnius)
    else {
      XCTFail("'\(text)' did not parse", file: file, line: line)
      return
    }
    XCTAssertEqual(parsed, expected, "'\(text)' → \(parsed)", file: file, line: line)
  }

  // Summer dates in Vilnius are EEST (UTC+3): local midnight of 2 June 2020 is 1 June 21:00 UTC.
  func testLithuanianGenitiveForms() {
    let expected = utc(2020, 6, 1, 21)
    check("02 birželio d., 2020", expected)
    check("2 birželio, 2020", expected)
    check("2020 m. birželio 2 d.", expected)
    check("2020 m. birželio 02 d.", expected)
    check("2020 birželio 2", expected)
    check("2020-06-02", expected)
    check("Birželio 2 d., 2020", expected)
    check("BIRŽELIO 2 D. 2020 M.", expected)
  }

  func testLithuanianWithoutDiacritics() {
    check("02 birzelio d., 2020", utc(2020, 6, 1, 21))
    check("2020 m. rugsejo 1 d.", utc(2020, 8, 31, 21))
  }

  func testLithuanianNominative() {
    check("2020 m. birželis 2 d.", utc(2020, 6, 1, 21))
    check("2021 gruodis 24", utc(2021, 12, 23, 22))  // winter: EET (UTC+2)
  }

  func testAllTwelveLithuanianMonths() {
    let genitive = [
      "sausio", "vasario", "kovo", "balandžio", "gegužės", "birželio", "liepos", "rugpjūčio",
      "rugsėjo", "spalio", "lapkričio", "gruodžio",
    ]
    let nominative = [
      "sausis", "vasaris", "kovas", "balandis", "gegužė", "birželis", "liepa", "rugpjūtis",
      "rugsėjis", "spalis", "lapkritis", "gruodis",
    ]
    for month in 1...12 {
      // 15th of the month at local noon, converted with Foundation's zone data.
      var calendar = Calendar(identifier: .gregorian)
      calendar.timeZone = vilnius
      let expected = calendar.date(
        from: DateComponents(year: 2019, month: month, day: 15, hour: 12))!
      check("2019 m. \(genitive[month - 1]) 15 d. 12:00", expected)
      check("15 \(nominative[month - 1]) 2019 12:00", expected)
    }
  }

  func testWinterDatesUseEET() {
    check("2020 m. sausio 15 d.", utc(2020, 1, 14, 22))
    check("15.01.2020", utc(2020, 1, 14, 22))
  }

  func testTimesAndDSTInVilnius() {
    check("2020-06-02 10:15", utc(2020, 6, 2, 7, 15))
    check("02 birželio d., 2020 10:15", utc(2020, 6, 2, 7, 15))
    check("2020 m. birželio 2 d. 23:59", utc(2020, 6, 2, 20, 59))
    // Clocks go forward at 03:00 local on 29 March 2020 (01:00 UTC).
    check("2020-03-29 02:30", utc(2020, 3, 29, 0, 30))
    check("2020-03-29 05:00", utc(2020, 3, 29, 2, 0))
    // And back at 04:00 local on 25 October 2020.
    check("2020-10-25 12:00", utc(2020, 10, 25, 10, 0))
    check("2020-10-24 12:00", utc(2020, 10, 24, 9, 0))
  }

  func testExplicitZoneWins() {
    check("2020-06-02T10:15:00Z", utc(2020, 6, 2, 10, 15))
    check("2020-06-02T10:15:00+02:00", utc(2020, 6, 2, 8, 15))
    check("Tue, 02 Jun 2020 10:15:00 EEST", utc(2020, 6, 2, 7, 15))
  }

  func testEnglishForms() {
    check("July 18 d., 2017", locale: "en", utc(2017, 7, 17, 21))
    check("2017 August 23 d.", locale: "en", utc(2017, 8, 22, 21))
    check("18 July 2017", locale: "en", utc(2017, 7, 17, 21))
    check("July 18, 2017", locale: "en", utc(2017, 7, 17, 21))
    check("Jul 18, 2017", locale: "en", utc(2017, 7, 17, 21))
    check("18th July 2017", locale: "en", utc(2017, 7, 17, 21))
    // English month names work on a Lithuanian-locale page too.
    check("July 18 d., 2017", locale: "lt", utc(2017, 7, 17, 21))
  }

  func testGermanAndFrench() {
    check("2. Juni 2020", locale: "de", utc(2020, 6, 1, 21))
    check("2. März 2020", locale: "de", utc(2020, 3, 1, 22))
    check("2 juin 2020", locale: "fr", utc(2020, 6, 1, 21))
    check("1er février 2020", locale: "fr", utc(2020, 1, 31, 22))
  }

  /// The scraper's locale dates in every EU language (midnight of 2 June 2020 in Vilnius is
  /// 1 June 21:00 UTC), as news pages write them: genitive forms, `de`, `d.`, ordinals, dots.
  func testEveryEULanguageOnAPage() {
    let june2 = utc(2020, 6, 1, 21)
    let cases: [(String, String)] = [
      ("en", "2 June 2020"), ("de", "2. Juni 2020"), ("fr", "2 juin 2020"),
      ("es", "2 de junio de 2020"), ("it", "2 giugno 2020"), ("pt", "2 de junho de 2020"),
      ("nl", "2 juni 2020"), ("pl", "2 czerwca 2020"), ("cs", "2. června 2020"),
      ("sk", "2. júna 2020"), ("sl", "2. junij 2020"), ("hr", "2. lipnja 2020."),
      ("lt", "2020 m. birželio 2 d."), ("lv", "2020. gada 2. jūnijs"), ("et", "2. juuni 2020"),
      ("fi", "2. kesäkuuta 2020"), ("sv", "2 juni 2020"), ("da", "2. juni 2020"),
      ("hu", "2020. június 2."), ("ro", "2 iunie 2020"), ("bg", "2 юни 2020 г."),
      ("el", "2 Ιουνίου 2020"), ("ga", "2 Meitheamh 2020"), ("mt", "2 ta' Ġunju 2020"),
    ]
    for (locale, text) in cases {
      check(text, locale: locale, june2)
    }
    // Without diacritics, and the ambiguous `listopad` (November in Polish, October in
    // Croatian) resolved by the page's locale.
    check("2 cervna 2020", locale: "cs", june2)
    check("2 listopada 2020", locale: "pl", utc(2020, 11, 1, 22))
    check("2. listopada 2020.", locale: "hr", utc(2020, 10, 1, 21))
  }

  func testNumericForms() {
    check("02.06.2020", utc(2020, 6, 1, 21))
    check("2.6.2020", utc(2020, 6, 1, 21))
    check("2020.06.02", utc(2020, 6, 1, 21))
    check("2020/06/02", utc(2020, 6, 1, 21))
    check("02/06/2020", utc(2020, 6, 1, 21))  // day first outside English
    check("06/02/2020", locale: "en", utc(2020, 6, 1, 21))  // month first in English
    check("Paskelbta: 02.06.2020 10:15", utc(2020, 6, 2, 7, 15))
  }

  func testExplicitFormat() {
    check("02/06/2020", format: "dd/MM/yyyy", utc(2020, 6, 1, 21))
    check("2020-06-02 10:15", format: "yyyy-MM-dd HH:mm", utc(2020, 6, 2, 7, 15))
    check("2020 m. birželio 2 d.", format: "yyyy 'm.' MMMM d 'd.'", utc(2020, 6, 1, 21))
    check("06|02|20 10:15", format: "MM|dd|yy HH:mm", utc(2020, 6, 2, 7, 15))
    // A pattern that does not match falls back to the usual forms.
    check("2020-06-02", format: "dd.MM.yyyy", utc(2020, 6, 1, 21))
  }

  func testOtherZone() {
    let berlin = TimeZone(identifier: "Europe/Berlin")!
    check("2020-06-02 10:15", zone: berlin, utc(2020, 6, 2, 8, 15))
    XCTAssertEqual(
      LocaleDateParser.parse(
        "2020-06-02", locale: "lt", format: nil, timeZoneIdentifier: "America/New_York"),
      utc(2020, 6, 2, 4))
  }

  func testUnparseable() {
    for bad in [
      "", "Komentarai (5)", "prieš 2 val.", "birželio 2 d.", "32 birželio 2020", "2020-13-45",
    ] {
      XCTAssertNil(LocaleDateParser.parse(bad, locale: "lt", format: nil, timeZone: vilnius), bad)
    }
  }
}
