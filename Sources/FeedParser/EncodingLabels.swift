import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A character encoding as the decoder uses it: the lowercase name reported in
/// `ParsedFeed.encoding` and how the bytes are turned into UTF-8.
struct Charset: Equatable, Sendable {
  enum Decoder: Equatable, Sendable {
    case utf8
    case utf16be, utf16le, utf32be, utf32le
    /// UCS-4 in the unusual byte orders of XML 1.0 appendix F (2143 and 3412): 16-bit halves
    /// swapped, then read as UTF-32BE/LE.
    case ucs4Swapped(bigEndian: Bool)
    /// A label for UTF-16 or UTF-32 without a byte order: only meaningful when the bytes show
    /// the order (a BOM or the layout of `<`).
    case unicodeUnspecified(width: Int)
    /// WHATWG windows-1252 (every byte maps; 0x81, 0x8D, 0x8F, 0x90, 0x9D are C1 controls).
    case windows1252
    /// An ASCII-compatible single-byte code page from `SingleByteTables`.
    case table(SingleByteTables.Page)
    /// Anything glibc iconv converts, by its iconv name.
    case iconv(String)
  }

  var name: String
  var decoder: Decoder

  static let utf8 = Charset(name: "utf-8", decoder: .utf8)
  static let windows1252 = Charset(name: "windows-1252", decoder: .windows1252)
  static let cp037 = Charset(name: "cp037", decoder: .iconv("IBM037"))

  /// True when ASCII bytes mean ASCII characters (so `<?xml` can be read before decoding).
  var isASCIICompatible: Bool {
    switch decoder {
    case .utf16be, .utf16le, .utf32be, .utf32le, .ucs4Swapped, .unicodeUnspecified: return false
    case .utf8, .windows1252, .table: return true
    case .iconv: return !isEBCDIC
    }
  }

  /// True for EBCDIC code pages (where `<` is 0x4C): iconv is asked once per label.
  var isEBCDIC: Bool {
    guard case .iconv(let name) = decoder else { return false }
    return EncodingLabels.decodesLessThanAs4C(name)
  }
}

/// Encoding labels resolved the way browsers do (the WHATWG Encoding Standard's table: every
/// label, any case, surrounding whitespace ignored), made lenient like Python feedparser (`_` or
/// a space for `-`, `cp-1257`/`win-1257`/`x-cp1257`, Python codec names such as `macroman`,
/// `cp_is`, `ebcdic_cp_us`), and everything else glibc iconv knows.
enum EncodingLabels {
  /// Resolves a label; nil when neither the tables nor iconv know it.
  static func resolve(_ label: String) -> Charset? {
    let trimmed = label.trimmingCharacters(
      in: CharacterSet.whitespacesAndNewlines.union(
        CharacterSet(charactersIn: "\"'")))
    guard !trimmed.isEmpty, trimmed.utf8.count <= 64 else { return nil }
    let lower = trimmed.lowercased()
    let key = normalized(lower)
    if let name = whatwg[key] { return charset(whatwgName: name) }
    if let extra = extras[key] { return extra }
    if let name = windowsAlias(key) { return charset(whatwgName: name) }
    // What iconv knows: the label as written, then with `-` for `_`, then IBM/CP numbers.
    var names = [lower.uppercased(), lower.uppercased().replacingOccurrences(of: "_", with: "-")]
    if let digits = codePageNumber(key) { names += ["IBM\(digits)", "CP\(digits)"] }
    for name in names where iconvKnows(name) {
      return Charset(name: lower, decoder: .iconv(name))
    }
    return nil
  }

  /// Lowercase label without `-`, `_`, spaces, `.` and `:`: `ISO_8859-1`, `iso 8859 1` and
  /// `iso88591` compare equal.
  static func normalized(_ lower: String) -> String {
    var out = ""
    out.reserveCapacity(lower.utf8.count)
    for c in lower.unicodeScalars where c != "-" && c != "_" && c != " " && c != "." && c != ":" {
      out.unicodeScalars.append(c)
    }
    return out
  }

