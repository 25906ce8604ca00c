import FeedModel
import Foundation
import XCTest

@testable import FeedParser

final class EncodingTests: XCTestCase {
  let ltTitle = "Ąžuolynas ir Šiauliai: ėčįųū"

  func testWindows1257Lithuanian() throws {
    let p = try FeedFixtures.parse("lt-windows-1257.xml")
    XCTAssertEqual(p.encoding, "windows-1257")
    XCTAssertFalse(p.malformed)
    XCTAssertEqual(p.feed.title, "Lietuviškas kanalas")
    XCTAssertEqual(p.feed.entries.first?.title, ltTitle)
    XCTAssertTrue(p.diagnostics.isEmpty, "\(p.diagnostics)")
  }

  func testISO885913() throws {
    let p = try FeedFixtures.parse("lt-iso-8859-13.xml")
    XCTAssertEqual(p.encoding, "iso-8859-13")
    XCTAssertEqual(p.feed.entries.first?.title, ltTitle)
    XCTAssertEqual(p.feed.subtitle, "Koduotė iso-8859-13")
  }

  func testUTF16WithBOMBothEndians() throws {
    let le = try FeedFixtures.parse("lt-utf16le-bom.xml")
    XCTAssertEqual(le.encoding, "utf-16le")
    XCTAssertEqual(le.feed.entries.first?.title, ltTitle)
    let be = try FeedFixtures.parse("lt-utf16be-bom.xml")
    XCTAssertEqual(be.encoding, "utf-16be")
    XCTAssertEqual(be.feed.entries.first?.title, ltTitle)
    XCTAssertFalse(be.malformed)
  }

  func testUTF32() throws {
    let p = try FeedFixtures.parse("lt-utf32le.xml")
    XCTAssertEqual(p.encoding, "utf-32le")
    XCTAssertEqual(p.feed.entries.first?.title, ltTitle)
  }

  func testUTF16WithoutBOMIsSniffed() throws {
    var data = Data()
    let xml =
      "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel><title>\(ltTitle)</title></channel></rss>"
    for unit in xml.utf16 { data.append(contentsOf: [UInt8(unit >> 8), UInt8(unit & 0xFF)]) }
    let p = try FeedParser.parse(data)
    XCTAssertEqual(p.encoding, "utf-16be")
    XCTAssertEqual(p.feed.title, ltTitle)
  }

  func testWindows1252LabelledISO88591() throws {
    let p = try FeedFixtures.parse("cp1252-labelled-latin1.xml")
    XCTAssertEqual(p.encoding, "windows-1252")
    XCTAssertEqual(p.feed.title, "Café “quotes” – €5")
    XCTAssertEqual(p.feed.entries.first?.title, "Naïve — résumé™")
  }

  func testHTTPCharsetBeatsXMLDeclarationAndBOMBeatsBoth() throws {
    let p = try FeedFixtures.parse(
      "http-charset-utf8.xml", contentType: "application/rss+xml; charset=\"UTF-8\"")
    XCTAssertEqual(p.encoding, "utf-8")
    XCTAssertEqual(p.feed.entries.first?.title, ltTitle)
    // Declared windows-1257, no HTTP charset: the declaration is believed.
    let cp = try FeedFixtures.parse("lt-windows-1257.xml", contentType: "text/xml")
    XCTAssertEqual(cp.encoding, "windows-1257")
    // HTTP says windows-1257 for the windows-1257 file declared… windows-1257: fine either way.
    let http = try FeedFixtures.parse(
      "wrong-label-utf8.xml", contentType: "text/xml; charset=windows-1257")
    XCTAssertEqual(http.encoding, "windows-1257")
    XCTAssertEqual(http.feed.entries.first?.title, ltTitle)
    // A UTF-16 BOM wins over a wrong HTTP charset.
    let bom = try FeedFixtures.parse(
      "lt-utf16le-bom.xml", contentType: "text/xml; charset=iso-8859-1")
    XCTAssertEqual(bom.encoding, "utf-16le")
    XCTAssertEqual(bom.feed.entries.first?.title, ltTitle)
  }

