import FeedModel
import FeedParser
import TestSupport
import XCTest

@testable import Discovery

/// Listing pages in the shapes member sites use (WordPress, Drupal, Joomla, a plain table), with
/// their menus, sidebars, footers and pagination: the inferred selectors must extract exactly the
/// listed stories through the real scraper. Pages that are not listings must stay below
/// `ListingInference.confident`.
final class ListingInferenceTests: XCTestCase {
  override func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  /// One story as a reader should see it: title, absolute link, and the instant of its date as
  /// ISO 8601 with the page's offset (nil: the page gives none).
  struct Story {
    var title: String
    var link: String
    var date: String?
    init(_ title: String, _ link: String, _ date: String?) {
      self.title = title
      self.link = link
      self.date = date
    }
  }

  private func fixture(_ name: String) throws -> Data {
    try Data(contentsOf: TestSupport.fixture("DiscoveryTests", "listings/\(name)"))
  }

  private func instant(_ iso: String) -> Date {
    guard let date = ISO8601DateFormatter().date(from: iso) else {
      XCTFail("bad expected date \(iso)")
      return .distantPast
    }
    return date
  }

  /// Scrapes `data` with `selectors` and asserts exactly `expected`, in order.
  @discardableResult
  private func assertScrapes(
    _ data: Data, pageURL: String, selectors: HTMLSelectors, _ expected: [Story],
    file: StaticString = #filePath, line: UInt = #line
  ) -> [Entry] {
    let entries: [Entry]
    do {
      entries = try HTMLScraper.scrape(data, pageURL: URL(string: pageURL)!, selectors: selectors)
        .parsed.feed.entries
    } catch {
      XCTFail("scrape failed: \(error) with \(selectors)", file: file, line: line)
      return []
    }
    XCTAssertEqual(entries.map(\.title), expected.map(\.title), file: file, line: line)
    XCTAssertEqual(entries.map(\.link), expected.map(\.link), file: file, line: line)
    XCTAssertEqual(
      entries.map(\.published), expected.map { $0.date.map(instant) }, file: file, line: line)
    return entries
  }

  /// Infers from the fixture, checks the best candidate is confident, and that its selectors
  /// scrape exactly `expected`.
  @discardableResult
  private func assertInfers(
    _ name: String, pageURL: String, _ expected: [Story], contentType: String? = nil,
    file: StaticString = #filePath, line: UInt = #line
  ) throws -> (InferredListing, [Entry]) {
    let data = try fixture(name)
    let found = ListingInference.infer(
      html: data, contentType: contentType, pageURL: URL(string: pageURL)!)
    let best = try XCTUnwrap(found.first, "no candidate for \(name)", file: file, line: line)
    XCTAssertGreaterThanOrEqual(
      best.confidence, ListingInference.confident, "\(name): \(best.notes)", file: file,
      line: line)
    XCTAssertEqual(best.itemCount, expected.count, file: file, line: line)
    for other in found.dropFirst() {
      XCTAssertLessThan(
        other.confidence, ListingInference.confident,
        "\(name): a second confident candidate \(other.selectors.item)", file: file, line: line)
    }
    // The selectors are valid XPath by the config's own check.
    for expression in [best.selectors.item, best.selectors.title, best.selectors.link]
      + [best.selectors.date, best.selectors.summary].compactMap({ $0 })
    {
      XCTAssertNil(HTMLScraper.xpathError(expression), expression, file: file, line: line)
    }
    let entries = assertScrapes(
      data, pageURL: pageURL, selectors: best.selectors, expected, file: file, line: line)
    return (best, entries)
  }

  @discardableResult
  private func assertNotAListing(
    _ name: String, pageURL: String, file: StaticString = #filePath, line: UInt = #line
  ) throws -> Double {
    let found = ListingInference.infer(
      html: try fixture(name), contentType: nil, pageURL: URL(string: pageURL)!)
    let best = found.first?.confidence ?? 0
    XCTAssertLessThan(
      best, ListingInference.confident, "\(name): \(found.first?.notes ?? [])", file: file,
      line: line)
    return best
  }

  // MARK: - Listings

