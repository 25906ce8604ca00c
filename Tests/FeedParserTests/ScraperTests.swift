import FeedModel
import TestSupport
import XCTest

@testable import FeedParser

final class ScraperTests: XCTestCase {
  override func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  private func fixture(_ name: String) throws -> Data {
    try Data(contentsOf: TestSupport.fixture("FeedParserTests", "html/\(name)"))
  }

  private let pageURL = URL(string: "https://klaster.lt/naujienos/")!

  private let wordpress = HTMLSelectors(
    item: "//article", title: ".//h2", link: ".//h2/a/@href",
    date: ".//time | .//*[contains(@class,'date')]",
    summary: ".//div[contains(@class,'entry-summary')]", author: ".//*[contains(@class,'author')]",
    categories: ".//a[@rel='category tag']")

  private func checkLithuanianListing(_ result: ScrapeResult, encoding: String) {
    XCTAssertEqual(result.warnings, [])
    let parsed = result.parsed
    XCTAssertEqual(parsed.format, .html)
    XCTAssertEqual(parsed.encoding, encoding)
    XCTAssertEqual(parsed.feed.title, "Naujienos – Klasteris LT")
    XCTAssertEqual(parsed.feed.link, "https://klaster.lt/naujienos/")
    XCTAssertEqual(parsed.feed.language, "lt-LT")
    let entries = parsed.feed.entries
    XCTAssertEqual(entries.count, 3)
    guard entries.count == 3 else { return }

    XCTAssertEqual(entries[0].title, "Klasterių forumas Vilniuje")
    XCTAssertEqual(entries[0].link, "https://klaster.lt/2020/06/02/klasteriu-forumas/")
    XCTAssertEqual(entries[0].id, "https://klaster.lt/2020/06/02/klasteriu-forumas/")
    XCTAssertEqual(entries[0].published, utc(2020, 6, 1, 21))  // local midnight, EEST
    XCTAssertEqual(
      entries[0].summary,
      .text(
        "Birželio pradžioje Vilniuje įvyko kasmetinis klasterių forumas, kuriame dalyvavo daugiau nei 200 dalyvių iš visos Lietuvos"
      ))
    XCTAssertEqual(entries[0].authors, [Person(name: "Rūta Petraitė")])
    XCTAssertEqual(entries[0].categories.map(\.term), ["Renginiai", "Klasteriai"])

    XCTAssertEqual(entries[1].title, "Inovacijų čekiai & parama")
    XCTAssertEqual(entries[1].link, "https://klaster.lt/2020/05/15/inovaciju-cekiai/")
    XCTAssertEqual(entries[1].published, utc(2020, 5, 14, 21))
    XCTAssertEqual(
      entries[1].summary,
      .text("Agentūra paskelbė naują kvietimą teikti paraiškas inovacijų čekiams gauti"))
    XCTAssertEqual(entries[1].categories.map(\.term), ["Finansavimas"])

    XCTAssertEqual(entries[2].title, "Žiemos seminaras")
    XCTAssertEqual(entries[2].published, utc(2020, 1, 19, 22))  // winter: EET
    XCTAssertEqual(entries[2].summary, .text("Seminaras apie eksporto rinkas."))
    XCTAssertEqual(entries[2].authors, [])
    XCTAssertEqual(entries[2].categories, [])
  }

  func testLithuanianWordPressListing() throws {
    let result = try HTMLScraper.scrape(
      fixture("lt-wordpress.html"), contentType: "text/html", pageURL: pageURL, selectors: wordpress
    )
    checkLithuanianListing(result, encoding: "utf-8")
  }

  func testWindows1257FromMetaCharset() throws {
    let result = try HTMLScraper.scrape(
      fixture("lt-windows1257.html"), contentType: "text/html", pageURL: pageURL,
      selectors: wordpress)
    checkLithuanianListing(result, encoding: "windows-1257")
  }

  func testWindows1257FromHTTPCharset() throws {
    let result = try HTMLScraper.scrape(
      fixture("lt-windows1257-nometa.html"), contentType: "text/html; charset=Windows-1257",
      pageURL: pageURL, selectors: wordpress)
    checkLithuanianListing(result, encoding: "windows-1257")
  }