  /// `cp1257`, `cp-1257`, `win-1257`, `windows1257`, `x-cp1257`, `ms-1257`, `ansi-1257`.
  static func windowsAlias(_ key: String) -> String? {
    var k = Substring(key)
    if k.hasPrefix("x") { k = k.dropFirst() }
    for prefix in ["windows", "win", "cp", "ms", "ansi"] where k.hasPrefix(prefix) {
      let rest = k.dropFirst(prefix.count)
      if rest.count == 4, rest.hasPrefix("125"), let last = rest.last, ("0"..."8").contains(last) {
        return "windows-\(rest)"
      }
      if rest == "874" { return "windows-874" }
    }
    return nil
  }

  /// The number of `437`, `cp437`, `ibm437`, `csibm437`, `x-ibm437`.
  static func codePageNumber(_ key: String) -> Substring? {
    var k = Substring(key)
    if k.hasPrefix("x") { k = k.dropFirst() }
    for prefix in ["csibm", "ibm", "cp"] where k.hasPrefix(prefix) {
      k = k.dropFirst(prefix.count)
      break
    }
    guard (3...5).contains(k.count), k.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    return k
  }

  static func iconvKnows(_ name: String) -> Bool {
    guard name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
      return false
    }
    let cd = iconv_open("UTF-8", name)
    guard let cd, cd != iconv_t(bitPattern: -1) else { return false }
    iconv_close(cd)
    return true
  }

  /// True when iconv decodes byte 0x4C as `<` in `name` (EBCDIC code pages).
  static func decodesLessThanAs4C(_ name: String) -> Bool {
    let cd = iconv_open("UTF-8", name)
    guard let cd, cd != iconv_t(bitPattern: -1) else { return false }
    defer { iconv_close(cd) }
    var input: [CChar] = [0x4C]
    var output: [CChar] = [0, 0, 0, 0]
    return input.withUnsafeMutableBufferPointer { inBuf in
      output.withUnsafeMutableBufferPointer { outBuf in
        var inPtr: UnsafeMutablePointer<CChar>? = inBuf.baseAddress
        var outPtr: UnsafeMutablePointer<CChar>? = outBuf.baseAddress
        var inLeft = 1
        var outLeft = 4
        let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
        return r != -1 && outLeft == 3 && outBuf[0] == 0x3C
      }
    }
  }

  /// The decoder behind each WHATWG encoding name (iconv names chosen for the WHATWG decoder's
  /// repertoire: gbk is decoded as GB18030, shift_jis as CP932, euc-kr as CP949, big5 with
  /// HKSCS).
  static func charset(whatwgName name: String) -> Charset {
    switch name {
    case "utf-8": return .utf8
    case "windows-1252": return .windows1252
    case "utf-16be": return Charset(name: name, decoder: .utf16be)
    case "utf-16le": return Charset(name: name, decoder: .utf16le)
    case "utf-16": return Charset(name: name, decoder: .unicodeUnspecified(width: 2))
    case "gbk": return Charset(name: name, decoder: .iconv("GB18030"))
    case "shift_jis": return Charset(name: name, decoder: .iconv("CP932"))
    case "euc-kr": return Charset(name: name, decoder: .iconv("CP949"))
    case "big5": return Charset(name: name, decoder: .iconv("BIG5-HKSCS"))
    case "iso-8859-8-i": return Charset(name: name, decoder: .iconv("ISO-8859-8"))
    case "x-mac-cyrillic": return Charset(name: name, decoder: .iconv("MAC-CYRILLIC"))
    case "x-user-defined": return Charset(name: name, decoder: .table(.xUserDefined))
    default:
      if name.hasPrefix("windows-") && name != "windows-874" {
        return Charset(name: name, decoder: .iconv("CP" + name.dropFirst(8)))
      }
      return Charset(name: name, decoder: .iconv(name.uppercased()))
    }
  }

  /// Normalised WHATWG label → WHATWG encoding name (https://encoding.spec.whatwg.org/#names-and-labels).
  /// The "replacement" labels (ISO-2022-KR/CN, HZ) are left to iconv: a feed is sanitised text,
  /// not a page that could hide script in them.
  static let whatwg: [String: String] = {
    let table: [String: [String]] = [
      "utf-8": [
        "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8",
      ],
      "ibm866": ["866", "cp866", "csibm866", "ibm866"],
      "iso-8859-2": [
        "csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2",
        "iso_8859-2:1987", "l2", "latin2",
      ],
      "iso-8859-3": [
        "csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593", "iso_8859-3",
        "iso_8859-3:1988", "l3", "latin3",
      ],
      "iso-8859-4": [
        "csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594", "iso_8859-4",
        "iso_8859-4:1988", "l4", "latin4",
      ],
      "iso-8859-5": [
        "csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5", "iso88595",
        "iso_8859-5", "iso_8859-5:1988",
      ],
      "iso-8859-6": [
        "arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic", "ecma-114",
        "iso-8859-6", "iso-8859-6-e", "iso-8859-6-i", "iso-ir-127", "iso8859-6", "iso88596",
        "iso_8859-6", "iso_8859-6:1987",
      ],
      "iso-8859-7": [
        "csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7", "iso-ir-126",
        "iso8859-7", "iso88597", "iso_8859-7", "iso_8859-7:1987", "sun_eu_greek",
      ],
      "iso-8859-8": [
        "csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8", "iso-8859-8-e", "iso-ir-138",
        "iso8859-8", "iso88598", "iso_8859-8", "iso_8859-8:1988", "visual",
      ],
      "iso-8859-8-i": ["csiso88598i", "iso-8859-8-i", "logical"],
      "iso-8859-10": [
        "csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10", "iso885910", "l6", "latin6",
      ],
      "iso-8859-13": ["iso-8859-13", "iso8859-13", "iso885913"],
      "iso-8859-14": ["iso-8859-14", "iso8859-14", "iso885914"],
      "iso-8859-15": [
        "csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9",
      ],
      "iso-8859-16": ["iso-8859-16"],
      "koi8-r": ["cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"],
      "koi8-u": ["koi8-ru", "koi8-u"],
      "macintosh": ["csmacintosh", "mac", "macintosh", "x-mac-roman"],
      "windows-874": [
        "dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874",
      ],
      "windows-1250": ["cp1250", "windows-1250", "x-cp1250"],
      "windows-1251": ["cp1251", "windows-1251", "x-cp1251"],
      "windows-1252": [
        "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1",
        "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1",
        "us-ascii", "windows-1252", "x-cp1252",
      ],
      "windows-1253": ["cp1253", "windows-1253", "x-cp1253"],
      "windows-1254": [
        "cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599",
        "iso_8859-9", "iso_8859-9:1989", "l5", "latin5", "windows-1254", "x-cp1254",
      ],
      "windows-1255": ["cp1255", "windows-1255", "x-cp1255"],
      "windows-1256": ["cp1256", "windows-1256", "x-cp1256"],
      "windows-1257": ["cp1257", "windows-1257", "x-cp1257"],
      "windows-1258": ["cp1258", "windows-1258", "x-cp1258"],
      "x-mac-cyrillic": ["x-mac-cyrillic", "x-mac-ukrainian"],
      "gbk": [
        "chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk",
        "iso-ir-58", "x-gbk",
      ],
      "gb18030": ["gb18030"],
      "big5": ["big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"],
      "euc-jp": ["cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"],
      "iso-2022-jp": ["csiso2022jp", "iso-2022-jp"],
      "shift_jis": [
        "csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j",
        "x-sjis",
      ],
      "euc-kr": [
        "cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987",
        "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949",
      ],
      "utf-16be": ["utf-16be", "unicodefffe"],
      "utf-16le": ["utf-16le"],
      "x-user-defined": ["x-user-defined"],
      // Not WHATWG labels, but what feeds and Python codecs call these encodings.
      "utf-16": ["utf-16", "utf16", "u16", "ucs-2", "iso-10646-ucs-2", "unicode", "csunicode"],
    ]
    var map: [String: String] = [:]
    for (name, labels) in table {
      for label in labels { map[normalized(label)] = name }
    }
    // Python codec aliases and spellings seen in feeds, mapped to the WHATWG encoding.
    let aliases: [String: String] = [
      "u8": "utf-8", "utf": "utf-8", "cp65001": "utf-8", "646": "windows-1252",
      "us": "windows-1252", "iso646-us": "windows-1252", "iso-ir-6": "windows-1252",
      "ansi_x3.4-1986": "windows-1252", "cp367": "windows-1252", "ibm367": "windows-1252",
      "csascii": "windows-1252", "latin-1": "windows-1252",
      "latin7": "iso-8859-13", "l7": "iso-8859-13", "latin8": "iso-8859-14", "l8": "iso-8859-14",
      "latin9": "iso-8859-15", "latin10": "iso-8859-16", "l10": "iso-8859-16",
      "macroman": "macintosh", "mac-roman": "macintosh", "maccyrillic": "x-mac-cyrillic",
      "mac-cyrillic": "x-mac-cyrillic", "macukrainian": "x-mac-cyrillic",
      "shiftjis": "shift_jis", "s_jis": "shift_jis", "cp932": "shift_jis", "mskanji": "shift_jis",
      "eucjp": "euc-jp", "ujis": "euc-jp", "u-jis": "euc-jp", "euckr": "euc-kr", "uhc": "euc-kr",
      "cp949": "euc-kr", "ms949": "euc-kr", "ksx1001": "euc-kr", "ks_x_1001": "euc-kr",
      "cp936": "gbk", "ms936": "gbk", "euc-cn": "gbk", "euccn": "gbk", "big5tw": "big5",
      "big5hkscs": "big5", "hkscs": "big5", "cp950": "big5", "ms950": "big5",
      "cp874": "windows-874", "tis620": "windows-874", "thai": "windows-874",
      "koi8u": "koi8-u",
    ]
    for (label, name) in aliases { map[normalized(label)] = name }
    return map
  }()

  /// Encodings outside the WHATWG table that iconv lacks or names differently.
  static let extras: [String: Charset] = {
    var map: [String: Charset] = [:]
    func add(_ labels: [String], _ make: (String) -> Charset) {
      for label in labels { map[normalized(label)] = make(label) }
    }
    add(["utf-32", "utf32", "u32", "ucs-4", "iso-10646-ucs-4", "csucs4"]) {
      _ in Charset(name: "utf-32", decoder: .unicodeUnspecified(width: 4))
    }
    add(["utf-32be"]) { _ in Charset(name: "utf-32be", decoder: .utf32be) }
    add(["utf-32le"]) { _ in Charset(name: "utf-32le", decoder: .utf32le) }
    add(["macgreek", "mac-greek", "x-mac-greek"]) {
      Charset(name: $0, decoder: .table(.macGreek))
    }
    add(["macturkish", "mac-turkish", "x-mac-turkish"]) {
      Charset(name: $0, decoder: .table(.macTurkish))
    }
    add(["maciceland", "mac-iceland", "macicelandic", "x-mac-icelandic"]) {
      Charset(name: $0, decoder: .table(.macIceland))
    }
    add(["maccentraleurope", "maclatin2", "mac-latin2", "x-mac-ce", "x-mac-centraleurroman"]) {
      Charset(name: $0, decoder: .iconv("MAC-CENTRALEUROPE"))
    }
    add(["cp_is", "cp-is"]) { Charset(name: $0, decoder: .iconv("IBM861")) }
    add(["ibm039"]) { Charset(name: $0, decoder: .iconv("IBM037")) }
    return map
  }()
}

