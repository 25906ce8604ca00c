import Foundation
import TestSupport
import XCTest

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// `clusterwire import-opml` through the real binary: drop-ins that `check-config` accepts,
/// refusals and exit codes, and the round trip through a running daemon's `/sources.opml`.
final class ImportOPMLCommandTests: XCTestCase {
  var dir: URL!
  var daemons: [(Process, NotifySocket)] = []

  override func setUp() async throws {
    dir = try TestSupport.makeTempDirectory("cw-import-opml")
  }

  override func tearDown() async throws {
    for (process, notify) in daemons {
      // Only the documents matter here, not a graceful stop.
      if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
      }
      notify.close()
    }
    if let dir, testRun?.hasSucceeded ?? false { try? FileManager.default.removeItem(at: dir) }
  }

  private func cli(_ arguments: [String], input: Data? = nil) throws -> TestSupport.ProcessResult {
    try TestSupport.run(TestSupport.clusterwireBinary, arguments, input: input)
  }

  private func opmlFixture(_ name: String) -> String {
    TestSupport.fixture("DiscoveryTests", "opml/\(name)").path
  }

  /// A main config that takes its sources from `sources.d/` (and has none of its own).
  private func mainConfig(in directory: URL, port: Int = 8080) throws -> URL {
    let url = directory.appendingPathComponent("clusterwire.toml")
    try """
    include = ["sources.d/*.toml"]
    [server]
    listen = "127.0.0.1:\(port)"
    base_url = "http://127.0.0.1:\(port)/"
    [store]
    path = "state/clusterwire.sqlite"
    [feed]
    title = "Importo testas"
    author = "Testas"
    [crawl]
    interval = "1h"
    timeout = "5s"
    """.write(to: url, atomically: true, encoding: .utf8)
    return url
  }

  func testImportedDropInsAreAcceptedByCheckConfigAndNeverOverwrittenWithoutForce() throws {
    let feedly = opmlFixture("feedly.opml")
    let printed = try cli(["import-opml", feedly])
    XCTAssertEqual(printed.status, 0, printed.stderrString)
    XCTAssertEqual(printed.stdoutString.components(separatedBy: "[[source]]\n").count - 1, 6)
    XCTAssertTrue(
      printed.stderrString.contains(
        "feedly.opml:15: \"IRT klasteris „Infobalt“\" skipped: duplicate of the feed at line 11"),
      printed.stderrString)
    XCTAssertTrue(
      printed.stderrString.contains("clusterwire: 6 sources imported, 1 outline skipped"),
      printed.stderrString)

    // The printed document, as a drop-in, loads.
    let printedDir = dir.appendingPathComponent("printed")
    try FileManager.default.createDirectory(
      at: printedDir.appendingPathComponent("sources.d"), withIntermediateDirectories: true)
    try printed.stdout.write(to: printedDir.appendingPathComponent("sources.d/feedly.toml"))
    let printedCheck = try cli(["check-config", try mainConfig(in: printedDir).path])
    XCTAssertEqual(printedCheck.status, 0, printedCheck.stderrString)
    XCTAssertTrue(
      printedCheck.stdoutString.contains("sources:     6 (6 enabled, 0 disabled)"),
      printedCheck.stdoutString)

    // --write: one file per source, in a directory created on the way.
    let written = dir.appendingPathComponent("etc")
    let sourcesD = written.appendingPathComponent("sources.d")
    let write = try cli(["import-opml", feedly, "--write", sourcesD.path])
    XCTAssertEqual(write.status, 0, write.stderrString)
    let files = try FileManager.default.contentsOfDirectory(atPath: sourcesD.path).sorted()
    XCTAssertEqual(
      files,
      [
        "european-cluster-collaboration-platform.toml", "irt-klasteris-infobalt.toml",
        "lietuvos-klasteriu-tinklas.toml", "startup-lithuania.toml", "the-verge.toml",
        "zemes-ukio-klasteris.toml",
      ])
    XCTAssertEqual(
      write.stdoutString.split(separator: "\n").map { String($0) }.sorted(),
      files.map { sourcesD.appendingPathComponent($0).path })
    let infobalt = try String(
      contentsOf: sourcesD.appendingPathComponent("irt-klasteris-infobalt.toml"), encoding: .utf8)
    XCTAssertTrue(infobalt.contains("# site: https://www.infobalt.lt/\n"), infobalt)
    XCTAssertTrue(infobalt.contains("categories = [\"klasteriai\", \"tech-startups\"]"), infobalt)
    let check = try cli(["check-config", try mainConfig(in: written).path])
    XCTAssertEqual(check.status, 0, check.stderrString)
    XCTAssertTrue(check.stdoutString.contains("sources:     6 (6 enabled"), check.stdoutString)

    // Again without --force: nothing is overwritten, each refusal names the file, exit 1.
    let before = try Data(contentsOf: sourcesD.appendingPathComponent("the-verge.toml"))
    try (before + Data("# edited by the admin\n".utf8)).write(
      to: sourcesD.appendingPathComponent("the-verge.toml"))
    let again = try cli(["import-opml", feedly, "--write", sourcesD.path])
    XCTAssertEqual(again.status, 1, again.stderrString)
    XCTAssertTrue(
      again.stderrString.contains(
        "\(sourcesD.path)/the-verge.toml already exists (use --force to overwrite it)"),
      again.stderrString)
    XCTAssertTrue(again.stderrString.contains("0 sources imported"), again.stderrString)
    XCTAssertNotEqual(
      try Data(contentsOf: sourcesD.appendingPathComponent("the-verge.toml")), before,
      "the admin's edit is still there")
    let forced = try cli(["import-opml", feedly, "--write", sourcesD.path, "--force"])
    XCTAssertEqual(forced.status, 0, forced.stderrString)
    XCTAssertEqual(try Data(contentsOf: sourcesD.appendingPathComponent("the-verge.toml")), before)
  }

  func testWithTheConfigKnownFeedsAreSkippedAndTakenIDsAvoided() throws {
    let root = dir.appendingPathComponent("configured")
    let dropIns = root.appendingPathComponent("sources.d")
    try FileManager.default.createDirectory(at: dropIns, withIntermediateDirectories: true)
    let config = try mainConfig(in: root)
    // The network's own feed is configured already (other host case, no trailing slash), and
    // another source holds the id the Startup Lithuania outline would get.
    try """
    [[source]]
    id = "klasteriai"
    url = "https://WWW.Clusters.lt/feed"
    [[source]]
    id = "startup-lithuania"
    url = "https://startup.example.lt/rss.xml"
    """.write(
      to: dropIns.appendingPathComponent("existing.toml"), atomically: true, encoding: .utf8)
    let r = try cli([
      "import-opml", opmlFixture("feedly.opml"), "--config", config.path, "--write", dropIns.path,
    ])
    XCTAssertEqual(r.status, 0, r.stderrString)
    XCTAssertTrue(
      r.stderrString.contains("skipped: already configured as source 'klasteriai'"), r.stderrString)
    XCTAssertTrue(r.stdoutString.contains("startup-lithuania-2.toml"), r.stdoutString)
    XCTAssertFalse(r.stdoutString.contains("lietuvos-klasteriu-tinklas"), r.stdoutString)
    let check = try cli(["check-config", config.path])
    XCTAssertEqual(check.status, 0, check.stderrString)
    XCTAssertTrue(
      check.stdoutString.contains("sources:     7 (7 enabled, 0 disabled)"), check.stdoutString)
  }

  func testExitCodesAndErrors() throws {
    let broken = try cli(["import-opml", opmlFixture("broken.opml")])
    XCTAssertEqual(broken.status, 2)
    XCTAssertTrue(
      broken.stderrString.contains(
        "broken.opml: not well-formed XML: line 7: Opening and ending tag mismatch"),
      broken.stderrString)
    XCTAssertEqual(broken.stdout, Data())

    let rss = try cli(["import-opml", opmlFixture("rss-not-opml.xml")])
    XCTAssertEqual(rss.status, 2)
    XCTAssertTrue(
      rss.stderrString.contains("not OPML: root element is <rss>, expected <opml>"),
      rss.stderrString)

    let bomb = try cli(["import-opml", opmlFixture("billion-laughs.opml")])
    XCTAssertEqual(bomb.status, 2)
    XCTAssertTrue(bomb.stderrString.contains("refused: line 3 declares an entity"))

    // libxml2 prints nothing of its own: one line, ours.
    let baltic = try cli(
      ["import-opml", "-"],
      input: Data("<?xml version=\"1.0\" encoding=\"windows-1257\"?>\n<opml><body>\n".utf8)
        + Data([0xA1]) + Data("</body></opml>\n".utf8))
    XCTAssertEqual(baltic.status, 2)
    XCTAssertEqual(
      baltic.stderrString,
      "clusterwire: -: not well-formed XML: input conversion failed due to input error, "
        + "bytes 0xA1 0x3C 0x2F 0x62\n")

    let missing = try cli(["import-opml", dir.appendingPathComponent("nope.opml").path])
    XCTAssertEqual(missing.status, 2)
    XCTAssertTrue(missing.stderrString.contains("nope.opml: no such file"), missing.stderrString)

    // Only links and folders: nothing imported, each outline reported, exit 1.
    let links = Data(
      """
      <opml version="2.0"><body><outline text="Nuorodos">
        <outline type="link" text="Klasterių žemėlapis" url="https://www.clusters.lt/zemelapis/"/>
        <outline text="Empty folder"/>
      </outline></body></opml>
      """.utf8)
    let none = try cli(["import-opml", "-"], input: links)
    XCTAssertEqual(none.status, 1, none.stderrString)
    XCTAssertTrue(
      none.stderrString.contains("-:2: \"Klasterių žemėlapis\" skipped: type=\"link\""),
      none.stderrString)
    XCTAssertTrue(none.stderrString.contains("-:3: \"Empty folder\" skipped: no xmlUrl"))
    XCTAssertTrue(none.stderrString.contains("0 sources imported, 2 outlines skipped"))
    XCTAssertEqual(none.stdout, Data())

    let forceAlone = try cli(["import-opml", opmlFixture("feedly.opml"), "--force"])
    XCTAssertNotEqual(forceAlone.status, 0)
    XCTAssertTrue(forceAlone.stderrString.contains("--force only applies with --write"))
  }

  // MARK: - Round trip

  /// One outline of `/sources.opml`: what an import must carry over.
  struct Outline: Hashable, CustomStringConvertible {
    var id: String
    var xmlURL: String
    var title: String
    var categories: [String]
    var description: String { "\(id) \(xmlURL) \"\(title)\" \(categories)" }
  }

  /// The outlines of an OPML document, read namespace-aware.
  final class OutlineReader: NSObject, XMLParserDelegate {
    var outlines: [Outline] = []
    var error: Error?

    static func read(_ data: Data) -> OutlineReader {
      let reader = OutlineReader()
      let parser = XMLParser(data: data)
      parser.shouldProcessNamespaces = true
      parser.delegate = reader
      if !parser.parse() { reader.error = parser.parserError }
      return reader
    }

    func parser(
      _ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
      qualifiedName: String?, attributes: [String: String] = [:]
    ) {
      guard name == "outline" else { return }
      let categories = (attributes["category"] ?? "").split(separator: ",").map {
        String($0.drop { $0 == "/" })
      }
      outlines.append(
        Outline(
          id: attributes["clusterwire:id"] ?? attributes["id"] ?? "",
          xmlURL: attributes["xmlUrl"] ?? "",
          title: attributes["title"] ?? "", categories: categories))
    }
  }

  /// Starts `clusterwire run` on `config` and returns its `/sources.opml` once it lists `count`
  /// outlines.
  private func sourcesOPML(config: URL, port: Int, count: Int, logs: URL) throws -> Data {
    let notify = try NotifySocket(directory: logs)
    var env = ProcessInfo.processInfo.environment
    env["NOTIFY_SOCKET"] = notify.path
    let process = try TestSupport.spawn(
      TestSupport.clusterwireBinary,
      ["run", "--config", config.path, "--log-level", "warning"], environment: env,
      logDirectory: logs)
    daemons.append((process, notify))
    let stderr = {
      (try? String(contentsOf: logs.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
    }
    XCTAssertTrue(notify.wait(for: "READY=1", timeout: 60), "no READY=1: \(stderr())")
    var body = Data()
    let listed = TestSupport.waitUntil(timeout: 30) {
      guard let r = TestSupport.httpGet(port: port, path: "/sources.opml"), r.status == 200 else {
        return false
      }
      body = r.body
      return OutlineReader.read(r.body).outlines.count == count
    }
    XCTAssertTrue(listed, "sources.opml never listed \(count) sources: \(stderr())")
    return body
  }

  func testSourcesOPMLOfARunningDaemonImportsBackToTheSameSources() throws {
    // The original config: feeds (their hosts refuse connections: listing needs no fetch) and
    // an html source, with Lithuanian titles, several categories and ids unlike the titles.
    let a = dir.appendingPathComponent("a")
    try FileManager.default.createDirectory(
      at: a.appendingPathComponent("sources.d"), withIntermediateDirectories: true)
    let portA = TestSupport.freePort()
    let dead = TestSupport.freePort()
    try """
    <html><body><main>
    <article><h2><a href="/naujienos/1">Robotai gamykloje</a></h2><span class="date">2026-11-20</span></article>
    <article><h2><a href="/naujienos/2">Mechatronikos diena</a></h2><span class="date">2026-11-18</span></article>
    </main></body></html>
    """.write(to: a.appendingPathComponent("mechatronika.html"), atomically: true, encoding: .utf8)
    try """
    [[source]]
    id = "klasteriai-lt"
    url = "http://127.0.0.1:\(dead)/feed/"
    title = "Lietuvos klasterių tinklas"
    categories = ["network", "ict"]
    priority = 100

    [[source]]
    id = "infobalt"
    url = "http://127.0.0.1:\(dead)/infobalt/feed/?lang=lt&type=news"
    title = "IRT klasteris „Infobalt“"
    categories = ["ict"]

    [[source]]
    id = "eccp"
    url = "http://127.0.0.1:\(dead)/eccp/rss.xml"
    title = "European Cluster Collaboration Platform"
    categories = ["eu"]

    [[source]]
    id = "mechatronika"
    url = "../mechatronika.html"
    kind = "html"
    title = "Lietuvos mechatronikos klasteris"
    categories = ["manufacturing", "ict"]
    [source.select]
    item = "//main/article"
    title = ".//h2/a"
    link = ".//h2/a/@href"
    date = ".//span[@class='date']"
    """.write(
      to: a.appendingPathComponent("sources.d/members.toml"), atomically: true, encoding: .utf8)
    let configA = try mainConfig(in: a, port: portA)
    let expected: Set<Outline> = [
      Outline(
        id: "klasteriai-lt", xmlURL: "http://127.0.0.1:\(dead)/feed/",
        title: "Lietuvos klasterių tinklas", categories: ["network", "ict"]),
      Outline(
        id: "infobalt", xmlURL: "http://127.0.0.1:\(dead)/infobalt/feed/?lang=lt&type=news",
        title: "IRT klasteris „Infobalt“", categories: ["ict"]),
      Outline(
        id: "eccp", xmlURL: "http://127.0.0.1:\(dead)/eccp/rss.xml",
        title: "European Cluster Collaboration Platform", categories: ["eu"]),
      // An html source is published as our sub-feed of it, and imports as a feed of that.
      Outline(
        id: "mechatronika", xmlURL: "http://127.0.0.1:\(portA)/sources/mechatronika.atom",
        title: "Lietuvos mechatronikos klasteris", categories: ["manufacturing", "ict"]),
    ]
    let opmlA = try sourcesOPML(config: configA, port: portA, count: 4, logs: a)
    XCTAssertEqual(Set(OutlineReader.read(opmlA).outlines), expected)

    // Import it into a second instance's sources.d, which check-config accepts...
    let b = dir.appendingPathComponent("b")
    try FileManager.default.createDirectory(at: b, withIntermediateDirectories: true)
    let opmlFile = b.appendingPathComponent("sources.opml")
    try opmlA.write(to: opmlFile)
    let imported = try cli([
      "import-opml", opmlFile.path, "--write", b.appendingPathComponent("sources.d").path,
    ])
    XCTAssertEqual(imported.status, 0, imported.stderrString)
    XCTAssertTrue(
      imported.stderrString.contains("4 sources imported"), imported.stderrString)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(
        atPath: b.appendingPathComponent("sources.d").path
      )
      .sorted(),
      ["eccp.toml", "infobalt.toml", "klasteriai-lt.toml", "mechatronika.toml"])
    let portB = TestSupport.freePort()
    let configB = try mainConfig(in: b, port: portB)
    let check = try cli(["check-config", configB.path])
    XCTAssertEqual(check.status, 0, check.stderrString)

    // ...and whose own /sources.opml lists the same sources: ids, URLs, titles, categories.
    let opmlB = try sourcesOPML(config: configB, port: portB, count: 4, logs: b)
    XCTAssertEqual(Set(OutlineReader.read(opmlB).outlines), expected)
  }
}