  static let wordpressCards = [
    Story(
      "Fotonikos forumas Vilniuje subūrė 300 dalyvių",
      "https://laserclub.lt/2024/03/05/fotonikos-forumas-vilniuje/", "2024-03-05T09:30:00+02:00"),
    Story(
      "Kviečiame į bendrą stendą parodoje „Laser World of Photonics“",
      "https://laserclub.lt/2024/02/20/laser-world-of-photonics/", "2024-02-20T14:05:00+02:00"),
    Story(
      "Klasterio 2023 metų apžvalga: eksportas augo 12 %",
      "https://laserclub.lt/2024/01/31/metu-apzvalga/", "2024-01-31T08:00:00+02:00"),
    Story(
      "Lazerių technologijų mokymai jaunimui",
      "https://laserclub.lt/2023/12/12/mokymai-jaunimui/", "2023-12-12T10:00:00+02:00"),
    Story(
      "Prie klasterio prisijungė trys nauji nariai",
      "https://laserclub.lt/2023/11/28/nauji-nariai/", "2023-11-28T16:45:00+02:00"),
  ]

  func testWordPressArticleCards() throws {
    let (best, entries) = try assertInfers(
      "wp-articles-lt.html", pageURL: "https://laserclub.lt/category/naujienos/",
      Self.wordpressCards)
    XCTAssertTrue(best.selectors.item.contains("' post '"), best.selectors.item)
    XCTAssertFalse(best.selectors.item.contains("post-412"), "an id-bearing class is not stable")
    XCTAssertEqual(best.selectors.dateLocale, "lt")
    XCTAssertTrue(best.notes.contains { $0.contains("Skaityti daugiau") }, "\(best.notes)")
    // The lead loses its "… Skaityti daugiau" tail.
    XCTAssertEqual(
      entries.first?.summary,
      .text(
        "Kovo 5 d. Vilniuje vyko kasmetinis fotonikos forumas, kuriame lazerių gamintojai, mokslininkai ir investuotojai aptarė eksporto galimybes"
      ))
  }

  func testWordPressDivPostsWithLithuanianTextDates() throws {
    let (best, entries) = try assertInfers(
      "wp-divpost-lt.html", pageURL: "https://medienosklasteris.lt/naujienos/",
      [
        Story(
          "Baldų eksportas 2023 metais viršijo lūkesčius",
          "https://medienosklasteris.lt/naujienos/baldu-eksportas-2023/",
          "2024-03-05T00:00:00+02:00"),
        Story(
          "Medienos inovacijų diena Kaune",
          "https://medienosklasteris.lt/naujienos/medienos-inovaciju-diena/",
          "2024-02-14T00:00:00+02:00"),
        Story(
          "Kvietimas teikti paraiškas: skaitmeninimo projektai",
          "https://medienosklasteris.lt/naujienos/kvietimas-teikti-paraiskas/",
          "2024-01-22T00:00:00+02:00"),
        Story(
          "Visuotinis klasterio narių susirinkimas",
          "https://medienosklasteris.lt/naujienos/klasterio-nariu-susirinkimas/",
          "2023-12-18T00:00:00+02:00"),
        Story(
          "Klasterio delegacija lankėsi Stokholme",
          "https://medienosklasteris.lt/naujienos/delegacija-stokholme/",
          "2023-11-30T00:00:00+02:00"),
        Story(
          "CNC staklių operatorių mokymai", "https://medienosklasteris.lt/naujienos/mokymai-cnc/",
          "2023-10-09T00:00:00+03:00"),
      ])
    XCTAssertEqual(best.selectors.item, "//div[\(ListingVocabulary.hasClass("post"))]")
    XCTAssertEqual(best.selectors.dateLocale, "lt")
    XCTAssertTrue(best.notes.contains { $0.contains("Lithuanian") }, "\(best.notes)")
    XCTAssertEqual(
      entries.last?.summary,
      .text(
        "Kvalifikacijos kėlimo kursai klasterio įmonių darbuotojams vyks lapkričio mėnesį Panevėžyje."
      ))
  }