/// Single-byte code pages decoded by table: ASCII below 0x80, `high[byte - 0x80]` above.
enum SingleByteTables {
  enum Page: Equatable, Sendable { case macGreek, macTurkish, macIceland, xUserDefined }

  static func high(_ page: Page) -> [UInt16] {
    switch page {
    case .macGreek: return macGreek
    case .macTurkish: return macTurkish
    case .macIceland: return macIceland
    case .xUserDefined: return (0..<128).map { UInt16(0xF780 + $0) }
    }
  }

  /// WHATWG windows-1252, bytes 0x80–0x9F (the rest is ISO 8859-1).
  static let windows1252C1: [UInt16] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
    0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
  ]

  // Apple's mappings (as Python's mac_greek, mac_turkish and mac_iceland codecs carry them).
  static let macGreek: [UInt16] = [
    0x00C4, 0x00B9, 0x00B2, 0x00C9, 0x00B3, 0x00D6, 0x00DC, 0x0385,
    0x00E0, 0x00E2, 0x00E4, 0x0384, 0x00A8, 0x00E7, 0x00E9, 0x00E8,
    0x00EA, 0x00EB, 0x00A3, 0x2122, 0x00EE, 0x00EF, 0x2022, 0x00BD,
    0x2030, 0x00F4, 0x00F6, 0x00A6, 0x20AC, 0x00F9, 0x00FB, 0x00FC,
    0x2020, 0x0393, 0x0394, 0x0398, 0x039B, 0x039E, 0x03A0, 0x00DF,
    0x00AE, 0x00A9, 0x03A3, 0x03AA, 0x00A7, 0x2260, 0x00B0, 0x00B7,
    0x0391, 0x00B1, 0x2264, 0x2265, 0x00A5, 0x0392, 0x0395, 0x0396,
    0x0397, 0x0399, 0x039A, 0x039C, 0x03A6, 0x03AB, 0x03A8, 0x03A9,
    0x03AC, 0x039D, 0x00AC, 0x039F, 0x03A1, 0x2248, 0x03A4, 0x00AB,
    0x00BB, 0x2026, 0x00A0, 0x03A5, 0x03A7, 0x0386, 0x0388, 0x0153,
    0x2013, 0x2015, 0x201C, 0x201D, 0x2018, 0x2019, 0x00F7, 0x0389,
    0x038A, 0x038C, 0x038E, 0x03AD, 0x03AE, 0x03AF, 0x03CC, 0x038F,
    0x03CD, 0x03B1, 0x03B2, 0x03C8, 0x03B4, 0x03B5, 0x03C6, 0x03B3,
    0x03B7, 0x03B9, 0x03BE, 0x03BA, 0x03BB, 0x03BC, 0x03BD, 0x03BF,
    0x03C0, 0x03CE, 0x03C1, 0x03C3, 0x03C4, 0x03B8, 0x03C9, 0x03C2,
    0x03C7, 0x03C5, 0x03B6, 0x03CA, 0x03CB, 0x0390, 0x03B0, 0x00AD,
  ]

  static let macTurkish: [UInt16] = [
    0x00C4, 0x00C5, 0x00C7, 0x00C9, 0x00D1, 0x00D6, 0x00DC, 0x00E1,
    0x00E0, 0x00E2, 0x00E4, 0x00E3, 0x00E5, 0x00E7, 0x00E9, 0x00E8,
    0x00EA, 0x00EB, 0x00ED, 0x00EC, 0x00EE, 0x00EF, 0x00F1, 0x00F3,
    0x00F2, 0x00F4, 0x00F6, 0x00F5, 0x00FA, 0x00F9, 0x00FB, 0x00FC,
    0x2020, 0x00B0, 0x00A2, 0x00A3, 0x00A7, 0x2022, 0x00B6, 0x00DF,
    0x00AE, 0x00A9, 0x2122, 0x00B4, 0x00A8, 0x2260, 0x00C6, 0x00D8,
    0x221E, 0x00B1, 0x2264, 0x2265, 0x00A5, 0x00B5, 0x2202, 0x2211,
    0x220F, 0x03C0, 0x222B, 0x00AA, 0x00BA, 0x03A9, 0x00E6, 0x00F8,
    0x00BF, 0x00A1, 0x00AC, 0x221A, 0x0192, 0x2248, 0x2206, 0x00AB,
    0x00BB, 0x2026, 0x00A0, 0x00C0, 0x00C3, 0x00D5, 0x0152, 0x0153,
    0x2013, 0x2014, 0x201C, 0x201D, 0x2018, 0x2019, 0x00F7, 0x25CA,
    0x00FF, 0x0178, 0x011E, 0x011F, 0x0130, 0x0131, 0x015E, 0x015F,
    0x2021, 0x00B7, 0x201A, 0x201E, 0x2030, 0x00C2, 0x00CA, 0x00C1,
    0x00CB, 0x00C8, 0x00CD, 0x00CE, 0x00CF, 0x00CC, 0x00D3, 0x00D4,
    0xF8FF, 0x00D2, 0x00DA, 0x00DB, 0x00D9, 0xF8A0, 0x02C6, 0x02DC,
    0x00AF, 0x02D8, 0x02D9, 0x02DA, 0x00B8, 0x02DD, 0x02DB, 0x02C7,
  ]

  static let macIceland: [UInt16] = [
    0x00C4, 0x00C5, 0x00C7, 0x00C9, 0x00D1, 0x00D6, 0x00DC, 0x00E1,
    0x00E0, 0x00E2, 0x00E4, 0x00E3, 0x00E5, 0x00E7, 0x00E9, 0x00E8,
    0x00EA, 0x00EB, 0x00ED, 0x00EC, 0x00EE, 0x00EF, 0x00F1, 0x00F3,
    0x00F2, 0x00F4, 0x00F6, 0x00F5, 0x00FA, 0x00F9, 0x00FB, 0x00FC,
    0x00DD, 0x00B0, 0x00A2, 0x00A3, 0x00A7, 0x2022, 0x00B6, 0x00DF,
    0x00AE, 0x00A9, 0x2122, 0x00B4, 0x00A8, 0x2260, 0x00C6, 0x00D8,
    0x221E, 0x00B1, 0x2264, 0x2265, 0x00A5, 0x00B5, 0x2202, 0x2211,
    0x220F, 0x03C0, 0x222B, 0x00AA, 0x00BA, 0x03A9, 0x00E6, 0x00F8,
    0x00BF, 0x00A1, 0x00AC, 0x221A, 0x0192, 0x2248, 0x2206, 0x00AB,
    0x00BB, 0x2026, 0x00A0, 0x00C0, 0x00C3, 0x00D5, 0x0152, 0x0153,
    0x2013, 0x2014, 0x201C, 0x201D, 0x2018, 0x2019, 0x00F7, 0x25CA,
    0x00FF, 0x0178, 0x2044, 0x20AC, 0x00D0, 0x00F0, 0x00DE, 0x00FE,
    0x00FD, 0x00B7, 0x201A, 0x201E, 0x2030, 0x00C2, 0x00CA, 0x00C1,
    0x00CB, 0x00C8, 0x00CD, 0x00CE, 0x00CF, 0x00CC, 0x00D3, 0x00D4,
    0xF8FF, 0x00D2, 0x00DA, 0x00DB, 0x00D9, 0x0131, 0x02C6, 0x02DC,
    0x00AF, 0x02D8, 0x02D9, 0x02DA, 0x00B8, 0x02DD, 0x02DB, 0x02C7,
  ]

  /// Decodes `input` with a 128-entry table for the high half (nil: windows-1252).
  static func decode(_ input: UnsafeRawBufferPointer, high: [UInt16]?) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(input.count + input.count / 4 + 16)
    for c in input {
      if c < 0x80 {
        out.append(c)
        continue
      }
      let u: UInt16
      if let high {
        u = high[Int(c) - 0x80]
      } else {
        u = c < 0xA0 ? windows1252C1[Int(c) - 0x80] : UInt16(c)
      }
      if u < 0x800 {
        out.append(UInt8(0xC0 | (u >> 6)))
        out.append(UInt8(0x80 | (u & 0x3F)))
      } else {
        out.append(UInt8(0xE0 | (u >> 12)))
        out.append(UInt8(0x80 | ((u >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (u & 0x3F)))
      }
    }
    return out
  }
}
