import XCTest

@testable import LanguageDetection

final class LanguageDetectionTests: XCTestCase {
  static let english =
    "The cluster brings together manufacturers and research institutes to develop new laser "
    + "technologies for the automotive industry, and invites members to the annual meeting."
  static let lithuanian =
    "Klasteris vienija gamintojus ir mokslo institutus, kurie kartu kuria naujas lazerių "
    + "technologijas automobilių pramonei, ir kviečia narius į metinį susirinkimą."
  static let german =
    "Der Cluster bringt Hersteller und Forschungsinstitute zusammen, um neue Lasertechnologien "
    + "für die Automobilindustrie zu entwickeln, und lädt die Mitglieder zur Jahrestagung ein."
  static let latvian =
    "Klasteris apvieno ražotājus un pētniecības institūtus, lai izstrādātu jaunas lāzeru "
    + "tehnoloģijas autobūves nozarei, un aicina biedrus uz ikgadējo sanāksmi."
  static let russian =
    "Кластер объединяет производителей и научные институты для разработки новых лазерных "
    + "технологий для автомобильной промышленности и приглашает участников на ежегодное собрание."

  override func setUpWithError() throws {
    try XCTSkipUnless(
      LanguageDetector.shared.isAvailable || ProcessInfo.processInfo.environment["CI"] == "true",
      "libexttextcat-data is not installed")
  }

  func testDetectsLanguagesOfTheNetwork() {
    let d = LanguageDetector.shared
    XCTAssertEqual(d.detect(Self.english), "en")
    XCTAssertEqual(d.detect(Self.lithuanian), "lt")
    XCTAssertEqual(d.detect(Self.german), "de")
    XCTAssertEqual(d.detect(Self.latvian), "lv")
    XCTAssertEqual(d.detect(Self.russian), "ru")
  }

  func testTooShortIsUnknown() {
    XCTAssertNil(LanguageDetector.shared.detect("Hello"))
    XCTAssertNil(LanguageDetector.shared.detect("2026-03-01 12:00 — 42 %"))
    XCTAssertNil(LanguageDetector.shared.detect(""))
  }

  func testConfidentTag() {
    XCTAssertEqual(LanguageDetector.confidentTag([("en", 1000)]), "en")
    XCTAssertEqual(LanguageDetector.confidentTag([("no", 1000), ("no", 1001)]), "no")
    XCTAssertEqual(LanguageDetector.confidentTag([("lt", 1000), ("lv", 1020)]), "lt")
    XCTAssertNil(LanguageDetector.confidentTag([("lt", 1000), ("lv", 1005)]))
    XCTAssertNil(LanguageDetector.confidentTag([]))
  }

  /// Lithuanian and Latvian share much; a clearly Lithuanian lead must still come out `lt`.
  func testLithuanianIsNotLatvian() {
    XCTAssertEqual(
      LanguageDetector.shared.detect(
        "Klasteris prisijungė prie Europos platformos. " + Self.lithuanian), "lt")
    XCTAssertEqual(
      LanguageDetector.shared.detect("Renginys vyks rytoj Kaune, registracija jau prasidėjo"), "lt")
  }

  func testMissingFingerprintsAnswerNil() {
    let d = LanguageDetector(dataDirectory: "/nonexistent/textcat")
    XCTAssertFalse(d.isAvailable)
    XCTAssertNil(d.detect(Self.english))
  }

  func testConcurrentUse() async {
    let texts = [Self.english, Self.lithuanian, Self.german, Self.latvian]
    let expected = ["en", "lt", "de", "lv"]
    await withTaskGroup(of: Bool.self) { group in
      for k in 0..<40 {
        group.addTask {
          LanguageDetector.shared.detect(texts[k % 4]) == expected[k % 4]
        }
      }
      for await ok in group { XCTAssertTrue(ok) }
    }
  }
}