  func testUndeclaredLegacyBytesOnALithuanianPage() throws {
    // No HTTP charset, no meta: not UTF-8 and lang="lt-LT", so windows-1257 (as browsers in
    // Lithuania default to).
    let result = try HTMLScraper.scrape(
      fixture("lt-windows1257-nometa.html"), pageURL: pageURL, selectors: wordpress)
    checkLithuanianListing(result, encoding: "windows-1257")
  }

  func testSanitizerIsThreadSafe() {
    final class Failures: @unchecked Sendable {
      let lock = NSLock()
      var count = 0
      func add() {
        lock.lock()
        count += 1
        lock.unlock()
      }
    }
    let page = pageURL
    let html = "<p>Ąžuolas <a href=\"/x\">x</a><script>bad()</script><img data-src=\"/i.jpg\"></p>"
    let expected = HTMLSanitizer.sanitize(html, baseURL: page)
    let failures = Failures()
    DispatchQueue.concurrentPerform(iterations: 64) { _ in
      for _ in 0..<50 where HTMLSanitizer.sanitize(html, baseURL: page) != expected {
        failures.add()
      }
    }
    XCTAssertEqual(
      expected,
      "<p>Ąžuolas <a href=\"https://klaster.lt/x\">x</a><img src=\"https://klaster.lt/i.jpg\"/></p>"
    )
    XCTAssertEqual(failures.count, 0)
  }

  func testEnglishTwin() throws {
    var selectors = HTMLSelectors(
      item: "//div[@class='news-item']", title: ".//h3", link: ".//h3/a",
      date: ".//*[@class='date']", summary: ".//p[@class='lead']")
    selectors.dateLocale = "en"
    let result = try HTMLScraper.scrape(
      fixture("en-wordpress.html"), pageURL: URL(string: "https://klaster.lt/en/news/")!,
      selectors: selectors)
    XCTAssertEqual(result.warnings, [])
    XCTAssertEqual(result.parsed.feed.title, "News | Cluster LT")
    let entries = result.parsed.feed.entries
    XCTAssertEqual(
      entries.map(\.title), ["Cluster forum in Vilnius", "Innovation vouchers", "Export seminar"])
    XCTAssertEqual(
      entries.map(\.link),
      [
        "https://klaster.lt/en/2017/07/18/cluster-forum/",
        "https://klaster.lt/en/2017/08/23/innovation-vouchers/",
        "https://klaster.lt/en/2017/09/01/export-seminar/",
      ])
    XCTAssertEqual(
      entries.map(\.published), [utc(2017, 7, 17, 21), utc(2017, 8, 22, 21), utc(2017, 8, 31, 21)])
    XCTAssertEqual(
      entries.map(\.summary),
      [
        .text("More than 200 participants from all over Lithuania met at the annual cluster forum"),
        .text("The agency opened a new call for innovation vouchers."),
        .text("A seminar on export markets"),
      ])
  }

  func testItemsWithoutDates() throws {
    let selectors = HTMLSelectors(
      item: "//li[@class='project']", title: "./a", link: "./a/@href", date: ".//p")
    let result = try HTMLScraper.scrape(
      fixture("no-dates.html"), pageURL: URL(string: "https://klaster.lt/projektai/index.html")!,
      selectors: selectors)
    let entries = result.parsed.feed.entries
    XCTAssertEqual(entries.count, 3)
    XCTAssertTrue(entries.allSatisfy { $0.published == nil })
    XCTAssertEqual(entries.first?.link, "https://klaster.lt/projektai/projektas-1.html")
    XCTAssertEqual(
      result.warnings, ["date not parsed on 3 of 3 items (e.g. 'Aprašymas be datos.')"])
  }

  func testItemsWithoutDateSelectorGiveNoWarning() throws {
    let selectors = HTMLSelectors(item: "//li[@class='project']", title: "./a", link: "./a/@href")
    let result = try HTMLScraper.scrape(
      fixture("no-dates.html"), pageURL: pageURL, selectors: selectors)
    XCTAssertEqual(result.warnings, [])
    XCTAssertEqual(result.parsed.feed.entries.count, 3)
  }

