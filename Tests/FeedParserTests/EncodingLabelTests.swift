import FeedModel
import Foundation
import XCTest

@testable import FeedParser

/// Encoding detection and label resolution: XML 1.0 appendix F, the WHATWG label table, iconv
/// code pages (Python feedparser's `\x80` cases), RFC 3023/7303 precedence and the fallbacks.
final class EncodingLabelTests: XCTestCase {
  /// An RSS document `<?xml … encoding="label"?>` whose channel title is `title`, as bytes.
  private func rss(label: String?, title: [UInt8], prefix: String = "") -> [UInt8] {
    let decl = label.map { "<?xml version=\"1.0\" encoding=\"\($0)\"?>" } ?? ""
    return Array((prefix + decl + "<rss version=\"2.0\"><channel><title>").utf8) + title
      + Array("</title></channel></rss>".utf8)
  }

  /// ASCII text in EBCDIC (code chart: letters, digits and the punctuation used here are the
  /// same in cp037, cp500 and cp1140).
  private func ebcdic(_ text: String) -> [UInt8] {
    text.unicodeScalars.map { s -> UInt8 in
      let v = Int(s.value)
      switch s {
      case "a"..."i": return UInt8(0x81 + v - 0x61)
      case "j"..."r": return UInt8(0x91 + v - 0x6A)
      case "s"..."z": return UInt8(0xA2 + v - 0x73)
      case "A"..."I": return UInt8(0xC1 + v - 0x41)
      case "J"..."R": return UInt8(0xD1 + v - 0x4A)
      case "S"..."Z": return UInt8(0xE2 + v - 0x53)
      case "0"..."9": return UInt8(0xF0 + v - 0x30)
      case " ": return 0x40
      case "<": return 0x4C
      case ">": return 0x6E
      case "?": return 0x6F
      case "=": return 0x7E
      case "\"": return 0x7F
      case "/": return 0x61
      case ".": return 0x4B
      case "-": return 0x60
      case "_": return 0x6D
      default: fatalError("no EBCDIC byte for \(s) in this helper")
      }
    }
  }