  static let linkList = [
    Story(
      "Cluster joins the EIT Food regional innovation scheme",
      "https://foodcluster.eu/news/cluster-joins-eit-food/", "2024-03-05T00:00:00+02:00"),
    Story(
      "Twelve members exhibit at Anuga in Cologne", "https://foodcluster.eu/news/members-at-anuga/",
      "2024-02-19T00:00:00+02:00"),
    Story(
      "Workshop on recyclable packaging for small producers",
      "https://foodcluster.eu/news/packaging-workshop/", "2024-01-30T00:00:00+02:00"),
    Story(
      "Annual report 2023 published", "https://foodcluster.eu/news/annual-report-2023/", nil),
    Story(
      "New board elected at the general assembly", "https://foodcluster.eu/news/new-board/",
      "2023-12-11T00:00:00+02:00"),
    Story(
      "Export mission to Japan: applications open until 15 January",
      "https://foodcluster.eu/news/export-mission-japan/", "2023-11-27T00:00:00+02:00"),
    Story(
      "Food safety seminar with the State Food and Veterinary Service",
      "https://foodcluster.eu/news/food-safety-seminar/", "2023-10-16T00:00:00+03:00"),
  ]

  /// A page-builder list of links with a date span, relative links (`../news/x`, `/news/x`) and
  /// one story without a date; the sidebar's events list is not taken.
  func testListOfLinksWithSeparateDates() throws {
    let (best, _) = try assertInfers(
      "wp-links-en.html", pageURL: "https://foodcluster.eu/news/", Self.linkList)
    XCTAssertEqual(best.selectors.dateLocale, "en")
    XCTAssertNil(best.selectors.summary)
    XCTAssertTrue(best.notes.contains("1 of 7 items have no date"), "\(best.notes)")
  }

  static let drupalViews = [
    Story(
      "European Cluster Conference: clusters meet in Brussels",
      "https://www.clustercollaboration.eu/news/2024/03/clusters-meet-in-brussels",
      "2024-03-05T00:00:00+02:00"),
    Story(
      "New call for Euroclusters partnerships opens",
      "https://www.clustercollaboration.eu/news/2024/02/call-for-cluster-partnerships",
      "2024-02-21T00:00:00+02:00"),
    Story(
      "Twenty clusters receive the Gold Label of cluster management excellence",
      "https://www.clustercollaboration.eu/news/2024/02/cluster-excellence-label",
      "2024-02-02T00:00:00+02:00"),
    Story(
      "Report: the state of industrial ecosystems in 2023",
      "https://www.clustercollaboration.eu/news/2024/01/industrial-ecosystems-report",
      "2024-01-15T00:00:00+02:00"),
    Story(
      "Matchmaking event results: 140 meetings in two days",
      "https://www.clustercollaboration.eu/news/2023/12/matchmaking-results",
      "2023-12-12T00:00:00+02:00"),
    Story(
      "Webinar recording: clusters and the green transition",
      "https://www.clustercollaboration.eu/news/2023/11/green-transition-webinar",
      "2023-11-28T00:00:00+02:00"),
  ]

  /// The news view's rows, not the sidebar's events view (same `views-row` class).
  func testDrupalViewWithEnglishDates() throws {
    let (best, _) = try assertInfers(
      "drupal-views-en.html", pageURL: "https://www.clustercollaboration.eu/news",
      Self.drupalViews)
    XCTAssertTrue(best.selectors.item.contains("views-row"), best.selectors.item)
    XCTAssertEqual(best.selectors.dateLocale, "en")
    XCTAssertNil(best.selectors.dateFormat)
    XCTAssertTrue(best.selectors.date?.contains("views-field-created") == true, "\(best.selectors)")
    XCTAssertTrue(best.notes.contains { $0.contains("English") }, "\(best.notes)")
  }

  /// The same view with numeric dates: `05/03/2024` on an English page is 5 March (a day above
  /// 12 elsewhere in the list settles the order), which the date parser alone would read as
  /// 3 May.
  func testDrupalViewWithDayFirstSlashDates() throws {
    var html = String(decoding: try fixture("drupal-views-en.html"), as: UTF8.self)
    for (long, short) in [
      ("March 5, 2024", "05/03/2024"), ("February 21, 2024", "21/02/2024"),
      ("February 2, 2024", "02/02/2024"), ("January 15, 2024", "15/01/2024"),
      ("December 12, 2023", "12/12/2023"), ("November 28, 2023", "28/11/2023"),
    ] {
      html = html.replacingOccurrences(of: long, with: short)
    }
    let data = Data(html.utf8)
    let url = "https://www.clustercollaboration.eu/news"
    let best = try XCTUnwrap(
      ListingInference.infer(html: data, contentType: nil, pageURL: URL(string: url)!).first)
    XCTAssertGreaterThanOrEqual(best.confidence, ListingInference.confident)
    XCTAssertEqual(best.selectors.dateFormat, "d/M/yyyy")
    assertScrapes(data, pageURL: url, selectors: best.selectors, Self.drupalViews)
  }