  func testLazyImagesRelativeLinksAndBaseHref() throws {
    let selectors = HTMLSelectors(
      item: "//div[@class='item']", title: ".//*[@class='title']", link: ".//a[@class='title']",
      date: ".//time", content: ".//div[@class='body']")
    let result = try HTMLScraper.scrape(
      fixture("lazy-images.html"), pageURL: URL(string: "https://klaster.lt/galerija/")!,
      selectors: selectors)
    XCTAssertEqual(result.warnings, ["link missing on 1 of 3 items (skipped)"])
    let entries = result.parsed.feed.entries
    XCTAssertEqual(entries.count, 2)
    guard entries.count == 2 else { return }
    // <base href> wins over the page URL.
    XCTAssertEqual(entries[0].link, "https://cdn.klaster.lt/naujienos/straipsnis-1")
    XCTAssertEqual(entries[0].title, "Pirmas straipsnis")
    XCTAssertEqual(entries[0].published, utc(2020, 6, 2, 7, 15))  // datetime's own offset
    let html = try XCTUnwrap(entries[0].content?.value)
    XCTAssertEqual(entries[0].content?.type, .html)
    XCTAssertTrue(html.contains("<a href=\"https://cdn.klaster.lt/kitas/\">nuoroda</a>"), html)
    XCTAssertTrue(html.contains("<a>pavojinga</a>"), html)
    XCTAssertTrue(
      html.contains("<img src=\"https://cdn.klaster.lt/img/pirmas.jpg\" alt=\"Pirmas\"/>"), html)
    XCTAssertTrue(
      html.contains(
        "<img src=\"https://cdn.klaster.lt/naujienos/img/antras-320.jpg\" alt=\"Antras\"/>"), html)
    XCTAssertFalse(html.contains("script"), html)
    XCTAssertFalse(html.contains("noscript"), html)
    XCTAssertFalse(html.contains("data:"), html)
    XCTAssertTrue(isWellFormedXML(html))

    XCTAssertEqual(entries[1].link, "https://cdn.klaster.lt/antras")
    XCTAssertEqual(entries[1].published, utc(2020, 6, 2, 21))  // date only: Vilnius midnight
    XCTAssertEqual(entries[1].content?.value, "<p>Antras tekstas.</p>")
  }

  func testChangedMarkupIsAClearError() throws {
    let data = try fixture("changed-markup.html")
    XCTAssertThrowsError(try HTMLScraper.scrape(data, pageURL: pageURL, selectors: wordpress)) {
      error in
      XCTAssertEqual(
        error as? FeedParserError,
        .notAFeed("item selector '//article' matched 0 nodes (did the page change its markup?)"))
    }
  }

  func testTitleEmptyWarningAndCustomID() throws {
    let html = """
      <html><body>
      <div class="n"><a href="/a">A</a><span class="id">n-1</span></div>
      <div class="n"><a href="/b"></a><span class="id">n-2</span></div>
      <div class="n"><a href="/c">C</a><span class="id">n-1</span></div>
      </body></html>
      """
    let selectors = HTMLSelectors(
      item: "//div[@class='n']", title: "./a", link: "./a/@href", id: ".//span[@class='id']")
    let result = try HTMLScraper.scrape(Data(html.utf8), pageURL: pageURL, selectors: selectors)
    XCTAssertEqual(result.parsed.feed.entries.map(\.id), ["n-1", "n-2"])
    XCTAssertEqual(result.parsed.feed.entries.map(\.title), ["A", nil])
    XCTAssertEqual(
      result.warnings, ["title empty on 1 of 3 items", "1 item repeat an earlier id (skipped)"])
  }

  func testStringValuedSelectorsAndExplicitFormat() throws {
    let html = """
      <html><body><div class="n"><a href="x.html" title="  Titulas  ">t</a><em>Data: 2020/06/02 10:15</em></div></body></html>
      """
    var selectors = HTMLSelectors(
      item: "//div[@class='n']", title: "string(./a/@title)", link: "concat('/y/', ./a/@href)",
      date: "substring-after(.//em, 'Data: ')")
    selectors.dateFormat = "yyyy/MM/dd HH:mm"
    let result = try HTMLScraper.scrape(Data(html.utf8), pageURL: pageURL, selectors: selectors)
    let entry = try XCTUnwrap(result.parsed.feed.entries.first)
    XCTAssertEqual(entry.title, "Titulas")
    XCTAssertEqual(entry.link, "https://klaster.lt/y/x.html")
    XCTAssertEqual(entry.published, utc(2020, 6, 2, 7, 15))
  }