  /// Python feedparser's test_encoding: byte 0x80 in the title, the document in `label`. The
  /// expected characters are Python's codecs' (an implementation independent of iconv).
  static let x80Cases: [(label: String, expected: String, ebcdic: Bool)] = [
    ("437", "\u{C7}", false),
    ("850", "\u{C7}", false),
    ("852", "\u{C7}", false),
    ("855", "\u{452}", false),
    ("857", "\u{C7}", false),
    ("860", "\u{C7}", false),
    ("861", "\u{C7}", false),
    ("862", "\u{5D0}", false),
    ("863", "\u{C7}", false),
    ("865", "\u{C7}", false),
    ("866", "\u{410}", false),
    ("cp037", "\u{D8}", true),
    ("cp1125", "\u{410}", false),
    ("cp1250", "\u{20AC}", false),
    ("cp1251", "\u{402}", false),
    ("cp1252", "\u{20AC}", false),
    ("cp1253", "\u{20AC}", false),
    ("cp1254", "\u{20AC}", false),
    ("cp1255", "\u{20AC}", false),
    ("cp1256", "\u{20AC}", false),
    ("cp1257", "\u{20AC}", false),
    ("cp1258", "\u{20AC}", false),
    ("cp437", "\u{C7}", false),
    ("cp500", "\u{D8}", true),
    ("cp737", "\u{391}", false),
    ("cp775", "\u{106}", false),
    ("cp850", "\u{C7}", false),
    ("cp852", "\u{C7}", false),
    ("cp855", "\u{452}", false),
    ("cp856", "\u{5D0}", false),
    ("cp857", "\u{C7}", false),
    ("cp860", "\u{C7}", false),
    ("cp861", "\u{C7}", false),
    ("cp862", "\u{5D0}", false),
    ("cp863", "\u{C7}", false),
    ("cp864", "\u{B0}", false),
    ("cp865", "\u{C7}", false),
    ("cp866", "\u{410}", false),
    ("cp874", "\u{20AC}", false),
    ("cp875", "\u{385}", true),
    ("cp_is", "\u{C7}", false),
    ("csibm037", "\u{D8}", true),
    ("csibm500", "\u{D8}", true),
    ("csibm855", "\u{452}", false),
    ("csibm857", "\u{C7}", false),
    ("csibm860", "\u{C7}", false),
    ("csibm861", "\u{C7}", false),
    ("csibm863", "\u{C7}", false),
    ("csibm864", "\u{B0}", false),
    ("csibm865", "\u{C7}", false),
    ("csibm866", "\u{410}", false),
    ("cskoi8r", "\u{2500}", false),
    ("cspc775baltic", "\u{106}", false),
    ("cspc850multilingual", "\u{C7}", false),
    ("cspc862latinhebrew", "\u{5D0}", false),
    ("cspc8codepage437", "\u{C7}", false),
    ("cspcp852", "\u{C7}", false),
    ("ebcdic-cp-be", "\u{D8}", true),
    ("ebcdic-cp-ca", "\u{D8}", true),
    ("ebcdic-cp-ch", "\u{D8}", true),
    ("ebcdic-cp-nl", "\u{D8}", true),
    ("ebcdic-cp-us", "\u{D8}", true),
    ("ebcdic-cp-wt", "\u{D8}", true),
    ("ebcdic_cp_be", "\u{D8}", true),
    ("ebcdic_cp_ca", "\u{D8}", true),
    ("ebcdic_cp_ch", "\u{D8}", true),
    ("ebcdic_cp_nl", "\u{D8}", true),
    ("ebcdic_cp_us", "\u{D8}", true),
    ("ebcdic_cp_wt", "\u{D8}", true),
    ("ibm037", "\u{D8}", true),
    ("ibm039", "\u{D8}", true),
    ("ibm1140", "\u{D8}", true),
    ("ibm437", "\u{C7}", false),
    ("ibm500", "\u{D8}", true),
    ("ibm775", "\u{106}", false),
    ("ibm850", "\u{C7}", false),
    ("ibm852", "\u{C7}", false),
    ("ibm855", "\u{452}", false),
    ("ibm857", "\u{C7}", false),
    ("ibm860", "\u{C7}", false),
    ("ibm861", "\u{C7}", false),
    ("ibm862", "\u{5D0}", false),
    ("ibm863", "\u{C7}", false),
    ("ibm864", "\u{B0}", false),
    ("ibm865", "\u{C7}", false),
    ("ibm866", "\u{410}", false),
    ("koi8-r", "\u{2500}", false),
    ("koi8-t", "\u{49B}", false),
    ("koi8-u", "\u{2500}", false),
    ("mac-cyrillic", "\u{410}", false),
    ("maccentraleurope", "\u{C4}", false),
    ("maccyrillic", "\u{410}", false),
    ("macgreek", "\u{C4}", false),
    ("maciceland", "\u{C4}", false),
    ("macintosh", "\u{C4}", false),
    ("maclatin2", "\u{C4}", false),
    ("macroman", "\u{C4}", false),
    ("macturkish", "\u{C4}", false),
    ("windows-1250", "\u{20AC}", false),
    ("windows-1251", "\u{402}", false),
    ("windows-1252", "\u{20AC}", false),
    ("windows-1253", "\u{20AC}", false),
    ("windows-1254", "\u{20AC}", false),
    ("windows-1255", "\u{20AC}", false),
    ("windows-1256", "\u{20AC}", false),
    ("windows-1257", "\u{20AC}", false),
    ("windows-1258", "\u{20AC}", false),
    ("windows_1250", "\u{20AC}", false),
    ("windows_1251", "\u{402}", false),
    ("windows_1252", "\u{20AC}", false),
    ("windows_1253", "\u{20AC}", false),
    ("windows_1254", "\u{20AC}", false),
    ("windows_1255", "\u{20AC}", false),
    ("windows_1256", "\u{20AC}", false),
    ("windows_1257", "\u{20AC}", false),
    ("windows_1258", "\u{20AC}", false),
  ]

