import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A loopback feed server for `crawl-bench`, run as its own process so its CPU and memory are not
/// counted as the crawler's. Serves `/s/{i}.xml` for `i` in `0..<sources`: RSS 2.0 documents of
/// deterministic, mixed sizes (1–200 KB, log-uniform, so most are small as on a real network)
/// with an `ETag` per source and generation.
///
/// Stateless conditional GETs: the ETag is `"s{i}-g{k}"`. A request carrying `If-None-Match` for
/// generation k is answered 304 for a deterministic share `--not-modified-ratio` of the sources;
/// the others have "changed" and get generation k+1 (a new item at the top, a new ETag). A request
/// without validators gets generation 0. With ratio 1 every conditional request is a 304.
struct FeedServer: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "feed-server", abstract: "Serve synthetic feeds on 127.0.0.1 (for crawl-bench).")

  @Option(help: "TCP port on 127.0.0.1 (0 picks one; the port is printed on stdout).") var port:
    Int = 0
  @Option(help: "Number of sources (/s/0.xml …).") var sources: Int = 10_000
  @Option(help: "Share of conditional requests answered 304 (the rest see a changed feed).")
  var notModifiedRatio: Double = 0.3
  @Option(help: "Exit after this many seconds (a benchmark server never outlives its run).")
  var lifetime: Int = 600

  func run() async throws {
    let catalog = FeedCatalog(sources: sources, notModifiedRatio: notModifiedRatio)
    let router = Router()
    router.get("/s/:file") { request, context -> Response in
      guard let file = context.parameters.get("file"), file.hasSuffix(".xml"),
        let index = Int(file.dropLast(4)), (0..<catalog.sources).contains(index)
      else { return Response(status: .notFound) }
      var generation = 0
      if let inm = request.headers[.ifNoneMatch], let k = FeedCatalog.generation(inm, index: index)
      {
        if catalog.unchanged(index: index, generation: k) {
          return Response(status: .notModified, headers: [.eTag: FeedCatalog.etag(index, k)])
        }
        generation = k + 1
      }
      let body = catalog.body(index: index, generation: generation)
      return Response(
        status: .ok,
        headers: [
          .contentType: "application/rss+xml; charset=utf-8",
          .eTag: FeedCatalog.etag(index, generation),
        ],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
    var logger = Logger(label: "feed-server")
    logger.logLevel = .warning
    let app = Application(
      router: router,
      configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: nil),
      onServerRunning: { channel in
        print("listening \(channel.localAddress?.port ?? 0)")
        fflush(nil)
      },
      logger: logger)
    let lifetime = self.lifetime
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await app.runService() }
      group.addTask { try await Task.sleep(nanoseconds: UInt64(lifetime) * 1_000_000_000) }
      _ = try await group.next()
      group.cancelAll()
    }
  }
}

/// The deterministic content behind `feed-server`.
struct FeedCatalog: Sendable {
  let sources: Int
  let notModifiedRatio: Double

  static func mix(_ x: UInt64) -> UInt64 {
    var z = x &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  static func unit(_ x: UInt64) -> Double { Double(mix(x) >> 11) / Double(1 << 53) }

  static func etag(_ index: Int, _ generation: Int) -> String { "\"s\(index)-g\(generation)\"" }

  static func generation(_ ifNoneMatch: String, index: Int) -> Int? {
    let prefix = "\"s\(index)-g"
    guard ifNoneMatch.hasPrefix(prefix), ifNoneMatch.hasSuffix("\"") else { return nil }
    return Int(ifNoneMatch.dropFirst(prefix.count).dropLast())
  }

  func unchanged(index: Int, generation: Int) -> Bool {
    notModifiedRatio >= 1
      || Self.unit(UInt64(index) &* 1_000_003 &+ UInt64(generation)) < notModifiedRatio
  }

  /// Target size in bytes: log-uniform between 1 KB and 200 KB.
  func size(index: Int) -> Int {
    Int(1000 * pow(200, Self.unit(UInt64(index))))
  }

  /// An RSS document of about `size(index)` bytes: 5–30 items with distinct titles and texts
  /// (deterministic pseudo-random words, so the store's near-duplicate detection sees real-looking
  /// variety rather than one repeated story).
  func body(index: Int, generation: Int) -> [UInt8] {
    let target = size(index: index)
    let items = 5 + Int(Self.mix(UInt64(index) ^ 0xABCD) % 26)
    var out = """
      <?xml version="1.0" encoding="utf-8"?>
      <rss version="2.0"><channel><title>Source \(index)</title>
      <link>https://s\(index).example.org/</link><description>Synthetic feed \(index)</description>

      """
    let perItem = max(40, (target - out.utf8.count) / items - 300)
    for j in 0..<items {
      // Newest first: generation g adds item g (ids stay stable for older items).
      let id = generation + items - 1 - j
      var rng = UInt64(index) &* 0x1_0000_0001 &+ UInt64(id)
      let title = Self.words(&rng, bytes: 50)
      let text = Self.words(&rng, bytes: perItem)
      let day = 1 + (id % 28)
      out += """
        <item><title>\(title)</title>
        <link>https://s\(index).example.org/news/\(id)</link><guid>s\(index)-\(id)</guid>
        <pubDate>Mon, \(day < 10 ? "0" : "")\(day) Jun 2026 10:00:00 GMT</pubDate>
        <description>\(text)</description></item>

        """
    }
    out += "</channel></rss>\n"
    return Array(out.utf8)
  }

  private static let vocabulary: [String] = """
    klasteris inovacijos naujienos bendradarbiavimas projektas technologijos eksportas verslas \
    mokslas tyrimai energetika lazeriai biotechnologijos gamyba skaitmeninis sprendimai renginys \
    konferencija partneriai investicijos regionas Vilnius Kaunas Klaipėda Europa programa \
    finansavimas startuoliai darnumas žiedinė ekonomika duomenys dirbtinis intelektas robotai \
    cluster innovation network partners export research energy lasers biotech manufacturing \
    digital solutions event conference investment region program funding startups circular \
    economy data artificial intelligence robotics members training skills growth market
    """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)

  /// About `bytes` bytes of words drawn with a xorshift generator seeded by `state`.
  static func words(_ state: inout UInt64, bytes: Int) -> String {
    var out = ""
    out.reserveCapacity(bytes + 16)
    if state == 0 { state = 0x9E37_79B9 }
    while out.utf8.count < bytes {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      if !out.isEmpty { out += " " }
      out += vocabulary[Int(state % UInt64(vocabulary.count))]
    }
    return out
  }
}