  func testJoomlaBlogLayout() throws {
    let (best, entries) = try assertInfers(
      "joomla-blog-lt.html", pageURL: "https://pramonesklasteris.lt/naujienos",
      [
        Story(
          "Klasteris pasirašė bendradarbiavimo sutartį su Latvijos partneriais",
          "https://pramonesklasteris.lt/naujienos/58-klasteris-pasirase-sutarti-su-latvijos-partneriais",
          "2024-03-05T09:12:44Z"),
        Story(
          "Įvyko metinis narių susirinkimas",
          "https://pramonesklasteris.lt/naujienos/57-ivyko-metinis-nariu-susirinkimas",
          "2024-02-16T13:00:00Z"),
        Story(
          "Skaitmeninimo seminaras Klaipėdoje",
          "https://pramonesklasteris.lt/naujienos/56-skaitmeninimo-seminaras-klaipedoje",
          "2024-01-29T08:30:00Z"),
        Story(
          "Atnaujinta klasterio interneto svetainė",
          "https://pramonesklasteris.lt/naujienos/55-nauja-klasterio-interneto-svetaine",
          "2023-12-20T10:00:00Z"),
        Story(
          "Eksporto misija į Vokietiją: registracija pratęsta",
          "https://pramonesklasteris.lt/naujienos/54-eksporto-misija-i-vokietija",
          "2023-11-14T07:45:00Z"),
      ])
    // The leading story and the column stories together, through their shared itemprop.
    XCTAssertEqual(best.selectors.item, "//div[@itemprop='blogPost']")
    // The intro paragraph, not the "Skaityti daugiau: …" button paragraph.
    XCTAssertEqual(
      entries.first?.summary,
      .text(
        "Sutartis numato bendrus eksporto renginius ir keitimąsi patirtimi tarp abiejų šalių įmonių."
      ))
  }

  func testPlainTableListing() throws {
    let (best, _) = try assertInfers(
      "table-lt.html", pageURL: "https://metaloklasteris.lt/naujienos.php",
      [
        Story(
          "Klasterio įmonės dalyvavo parodoje „Balttechnika“",
          "https://metaloklasteris.lt/naujienos.php?id=311", "2024-03-05T00:00:00+02:00"),
        Story(
          "Patvirtintas bendras mokymų planas 2024 metams",
          "https://metaloklasteris.lt/naujienos.php?id=309", "2024-02-12T00:00:00+02:00"),
        Story(
          "Kvietimas į narių susirinkimą vasario 8 d.",
          "https://metaloklasteris.lt/naujienos.php?id=305", "2024-01-25T00:00:00+02:00"),
        Story(
          "Sveikiname su šventėmis!", "https://metaloklasteris.lt/naujienos.php?id=301",
          "2023-12-28T00:00:00+02:00"),
        Story(
          "Metalo apdirbimo įmonių eksporto rezultatai",
          "https://metaloklasteris.lt/naujienos.php?id=298", "2023-12-04T00:00:00+02:00"),
        Story(
          "Seminaras apie darbo saugą gamyboje",
          "https://metaloklasteris.lt/naujienos.php?id=294", "2023-11-17T00:00:00+02:00"),
        Story(
          "Naujas klasterio narys – UAB „Plieno linija“",
          "https://metaloklasteris.lt/naujienos.php?id=290", "2023-10-30T00:00:00+02:00"),
      ])
    // The header row (th, no link) is not an item.
    XCTAssertTrue(best.selectors.item.contains("tr"), best.selectors.item)
  }