  func testEveryFeedparserX80Label() throws {
    var failures: [String] = []
    for c in Self.x80Cases {
      let bytes: [UInt8]
      if c.ebcdic {
        bytes =
          ebcdic(
            "<?xml version=\"1.0\" encoding=\"\(c.label)\"?><rss version=\"2.0\"><channel><title>"
          ) + [0x80] + ebcdic("</title></channel></rss>")
      } else {
        bytes = rss(label: c.label, title: [0x80])
      }
      do {
        let p = try FeedParser.parse(Data(bytes))
        if p.feed.title != c.expected {
          failures.append("\(c.label): \(p.feed.title ?? "nil") (\(p.encoding))")
        }
      } catch {
        failures.append("\(c.label): \(error)")
      }
    }
    XCTAssertEqual(failures, [], "\(failures.count) of \(Self.x80Cases.count) labels failed")
  }

  func testWHATWGLabelsAndLenientAliases() throws {
    let cases: [(String, [UInt8], String, String)] = [
      ("iso-8859-1", [0x93, 0x78, 0x94], "\u{201C}x\u{201D}", "windows-1252"),
      (" LATIN1 ", [0x93, 0x78, 0x94], "\u{201C}x\u{201D}", "windows-1252"),
      ("us-ascii", [0x80], "\u{20AC}", "windows-1252"),
      ("ascii", [0x85], "\u{2026}", "windows-1252"),
      ("iso-8859-9", [0x80, 0xFD], "\u{20AC}\u{131}", "windows-1254"),
      ("ISO_8859-9", [0xFD], "\u{131}", "windows-1254"),
      ("gb2312", [0xD6, 0xD0, 0x86, 0xC0], "\u{4E2D}\u{559E}", "gbk"),
      ("x-mac-cyrillic", [0x80, 0x9F], "\u{410}\u{42F}", "x-mac-cyrillic"),
      ("shift_jis", [0x93, 0xFA, 0x96, 0x7B], "\u{65E5}\u{672C}", "shift_jis"),
      ("Shift-JIS", [0x93, 0xFA, 0x96, 0x7B], "\u{65E5}\u{672C}", "shift_jis"),
      ("euc-kr", [0xC7, 0xD1, 0xB1, 0xB9], "\u{D55C}\u{AD6D}", "euc-kr"),
      ("koi8-u", [0xA4, 0xA6], "\u{454}\u{456}", "koi8-u"),
      ("cp-1257", [0xE0], "\u{105}", "windows-1257"),
      ("win-1257", [0xE0], "\u{105}", "windows-1257"),
      ("x-cp1257", [0xE0], "\u{105}", "windows-1257"),
      ("windows_1257", [0xE0], "\u{105}", "windows-1257"),
      ("CP1257", [0xE0], "\u{105}", "windows-1257"),
      ("tis-620", [0xA1], "\u{E01}", "windows-874"),
      ("mac-roman", [0x80], "\u{C4}", "macintosh"),
      ("csmacintosh", [0x80], "\u{C4}", "macintosh"),
      ("iso-8859-2", [0xB1], "\u{105}", "iso-8859-2"),
      ("latin9", [0xA4], "\u{20AC}", "iso-8859-15"),
      ("l9", [0xA4], "\u{20AC}", "iso-8859-15"),
      ("iso-8859-13", [0xE0], "\u{105}", "iso-8859-13"),
      ("big5", [0xA4, 0xA4, 0xA4, 0xE5], "\u{4E2D}\u{6587}", "big5"),
      ("euc-jp", [0xC6, 0xFC, 0xCB, 0xDC], "\u{65E5}\u{672C}", "euc-jp"),
      ("windows-1251", [0xCF, 0xF0], "\u{41F}\u{440}", "windows-1251"),
      ("cp437", [0x80], "\u{C7}", "cp437"),
      ("koi8-r", [0xF0], "\u{41F}", "koi8-r"),
    ]
    for (label, bytes, expected, name) in cases {
      let p = try FeedParser.parse(Data(rss(label: label, title: bytes)))
      XCTAssertEqual(p.feed.title, expected, label)
      XCTAssertEqual(p.encoding, name, label)
      // The same label in the HTTP charset of an XML media type.
      let h = try FeedParser.parse(
        Data(rss(label: nil, title: bytes)), contentType: "application/rss+xml; charset=\(label)")
      XCTAssertEqual(h.feed.title, expected, "HTTP \(label)")
      XCTAssertEqual(h.encoding, name, "HTTP \(label)")
    }
  }