  func testTimeElementInsideTheDateNode() throws {
    let html = """
      <html><body><div class="n"><a href="/a">A</a>
      <div class="meta">Paskelbta <time datetime="2020-06-02T10:15:00Z">vakar</time></div></div></body></html>
      """
    let selectors = HTMLSelectors(
      item: "//div[@class='n']", title: "./a", link: "./a/@href", date: ".//div[@class='meta']")
    let result = try HTMLScraper.scrape(Data(html.utf8), pageURL: pageURL, selectors: selectors)
    XCTAssertEqual(result.parsed.feed.entries.first?.published, utc(2020, 6, 2, 10, 15))
    XCTAssertEqual(result.warnings, [])
  }

  func testPageZoneFromSelectors() throws {
    let html = """
      <html><body><div class="n"><a href="/a">A</a><span>2020-06-02 10:15</span></div></body></html>
      """
    var selectors = HTMLSelectors(
      item: "//div[@class='n']", title: "./a", link: "./a/@href", date: "./span")
    selectors.timeZone = "America/New_York"
    var result = try HTMLScraper.scrape(Data(html.utf8), pageURL: pageURL, selectors: selectors)
    XCTAssertEqual(result.parsed.feed.entries.first?.published, utc(2020, 6, 2, 14, 15))
    XCTAssertEqual(result.warnings, [])
    selectors.timeZone = "Mars/Olympus_Mons"
    result = try HTMLScraper.scrape(Data(html.utf8), pageURL: pageURL, selectors: selectors)
    XCTAssertEqual(result.parsed.feed.entries.first?.published, utc(2020, 6, 2, 7, 15))
    XCTAssertEqual(result.warnings, ["unknown time zone 'Mars/Olympus_Mons', using Europe/Vilnius"])
  }

  func testEmptyAndOversizedPages() {
    XCTAssertThrowsError(try HTMLScraper.scrape(Data(), pageURL: pageURL, selectors: wordpress)) {
      XCTAssertEqual($0 as? FeedParserError, .empty)
    }
    XCTAssertThrowsError(
      try HTMLScraper.scrape(
        Data(repeating: 0x41, count: 2000), pageURL: pageURL, selectors: wordpress,
        options: ParseOptions(maxBytes: 1000))
    ) {
      XCTAssertEqual($0 as? FeedParserError, .tooLarge(size: 2000, limit: 1000))
    }
  }

  func testInvalidSelectorIsReported() {
    let selectors = HTMLSelectors(item: "//article[", title: ".//h2", link: ".//a/@href")
    XCTAssertThrowsError(
      try HTMLScraper.scrape(
        Data("<html><body></body></html>".utf8), pageURL: pageURL, selectors: selectors)
    ) { error in
      guard case .notAFeed(let message)? = error as? FeedParserError else {
        return XCTFail("unexpected \(error)")
      }
      XCTAssertTrue(message.hasPrefix("item selector is not valid XPath"), message)
    }
  }

  func testXPathError() {
    XCTAssertNil(HTMLScraper.xpathError("//article"))
    XCTAssertNil(HTMLScraper.xpathError(".//time | .//*[contains(@class,'date')]"))
    XCTAssertNil(HTMLScraper.xpathError("string(./a/@title)"))
    let unfinished = HTMLScraper.xpathError("//article[")
    XCTAssertNotNil(unfinished)
    XCTAssertTrue(unfinished?.contains("'//article['") == true, unfinished ?? "")
    XCTAssertEqual(HTMLScraper.xpathError("//a[@href='x"), "Unfinished literal in '//a[@href='x'")
    XCTAssertEqual(
      HTMLScraper.xpathError("nosuchfunction(.)"), "Unregistered function in 'nosuchfunction(.)'")
    XCTAssertEqual(HTMLScraper.xpathError("//x:a"), "Undefined namespace prefix in '//x:a'")
    XCTAssertEqual(HTMLScraper.xpathError("  "), "empty XPath expression")
  }

  func testStripReadMore() {
    let cases: [(String, String)] = [
      ("Lead text…", "Lead text"),
      ("Lead text... Skaityti daugiau", "Lead text"),
      ("Lead text … Skaityti plačiau »", "Lead text"),
      ("Lead text. Read more", "Lead text."),
      ("Lead text [...] Continue reading →", "Lead text"),
      ("Lead text. Read More >>", "Lead text."),
      ("We have galore", "We have galore"),
      ("Nothing to strip.", "Nothing to strip."),
    ]
    for (input, expected) in cases {
      XCTAssertEqual(HTMLScraper.stripReadMore(input), expected, input)
    }
  }
}