  /// A block theme's query loop (Twenty Twenty-Four): `li.wp-block-post` items, a `time` whose
  /// text is a Lithuanian date, an excerpt with a separate "Skaityti daugiau" paragraph.
  func testWordPressBlockThemeQueryLoop() throws {
    let (best, entries) = try assertInfers(
      "wp-block-theme-lt.html", pageURL: "https://energetikosklasteris.lt/naujienos/",
      [
        Story(
          "Vandenilio slėnio partnerystė pasirašyta",
          "https://energetikosklasteris.lt/2024/03/05/vandenilio-slenis/",
          "2024-03-05T10:00:00+02:00"),
        Story(
          "Tvarumo ataskaitų rengimo mokymai",
          "https://energetikosklasteris.lt/2024/02/27/tvarumo-ataskaitos/",
          "2024-02-27T09:00:00+02:00"),
        Story(
          "Prie klasterio prisijungė du nauji nariai",
          "https://energetikosklasteris.lt/2024/02/12/nauji-nariai/", "2024-02-12T15:30:00+02:00"),
        Story(
          "Kviečiame į bendrą stendą Hanoverio mugėje",
          "https://energetikosklasteris.lt/2024/01/30/hanoverio-muge/",
          "2024-01-30T11:15:00+02:00"),
        Story(
          "2023 metų klasterio veiklos apžvalga",
          "https://energetikosklasteris.lt/2024/01/09/metu-apzvalga/", "2024-01-09T08:00:00+02:00"),
      ])
    XCTAssertEqual(best.selectors.item, "//li[\(ListingVocabulary.hasClass("post"))]")
    XCTAssertEqual(
      entries.first?.summary,
      .text(
        "Dešimt energetikos ir chemijos įmonių susitarė kartu kurti žaliojo vandenilio tiekimo grandinę Lietuvoje."
      ))
  }

  /// Bootstrap cards in columns in rows (`row > col > card`): the cards of both rows, whatever
  /// the column classes (`col-md-6 col-lg-4`, not stable) say.
  func testBootstrapCardGrid() throws {
    let (best, entries) = try assertInfers(
      "bootstrap-cards-lt.html", pageURL: "https://pramone40.lt/naujienos",
      [
        Story(
          "Skaitmeninės gamybos konferencija 2024",
          "https://pramone40.lt/naujienos/skaitmenine-gamyba-2024", "2024-03-05T00:00:00+02:00"),
        Story(
          "Robotikos mokymai klasterio nariams", "https://pramone40.lt/naujienos/robotikos-mokymai",
          "2024-02-26T00:00:00+02:00"),
        Story(
          "Bendras stendas Hanoverio mugėje", "https://pramone40.lt/naujienos/hannover-messe",
          "2024-02-08T00:00:00+02:00"),
        Story(
          "Kibernetinio saugumo auditas MVĮ",
          "https://pramone40.lt/naujienos/kibernetinis-saugumas", "2024-01-17T00:00:00+02:00"),
        Story(
          "Išrinkta nauja klasterio valdyba", "https://pramone40.lt/naujienos/nauja-valdyba",
          "2023-12-19T00:00:00+02:00"),
        Story(
          "Metų renginys: Pramonės 4.0 apdovanojimai",
          "https://pramone40.lt/naujienos/metu-renginys", "2023-12-01T00:00:00+02:00"),
      ])
    XCTAssertFalse(best.selectors.item.contains("col-"), best.selectors.item)
    XCTAssertEqual(
      entries.first?.summary,
      .text("Konferencijoje pristatyti dirbtinio intelekto sprendimai gamybos įmonėms."))
  }

  /// Undeclared windows-1257 bytes on a `lang="lt"` page decode as the scraper decodes them.
  func testWindows1257PageWithoutCharset() throws {
    let (best, entries) = try assertInfers(
      "windows1257-nometa-lt.html", pageURL: "https://aek.lt/naujienos",
      [
        Story(
          "Saulės energetikos diena Šiauliuose",
          "https://aek.lt/naujienos/saules-energetikos-diena",
          "2024-03-05T00:00:00+02:00"),
        Story(
          "Vėjo parkai jūroje: tiekėjų susitikimas", "https://aek.lt/naujienos/vejo-parkai-jureje",
          "2024-02-22T00:00:00+02:00"),
        Story(
          "Energijos kaupimo sprendimų dirbtuvės", "https://aek.lt/naujienos/energijos-kaupimas",
          "2024-02-01T00:00:00+02:00"),
        Story(
          "Žalioji gamyba: kvietimas teikti paraiškas", "https://aek.lt/naujienos/zalioji-gamyba",
          "2024-01-18T00:00:00+02:00"),
        Story(
          "Klasterio metinė ataskaita už 2023 metus", "https://aek.lt/naujienos/metine-ataskaita",
          "2024-01-08T00:00:00+02:00"),
      ])
    XCTAssertTrue(best.selectors.item.contains("naujiena"), best.selectors.item)
    XCTAssertEqual(
      entries.first?.summary,
      .text(
        "Klasterio įmonės pristatė naujausius saulės elektrinių sprendimus ūkininkams ir savivaldybėms."
      ))
  }