  func testEBCDICIsSniffedAndItsDeclarationPicksTheCodePage() throws {
    // cp037 and cp500 differ at 0x5A: `!` in cp037, `]` in cp500.
    let body =
      ebcdic("<rss version=\"2.0\"><channel><title>a") + [0x5A]
      + ebcdic(
        "</title></channel></rss>")
    let plain = try FeedParser.parse(Data(ebcdic("<?xml version=\"1.0\"?>") + body))
    XCTAssertEqual(plain.encoding, "cp037")
    XCTAssertEqual(plain.feed.title, "a!")
    let cp500 = try FeedParser.parse(
      Data(ebcdic("<?xml version=\"1.0\" encoding=\"ibm500\"?>") + body))
    XCTAssertEqual(cp500.encoding, "ibm500")
    XCTAssertEqual(cp500.feed.title, "a]")
  }

  private func utf16(_ s: String, bigEndian: Bool) -> [UInt8] {
    s.utf16.flatMap { u in
      bigEndian ? [UInt8(u >> 8), UInt8(u & 0xFF)] : [UInt8(u & 0xFF), UInt8(u >> 8)]
    }
  }

  private func utf32(_ s: String, order: [Int]) -> [UInt8] {
    s.unicodeScalars.flatMap { u -> [UInt8] in
      let be = [
        UInt8(u.value >> 24), UInt8((u.value >> 16) & 0xFF), UInt8((u.value >> 8) & 0xFF),
        UInt8(u.value & 0xFF),
      ]
      return order.map { be[$0] }
    }
  }

  let doc = "<rss version=\"2.0\"><channel><title>Ąžuolas €</title></channel></rss>"

  func testUTF16AndUTF32WithoutBOMOrDeclaration() throws {
    let le = try FeedParser.parse(Data(utf16("\n  " + doc, bigEndian: false)))
    XCTAssertEqual(le.encoding, "utf-16le")
    XCTAssertEqual(le.feed.title, "Ąžuolas €")
    let be = try FeedParser.parse(Data(utf16(doc, bigEndian: true)))
    XCTAssertEqual(be.encoding, "utf-16be")
    XCTAssertEqual(be.feed.title, "Ąžuolas €")
    let be32 = try FeedParser.parse(Data(utf32(doc, order: [0, 1, 2, 3])))
    XCTAssertEqual(be32.encoding, "utf-32be")
    XCTAssertEqual(be32.feed.title, "Ąžuolas €")
    let le32 = try FeedParser.parse(Data(utf32(doc, order: [3, 2, 1, 0])))
    XCTAssertEqual(le32.encoding, "utf-32le")
    XCTAssertEqual(le32.feed.title, "Ąžuolas €")
    // The unusual UCS-4 orders of appendix F: 2143 (`00 00 3C 00`) and 3412 (`00 3C 00 00`).
    let o2143 = try FeedParser.parse(Data(utf32(doc, order: [1, 0, 3, 2])))
    XCTAssertEqual(o2143.feed.title, "Ąžuolas €")
    let o3412 = try FeedParser.parse(Data(utf32(doc, order: [2, 3, 0, 1])))
    XCTAssertEqual(o3412.feed.title, "Ąžuolas €")
  }

  func testUTF16DeclarationPatternsAndWrongLabels() throws {
    let decl = "<?xml version=\"1.0\" encoding=\"utf-16\"?>" + doc
    // `3C 00 3F 00` and `00 3C 00 3F`.
    XCTAssertEqual(
      try FeedParser.parse(Data(utf16(decl, bigEndian: false))).feed.title, "Ąžuolas €")
    XCTAssertEqual(try FeedParser.parse(Data(utf16(decl, bigEndian: true))).feed.title, "Ąžuolas €")
    // An HTTP charset of utf-8 on UTF-16 bytes is wrong: the bytes win, with a warning.
    let p = try FeedParser.parse(
      Data(utf16(decl, bigEndian: false)), contentType: "application/xml; charset=utf-8")
    XCTAssertEqual(p.encoding, "utf-16le")
    XCTAssertEqual(p.feed.title, "Ąžuolas €")
    XCTAssertTrue(
      p.diagnostics.contains { $0.message.contains("label ignored") }, "\(p.diagnostics)")
    // A utf-16 label on ASCII bytes is wrong too.
    let ascii = try FeedParser.parse(Data(rss(label: "utf-16", title: Array("plain".utf8))))
    XCTAssertEqual(ascii.encoding, "utf-8")
    XCTAssertEqual(ascii.feed.title, "plain")
  }