  func testWrongLabelNeverAborts() throws {
    // Declared UTF-8, bytes are windows-1257 and none of them form UTF-8: the document is read
    // as windows-1252 (feedparser's fallback), with a warning, never failed.
    let p = try FeedFixtures.parse("wrong-label-utf8.xml")
    XCTAssertEqual(p.encoding, "windows-1252")
    XCTAssertEqual(p.feed.entries.count, 1)
    XCTAssertEqual(p.feed.entries.first?.title, "Àþuolynas ir Ðiauliai: ëèáøû")
    XCTAssertTrue(
      p.diagnostics.contains { $0.severity == .warning && $0.message.contains("not valid utf-8") },
      "\(p.diagnostics)")
  }

  func testUnknownEncodingLabelFallsBackToUTF8() throws {
    let xml =
      "<?xml version=\"1.0\" encoding=\"x-no-such-charset\"?><rss version=\"2.0\"><channel><title>Ąž</title></channel></rss>"
    let p = try FeedParser.parse(Data(xml.utf8))
    XCTAssertEqual(p.encoding, "utf-8")
    XCTAssertEqual(p.feed.title, "Ąž")
    XCTAssertTrue(p.diagnostics.contains { $0.message.contains("x-no-such-charset") })
  }

  func testOtherIconvEncodings() throws {
    let xml =
      "<?xml version=\"1.0\" encoding=\"koi8-r\"?><rss version=\"2.0\"><channel><title>Привет</title></channel></rss>"
    // "Привет" in KOI8-R, from the code chart (not from the converter under test).
    let koi: [UInt8] = [0xF0, 0xD2, 0xC9, 0xD7, 0xC5, 0xD4]
    var bytes = Array(xml.utf8)
    let word = Array("Привет".utf8)
    let range = try XCTUnwrap(bytes.firstRange(of: word))
    bytes.replaceSubrange(range, with: koi)
    let p = try FeedParser.parse(Data(bytes))
    XCTAssertEqual(p.encoding, "koi8-r")
    XCTAssertEqual(p.feed.title, "Привет")
  }

  func testUndecodableBytesInLegacyEncodingAreReplaced() throws {
    // 0x81 has no character in windows-1257.
    var bytes = Array(
      "<?xml version=\"1.0\" encoding=\"windows-1257\"?><rss version=\"2.0\"><channel><title>a".utf8
    )
    bytes += [0x81, 0xE0]  // undefined, then "ą"
    bytes += Array("b</title></channel></rss>".utf8)
    let p = try FeedParser.parse(Data(bytes))
    XCTAssertEqual(p.feed.title, "a\u{FFFD}ąb")
    XCTAssertFalse(p.malformed)
  }

  func testControlCharactersAreReplacedNotFatal() throws {
    let xml =
      "<rss version=\"2.0\"><channel><title>a\u{0B}b\u{1B}c</title><item><title>ok</title></item></channel></rss>"
    let p = try FeedParser.parse(Data(xml.utf8))
    XCTAssertFalse(p.malformed, "\(p.diagnostics)")
    XCTAssertEqual(p.feed.title, "a\u{FFFD}b\u{FFFD}c")
    XCTAssertEqual(p.feed.entries.count, 1)
  }

  func testJSONFeedWithInvalidUTF8() throws {
    var bytes = Array(#"{"version":"https://jsonfeed.org/version/1.1","title":"A"#.utf8)
    bytes += [0xFF, 0xC3]
    bytes += Array(#"","items":[{"id":"1","content_text":"x"}]}"#.utf8)
    let p = try FeedParser.parse(Data(bytes))
    XCTAssertEqual(p.format, .jsonfeed)
    XCTAssertEqual(p.feed.title, "A\u{FFFD}\u{FFFD}")
  }
}