  // MARK: - Robustness: selectors from the original page still work after small changes

  func testWordPressSelectorsSurviveSmallChanges() throws {
    let original = String(decoding: try fixture("wp-articles-lt.html"), as: UTF8.self)
    let url = "https://laserclub.lt/category/naujienos/"
    let best = try XCTUnwrap(
      ListingInference.infer(
        html: Data(original.utf8), contentType: nil, pageURL: URL(string: url)!
      )
      .first)

    // One more story on top, an extra class on one item, a wrapper around the list, and the
    // first story's date removed.
    let firstArticle = try XCTUnwrap(original.range(of: "<article class=\"post-412"))
    let newStory = """
      <article class="post-420 post type-post status-publish format-standard hentry category-naujienos ast-article-post" id="post-420">
        <div class="post-content"><header class="entry-header">
          <h2 class="entry-title" itemprop="headline"><a href="/2024/03/12/naujas-projektas/" rel="bookmark">Startuoja naujas tarptautinis projektas</a></h2>
          <div class="entry-meta"><span class="posted-on"><time class="entry-date published" datetime="2024-03-12T11:00:00+02:00">2024-03-12</time></span></div>
        </header>
        <div class="entry-summary"><p>Projektas sujungs dešimt šalių klasterius.</p></div></div>
      </article>

      """
    var changed = original
    changed.insert(contentsOf: newStory, at: firstArticle.lowerBound)
    changed = changed.replacingOccurrences(
      of: "<article class=\"post-405 post", with: "<article class=\"post-405 sticky featured post")
    changed = changed.replacingOccurrences(
      of: "<div class=\"ast-row\">", with: "<div class=\"ast-row\"><div class=\"posts-wrap\">")
    changed = changed.replacingOccurrences(
      of: "<div class=\"ast-pagination\">", with: "</div><div class=\"ast-pagination\">")
    let firstMeta = try XCTUnwrap(
      changed.range(
        of:
          #"<div class="entry-meta"><span class="posted-on"><a href="https://laserclub.lt/2024/03/05/"#
      ))
    let metaEnd = try XCTUnwrap(
      changed.range(of: "</span></div>", range: firstMeta.upperBound..<changed.endIndex))
    changed.removeSubrange(firstMeta.lowerBound..<metaEnd.upperBound)
    XCTAssertTrue(changed.contains("<div class=\"posts-wrap\">"))
    XCTAssertTrue(changed.contains("post-405 sticky featured post"))

    var expected = Self.wordpressCards
    expected[0].date = nil
    expected.insert(
      Story(
        "Startuoja naujas tarptautinis projektas",
        "https://laserclub.lt/2024/03/12/naujas-projektas/", "2024-03-12T11:00:00+02:00"),
      at: 0)
    assertScrapes(Data(changed.utf8), pageURL: url, selectors: best.selectors, expected)
  }

  func testDrupalSelectorsSurviveSmallChanges() throws {
    let original = String(decoding: try fixture("drupal-views-en.html"), as: UTF8.self)
    let url = "https://www.clustercollaboration.eu/news"
    let best = try XCTUnwrap(
      ListingInference.infer(
        html: Data(original.utf8), contentType: nil, pageURL: URL(string: url)!
      )
      .first)
    var changed = original
    // Drupal's infinite-scroll wrapper around the rows, row classes with positions, one more row
    // at the end, and the first row without its date field.
    changed = changed.replacingOccurrences(
      of: "<div class=\"view-content\">",
      with:
        "<div class=\"view-content\"><div class=\"views-infinite-scroll-content-wrapper clearfix\">"
    )
    changed = changed.replacingOccurrences(
      of: "                  <nav class=\"pager\"",
      with: """
                          <div class="views-row views-row-7 views-row-last"><div class="views-field views-field-title"><span class="field-content"><a href="/news/2023/11/s3-platform">Smart specialisation platform launches a cluster strand</a></span></div><div class="views-field views-field-created"><span class="field-content">November 20, 2023</span></div></div>
                          </div></div>
                          <nav class="pager"
        """)
    changed = changed.replacingOccurrences(
      of:
        "<div class=\"view-content\"><div class=\"views-infinite-scroll-content-wrapper clearfix\">\n                    <div class=\"views-row\">",
      with:
        "<div class=\"view-content\"><div class=\"views-infinite-scroll-content-wrapper clearfix\">\n                    <div class=\"views-row views-row-1 views-row-first\">"
    )
    changed = changed.replacingOccurrences(
      of:
        "<div class=\"views-field views-field-created\"><span class=\"field-content\">March 5, 2024</span></div>",
      with: "")
    XCTAssertTrue(changed.contains("views-infinite-scroll-content-wrapper"))
    XCTAssertTrue(changed.contains("views-row views-row-1 views-row-first"))
    var expected = Self.drupalViews
    expected[0].date = nil
    expected.append(
      Story(
        "Smart specialisation platform launches a cluster strand",
        "https://www.clustercollaboration.eu/news/2023/11/s3-platform", "2023-11-20T00:00:00+02:00")
    )
    assertScrapes(Data(changed.utf8), pageURL: url, selectors: best.selectors, expected)
  }