  func testJSONFeedInUTF16IsJSON() throws {
    let json =
      #"{"version":"https://jsonfeed.org/version/1.1","title":"Ąžuolas","items":[{"id":"1","content_text":"x"}]}"#
    for (bytes, name) in [
      ([0xFF, 0xFE] + utf16(json, bigEndian: false), "utf-16le"),
      ([0xFE, 0xFF] + utf16(json, bigEndian: true), "utf-16be"),
      (utf16(json, bigEndian: true), "utf-16be"),
      (utf16(json, bigEndian: false), "utf-16le"),
    ] as [([UInt8], String)] {
      let p = try FeedParser.parse(Data(bytes))
      XCTAssertEqual(p.format, .jsonfeed, name)
      XCTAssertEqual(p.encoding, name)
      XCTAssertEqual(p.feed.title, "Ąžuolas", name)
    }
  }

  func testRFC3023Precedence() throws {
    // windows-1257 "ą" (E0) declared in the document.
    let doc = rss(label: "windows-1257", title: [0xE0])
    // application/*+xml: the HTTP charset beats the declaration.
    let app = try FeedParser.parse(
      Data(doc), contentType: "application/atom+xml; charset=iso-8859-2")
    XCTAssertEqual(app.encoding, "iso-8859-2")
    XCTAssertEqual(app.feed.title, "\u{155}")  // ŕ in ISO 8859-2
    // application/xml without a charset: the declaration.
    let noCharset = try FeedParser.parse(Data(doc), contentType: "application/xml")
    XCTAssertEqual(noCharset.encoding, "windows-1257")
    XCTAssertEqual(noCharset.feed.title, "ą")
    // text/xml with a charset: the charset.
    let text = try FeedParser.parse(Data(doc), contentType: "text/xml; charset=\"KOI8-R\"")
    XCTAssertEqual(text.encoding, "koi8-r")
    XCTAssertEqual(text.feed.title, "\u{42E}")  // Ю in KOI8-R
    // text/xml without a charset: RFC 3023's us-ascii for ASCII bytes (as feedparser reports)…
    let ascii = try FeedParser.parse(
      Data(rss(label: "utf-8", title: Array("plain".utf8))), contentType: "text/xml")
    XCTAssertEqual(ascii.encoding, "us-ascii")
    XCTAssertEqual(ascii.feed.title, "plain")
    // …and the declaration when bytes are not ASCII (feedparser's fallback).
    let nonASCII = try FeedParser.parse(Data(doc), contentType: "text/xml")
    XCTAssertEqual(nonASCII.encoding, "windows-1257")
    XCTAssertEqual(nonASCII.feed.title, "ą")
    // A type that is not XML: its charset comes after the declaration.
    let other = try FeedParser.parse(
      Data(doc), contentType: "application/octet-stream; charset=koi8-r")
    XCTAssertEqual(other.encoding, "windows-1257")
    // No declaration, no type: UTF-8.
    let none = try FeedParser.parse(Data(rss(label: nil, title: Array("ą".utf8))))
    XCTAssertEqual(none.encoding, "utf-8")
    XCTAssertEqual(none.feed.title, "ą")
  }

