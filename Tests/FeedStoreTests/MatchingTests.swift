import FeedStore
import XCTest

final class CanonicalURLTests: XCTestCase {
  func c(_ s: String) -> String? { StoryMatching.canonicalURL(s) }

  func testSchemeAndHostCase() {
    XCTAssertEqual(c("HTTPS://WWW.Example.COM/News/A"), c("https://www.example.com/News/A"))
    // The path stays case-sensitive.
    XCTAssertNotEqual(c("https://example.com/News/A"), c("https://example.com/news/a"))
  }

  func testHTTPAndHTTPSAreOneStory() {
    XCTAssertEqual(c("http://example.com/a"), c("https://example.com/a"))
  }

  func testDefaultPortDropped() {
    XCTAssertEqual(c("https://example.com:443/a"), c("https://example.com/a"))
    XCTAssertEqual(c("http://example.com:80/a"), c("http://example.com/a"))
    XCTAssertNotEqual(c("https://example.com:8443/a"), c("https://example.com/a"))
  }

  func testTrackingParametersDropped() {
    let base = c("https://example.com/a?id=5")
    for p in [
      "utm_source=x", "utm_medium=rss", "UTM_Campaign=y", "fbclid=abc", "gclid=1", "mc_cid=2",
      "mc_eid=3", "yclid=4", "_ga=5", "ref=rss", "msclkid=9",
    ] {
      XCTAssertEqual(c("https://example.com/a?id=5&\(p)"), base, p)
      XCTAssertEqual(c("https://example.com/a?\(p)&id=5"), base, p)
    }
    XCTAssertEqual(c("https://example.com/a?utm_source=x"), c("https://example.com/a"))
  }

  func testRemainingParametersSorted() {
    XCTAssertEqual(c("https://example.com/a?b=2&a=1"), c("https://example.com/a?a=1&b=2"))
    XCTAssertNotEqual(c("https://example.com/a?a=1"), c("https://example.com/a?a=2"))
  }

  func testFragmentDropped() {
    XCTAssertEqual(c("https://example.com/a#comments"), c("https://example.com/a"))
  }

  func testTrailingSlashAndIndexFiles() {
    XCTAssertEqual(c("https://example.com/a/"), c("https://example.com/a"))
    XCTAssertEqual(c("https://example.com/a/index.html"), c("https://example.com/a"))
    XCTAssertEqual(c("https://example.com/a/index.php"), c("https://example.com/a"))
    XCTAssertEqual(c("https://example.com/"), c("https://example.com"))
    XCTAssertNotEqual(c("https://example.com/a/page.html"), c("https://example.com/a"))
  }

  func testNonHTTPIsNil() {
    XCTAssertNil(c("mailto:a@example.com"))
    XCTAssertNil(c("not a url"))
    XCTAssertNil(c(""))
  }
}

final class FingerprintTests: XCTestCase {
  func testLithuanianTokensFoldCaseAndDiacriticsButStayWhole() {
    XCTAssertEqual(
      StoryMatching.tokens("Ąžuolų ŠVENTĖ Kėdainiuose: „įspūdinga“!"),
      ["azuolu", "svente", "kedainiuose", "ispudinga"])
    XCTAssertEqual(
      StoryMatching.tokens("Lietuvos bankas – palūkanos"),
      StoryMatching.tokens("lietuvos BANKAS, palukanos"))
  }

  func testHammingAndJaccard() {
    XCTAssertEqual(StoryMatching.hamming(0b1011, 0b0001), 2)
    XCTAssertEqual(StoryMatching.jaccard(["a", "b"], ["b", "c"]), 1.0 / 3.0, accuracy: 1e-9)
  }

  func testSameStoryDifferentPunctuationIsTheSame() {
    let lead = "Vilniuje vyko kasmetinis narių susirinkimas, kuriame išrinkta nauja valdyba."
    let a = StoryMatching.fingerprint(title: "Rūmų narių susirinkimas – nauja valdyba", lead: lead)
    let b = StoryMatching.fingerprint(title: "Rūmų narių susirinkimas: nauja valdyba!", lead: lead)
    XCTAssertEqual(a.simhash, b.simhash)
    XCTAssertTrue(StoryMatching.sameStory(a, b))
  }

  func testUnrelatedTextsAreFar() {
    let a = StoryMatching.fingerprint(
      title: "Energy ministers meet in Vilnius",
      lead: "Ministers from the Baltic states agreed on a new grid synchronisation timetable.")
    let b = StoryMatching.fingerprint(
      title: "Local football club wins the cup",
      lead: "The final was decided by a penalty shoot-out after a goalless draw in Kaunas.")
    XCTAssertGreaterThan(StoryMatching.hamming(a.simhash, b.simhash), 15)
    XCTAssertFalse(StoryMatching.sameStory(a, b))
  }
}

final class NearDuplicateRuleTests: XCTestCase {
  /// Generated stories that differ only in the subject word of title and lead (the publisher
  /// tests' fixtures) are different stories.
  func testOneWordDifferentShortStoriesAreNotTheSame() {
    for i in 0..<30 {
      let a = StoryMatching.fingerprint(
        title: "ict story number \(i) about something distinct \(i * 7919)",
        lead: "<p>Lead text ict \(i) \(i * 104729)</p>", leadIsHTML: true)
      let b = StoryMatching.fingerprint(
        title: "eccp story number \(i) about something distinct \(i * 7919)",
        lead: "<p>Lead text eccp \(i) \(i * 104729)</p>", leadIsHTML: true)
      XCTAssertFalse(
        StoryMatching.sameStory(a, b),
        "i=\(i) distance \(StoryMatching.hamming(a.simhash, b.simhash))")
    }
  }
}