  func testLinkListSelectorsSurviveAnExtraItemAndWrapper() throws {
    let original = String(decoding: try fixture("wp-links-en.html"), as: UTF8.self)
    let url = "https://foodcluster.eu/news/"
    let best = try XCTUnwrap(
      ListingInference.infer(
        html: Data(original.utf8), contentType: nil, pageURL: URL(string: url)!
      )
      .first)
    var changed = original.replacingOccurrences(
      of: "<ul class=\"news-list\">",
      with: """
        <div class="news-wrap"><ul class="news-list">
        <li><a href="/news/hackathon/">Food tech hackathon winners announced</a> <span class="date">2024-03-12</span></li>
        """)
    changed = changed.replacingOccurrences(
      of: "</ul>\n\t\t\t\t\t\t\t<p><a href=\"https://foodcluster.eu/news/archive/\">",
      with: "</ul></div>\n\t\t\t\t\t\t\t<p><a href=\"https://foodcluster.eu/news/archive/\">")
    XCTAssertTrue(changed.contains("</ul></div>"))
    let expected =
      [
        Story(
          "Food tech hackathon winners announced", "https://foodcluster.eu/news/hackathon/",
          "2024-03-12T00:00:00+02:00")
      ] + Self.linkList
    assertScrapes(Data(changed.utf8), pageURL: url, selectors: best.selectors, expected)
  }

  // MARK: - Pages that are not listings

  func testContactPageIsNotAListing() throws {
    try assertNotAListing("negative-contact-lt.html", pageURL: "https://klasteris.lt/kontaktai/")
  }

  /// One long article with three related links and dates under it.
  func testSingleArticleIsNotAListing() throws {
    try assertNotAListing(
      "negative-single-article-lt.html",
      pageURL: "https://klasteris.lt/2024/03/05/klasteriu-forumas/")
  }

  /// The same article with five "other news" links under it, in a container whose class does
  /// not say "related": still one article, not a listing.
  func testSingleArticleWithOtherNewsIsNotAListing() throws {
    var html = String(decoding: try fixture("negative-single-article-lt.html"), as: UTF8.self)
    html = html.replacingOccurrences(of: "related-posts", with: "kitos-naujienos")
      .replacingOccurrences(of: "related-item", with: "naujiena")
    let more = """
      <li class="naujiena"><a href="https://klasteris.lt/2023/11/20/mokymai/">Mokymai klasterio nariams apie tvarumo ataskaitas</a> <span class="date">2023 m. lapkričio 20 d.</span></li>
      <li class="naujiena"><a href="https://klasteris.lt/2023/10/02/misija-vokietijoje/">Verslo misija Vokietijoje: dvylika susitikimų</a> <span class="date">2023 m. spalio 2 d.</span></li>

      """
    let end = try XCTUnwrap(html.range(of: "      </ul>\n    </div>\n    <div id=\"comments\""))
    html.insert(contentsOf: more, at: end.lowerBound)
    XCTAssertTrue(html.contains("misija-vokietijoje"))
    let found = ListingInference.infer(
      html: Data(html.utf8), contentType: nil,
      pageURL: URL(string: "https://klasteris.lt/2024/03/05/klasteriu-forumas/")!)
    XCTAssertEqual(found.first?.itemCount, 5)
    XCTAssertLessThan(found.first?.confidence ?? 0, ListingInference.confident)
  }