  func testDeclaredEncodingThatFailsFallsBack() throws {
    // HTTP says UTF-8, the bytes are the declared windows-1257: read as declared, with a note.
    let doc = rss(label: "windows-1257", title: [0xC0, 0xFE, 0x75, 0x6F, 0x6C, 0x61, 0x73])
    let p = try FeedParser.parse(Data(doc), contentType: "application/rss+xml; charset=utf-8")
    XCTAssertEqual(p.encoding, "windows-1257")
    XCTAssertEqual(p.feed.title, "Ąžuolas")
    XCTAssertTrue(
      p.diagnostics.contains { $0.message.contains("declared as utf-8") }, "\(p.diagnostics)")
    // Labelled UTF-8 (no other label), bytes plainly windows-1252: read as windows-1252.
    let cp = try FeedParser.parse(
      Data(rss(label: "utf-8", title: [0x93, 0x43, 0x61, 0x66, 0xE9, 0x94])))
    XCTAssertEqual(cp.encoding, "windows-1252")
    XCTAssertEqual(cp.feed.title, "“Café”")
    XCTAssertTrue(
      cp.diagnostics.contains { $0.message.contains("not valid utf-8") }, "\(cp.diagnostics)")
    // Mostly UTF-8 with one cut-off sequence (an excerpt cut mid-character): stays UTF-8.
    let text = Array("Ąžuolynas ir Šiauliai: ėčįųū".utf8) + [0xC4]
    let cut = try FeedParser.parse(Data(rss(label: "utf-8", title: text)))
    XCTAssertEqual(cut.encoding, "utf-8")
    XCTAssertEqual(cut.feed.title, "Ąžuolynas ir Šiauliai: ėčįųū\u{FFFD}")
  }

  /// Every label of the WHATWG table resolves to its encoding in any case, with whitespace
  /// around it and with `_` for `-`; and every encoding it names decodes ASCII through its
  /// decoder (so each iconv name in the table is one glibc knows).
  func testEveryWHATWGLabelInAnyCaseDecodes() {
    var failures: [String] = []
    XCTAssertGreaterThanOrEqual(Set(EncodingLabels.whatwg.values).count, 38)
    for (key, name) in EncodingLabels.whatwg {
      for spelling in [key, key.uppercased(), " \t\(key.uppercased())\n "] {
        guard let c = EncodingLabels.resolve(spelling) else {
          failures.append("'\(spelling)' unresolved")
          continue
        }
        if c.name != name { failures.append("'\(spelling)' → \(c.name), expected \(name)") }
      }
      let c = EncodingLabels.charset(whatwgName: name)
      guard c.isASCIICompatible else { continue }
      let ascii = Array("<rss>".utf8)
      let out = ascii.withUnsafeBytes { FeedEncoding.convert($0, c, strict: true) }
      guard let out else {
        failures.append("\(name): no decoder")
        continue
      }
      if let bytes = out.utf8, bytes != ascii { failures.append("\(name): ASCII changed") }
    }
    for spelling in ["ISO_8859_2", "Windows_1250", "iso 8859 15", "KOI8_R", "x_mac_cyrillic"] {
      if EncodingLabels.resolve(spelling) == nil { failures.append("'\(spelling)' unresolved") }
    }
    XCTAssertEqual(failures, [])
  }

  func testLabelResolution() {
    XCTAssertEqual(EncodingLabels.resolve("  ISO-8859-1\t")?.name, "windows-1252")
    XCTAssertEqual(EncodingLabels.resolve("'utf8'")?.name, "utf-8")
    XCTAssertEqual(EncodingLabels.resolve("unicode-1-1-utf-8")?.name, "utf-8")
    XCTAssertEqual(EncodingLabels.resolve("ks_c_5601-1987")?.name, "euc-kr")
    XCTAssertEqual(EncodingLabels.resolve("windows-31j")?.name, "shift_jis")
    XCTAssertEqual(EncodingLabels.resolve("ms-1250")?.name, "windows-1250")
    XCTAssertEqual(EncodingLabels.resolve("ansi_x3.4-1968")?.name, "windows-1252")
    XCTAssertEqual(EncodingLabels.resolve("csisolatin9")?.name, "iso-8859-15")
    XCTAssertEqual(EncodingLabels.resolve("x-user-defined")?.name, "x-user-defined")
    XCTAssertEqual(EncodingLabels.resolve("ibm-850")?.decoder, .iconv("IBM850"))
    XCTAssertNil(EncodingLabels.resolve("x-no-such-charset"))
    XCTAssertNil(EncodingLabels.resolve("../../etc/passwd"))
    XCTAssertNil(EncodingLabels.resolve(""))
  }
}