  /// A members directory has every shape of a listing (name, link, description) but no dates.
  func testMembersDirectoryIsNotConfident() throws {
    try assertNotAListing(
      "negative-members-lt.html", pageURL: "https://medienosklasteris.lt/nariai/")
  }

  /// Only the navigation menu (with submenus), breadcrumbs and footer link lists repeat.
  func testMenuOnlyPageIsNotAListing() throws {
    try assertNotAListing(
      "negative-menu-only-lt.html", pageURL: "https://baltictextile.lt/apie-mus/misija-ir-vizija/")
  }

  // MARK: - Bad input

  func testInputThatIsNoPageGivesNoCandidates() {
    let url = URL(string: "https://klasteris.lt/")!
    XCTAssertTrue(ListingInference.infer(html: Data(), contentType: nil, pageURL: url).isEmpty)
    XCTAssertTrue(
      ListingInference.infer(html: Data("just some text".utf8), contentType: nil, pageURL: url)
        .isEmpty)
    var noise = [UInt8](repeating: 0, count: 4096)
    var seed: UInt32 = 12345
    for k in noise.indices {
      seed = seed &* 1_103_515_245 &+ 12345
      noise[k] = UInt8(truncatingIfNeeded: seed >> 16)
    }
    XCTAssertTrue(ListingInference.infer(html: Data(noise), contentType: nil, pageURL: url).isEmpty)
    // Deep nesting and a wide flat list do not crash; the wide list is a (link-only) listing.
    let deep =
      String(repeating: "<div>", count: 5000) + "x" + String(repeating: "</div>", count: 5000)
    XCTAssertTrue(
      ListingInference.infer(html: Data(deep.utf8), contentType: nil, pageURL: url).isEmpty)
    let rows = (1...2000).map {
      "<li><a href=\"/n/\($0)-istorija\">Naujiena numeris \($0) apie klasterį</a></li>"
    }
    let wide = "<html><body><main><ul>\(rows.joined())</ul></main></body></html>"
    let found = ListingInference.infer(html: Data(wide.utf8), contentType: nil, pageURL: url)
    XCTAssertEqual(found.first?.itemCount, 2000)
  }

  // MARK: - Date styles

  func testDateStyleDetection() {
    var style = ListingDates.style(samples: ["05/03/2024", "21/02/2024"], pageLanguage: "en")
    XCTAssertEqual(style.format, "d/M/yyyy")
    style = ListingDates.style(samples: ["03/05/2024", "02/21/2024"], pageLanguage: "en")
    XCTAssertEqual(style.format, "M/d/yyyy")
    style = ListingDates.style(samples: ["03/05/2024", "02/04/2024"], pageLanguage: "en-US")
    XCTAssertEqual(style.format, "M/d/yyyy")
    style = ListingDates.style(samples: ["03/05/2024", "02/04/2024"], pageLanguage: "en-GB")
    XCTAssertEqual(style.format, "d/M/yyyy")
    style = ListingDates.style(
      samples: ["2024 m. kovo 5 d.", "2024 m. vasario 14 d."], pageLanguage: nil)
    XCTAssertEqual(style.locale, "lt")
    XCTAssertNil(style.format)
    style = ListingDates.style(samples: ["5. März 2024", "14. Februar 2024"], pageLanguage: "lt")
    XCTAssertEqual(style.locale, "de")
    style = ListingDates.style(samples: ["5 marca 2024", "14 lutego 2024"], pageLanguage: "pl-PL")
    XCTAssertEqual(style.locale, "pl")
    style = ListingDates.style(samples: ["2024-03-05T10:00:00+02:00"], pageLanguage: "lv")
    XCTAssertEqual(style.locale, "lv")
    XCTAssertTrue(style.notes.contains { $0.contains("machine-readable") })
  }

  func testStableClassRules() {
    for stable in ["post", "views-row", "entry-title", "news_item", "storytitle"] {
      XCTAssertTrue(ListingVocabulary.isStableClass(stable), stable)
    }
    for unstable in [
      "post-412", "css-1x2y3z", "sc-bdVaJa", "eKkgvZ", "views-row-odd", "active", "item-101",
      "is-active", "has-post-thumbnail",
    ] {
      XCTAssertFalse(ListingVocabulary.isStableClass(unstable), unstable)
    }
  }
}
