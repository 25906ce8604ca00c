import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Character-set handling for untrusted feed bytes: which encoding a document is in, and turning
/// it into clean UTF-8 that libxml2 can parse without ever stopping on a bad byte.
///
/// The order is RFC 7303's with Python feedparser's reading of RFC 3023:
/// 1. a byte-order mark;
/// 2. bytes that plainly are not ASCII-compatible (XML 1.0 appendix F: UTF-16/32 in any byte
///    order, EBCDIC `4C 6F A7 94`), whose declaration then only picks among compatible labels;
/// 3. for `application/xml`, `application/*+xml` and JSON: the HTTP `charset`, then the XML
///    declaration, then UTF-8;
/// 4. for `text/xml` and other `text/*` types: the HTTP `charset`; without one RFC 3023 says
///    us-ascii, which is what an all-ASCII document is reported as (as feedparser does); any
///    other byte makes that impossible and the XML declaration is used, then UTF-8;
/// 5. anything else (no type, `application/octet-stream`): the declaration, the HTTP
///    `charset`, UTF-8.
///
/// Labels resolve through the WHATWG table (`iso-8859-1` and `us-ascii` are windows-1252), then
/// iconv. A document that fails to decode in the chosen encoding is tried in the other declared
/// one and in UTF-8; a document labelled (or defaulted to) UTF-8 that is mostly not UTF-8 is read
/// as windows-1252; otherwise bad sequences become U+FFFD. Each such decision is a warning; none
/// fails the document.
enum FeedEncoding {
  /// The outcome of decoding: UTF-8 bytes (nil when the input could be used as is) and notes.
  struct Decoded {
    /// Nil when the original bytes (minus `skip` BOM bytes) are already clean UTF-8.
    var utf8: [UInt8]?
    /// Bytes to skip at the start of the original (a UTF-8 BOM) when `utf8` is nil.
    var skip: Int
    /// Lowercase WHATWG (or IANA) name of the encoding the bytes were read as.
    var name: String
    var warnings: [String]
  }

  /// How the media type lets the document's encoding be found (RFC 3023/7303).
  enum MediaKind { case none, applicationXML, textXML, text, json, other }

  static func mediaKind(_ contentType: String?) -> MediaKind {
    guard let contentType else { return .none }
    let type = (contentType.split(separator: ";", maxSplits: 1).first ?? "")
      .trimmingCharacters(in: .whitespaces).lowercased()
    if type.isEmpty { return .none }
    if type == "application/xml" || type == "application/xml-dtd"
      || type == "application/xml-external-parsed-entity"
      || (type.hasPrefix("application/") && type.hasSuffix("+xml"))
    {
      return .applicationXML
    }
    if type == "text/xml" || type == "text/xml-external-parsed-entity"
      || (type.hasPrefix("text/") && type.hasSuffix("+xml"))
    {
      return .textXML
    }
    if type == "application/json" || type.hasSuffix("+json") { return .json }
    if type.hasPrefix("text/") { return .text }
    return .other
  }

  /// Decides the encoding and produces UTF-8. Undecodable bytes become U+FFFD, characters XML
  /// forbids (NUL, most C0 controls) too, so the parse never aborts on them. With
  /// `validate: false` UTF-8 is not checked (the XML path lets libxml2 find trouble, then
  /// decodes again with `validate: true`); NUL bytes are always looked for, libxml2 would stop
  /// at them.
  static func decode(
    _ bytes: UnsafeRawBufferPointer, contentType: String?, sniffXMLDeclaration: Bool,
    validate: Bool = true
  ) -> Decoded {
    var warnings: [String] = []
    let (bomCharset, bomLength) = bom(bytes)
    let body = UnsafeRawBufferPointer(rebasing: bytes[bomLength...])
    let media = mediaKind(contentType)
    let httpLabel = charset(fromContentType: contentType)
    var http: Charset?
    if let httpLabel {
      http = EncodingLabels.resolve(httpLabel)
      if http == nil { warnings.append("unknown encoding '\(httpLabel)' in the HTTP charset") }
    }
    let family = bomCharset ?? sniffFamily(bytes)
    var declared: Charset?
    if sniffXMLDeclaration, let label = xmlDeclarationEncoding(bytes, family: family) {
      declared = EncodingLabels.resolve(label)
      if declared == nil { warnings.append("unknown encoding '\(label)' in the XML declaration") }
    }

    // 1–2. A BOM, or bytes that are not ASCII-compatible: their layout decides.
    if var chosen = family {
      if bomCharset == nil, chosen == .cp037 {
        // EBCDIC: a declared (or HTTP) EBCDIC code page says which one.
        if let d = declared, d.isEBCDIC {
          chosen = d
        } else if let h = http, h.isEBCDIC {
          chosen = h
        }
      }
      for label in [http, declared].compactMap({ $0 }) where !compatible(label, with: chosen) {
        warnings.append("'\(label.name)' label ignored: the bytes are \(chosen.name)")
        break
      }
      return finish(
        body, bomLength, lenient(body, chosen, &warnings), validate: validate, &warnings)
    }

    // 3–5. ASCII-compatible bytes: the media type orders the labels.
    var candidates: [Charset] = []
    switch media {
    case .applicationXML, .json:
      candidates = [http, declared].compactMap { $0 }
    case .textXML, .text:
      if let http {
        candidates = [http, declared].compactMap { $0 }
      } else {
        if isASCII(body) {
          return finish(
            body, bomLength, Converted(utf8: nil, name: "us-ascii", bad: 0), validate: validate,
            &warnings)
        }
        candidates = [declared].compactMap { $0 }
      }
    case .none, .other:
      candidates = [declared, http].compactMap { $0 }
    }
    // UTF-16/32 labels on ASCII-compatible bytes are wrong labels.
    candidates = candidates.filter { c in
      guard c.isASCIICompatible else {
        warnings.append("'\(c.name)' label ignored: the bytes are ASCII-compatible")
        return false
      }
      return true
    }
    if media == .json { candidates = [.utf8] }  // RFC 8259: JSON text is UTF-8
    let primary = candidates.first ?? .utf8
    if primary == .utf8 && !validate {
      // The fast path: libxml2 reads the bytes in place; trouble brings us back validating.
      if hasNUL(body) {
        return decode(
          bytes, contentType: contentType, sniffXMLDeclaration: sniffXMLDeclaration,
          validate: true)
      }
      return Decoded(utf8: nil, skip: bomLength, name: "utf-8", warnings: warnings)
    }
    var tried: [Charset] = []
    for candidate in candidates + [.utf8] where !tried.contains(candidate) {
      tried.append(candidate)
      if let ok = convert(body, candidate, strict: true) {
        if candidate != primary {
          warnings.append(
            "document declared as \(primary.name) but is not; read as \(candidate.name)")
        }
        return finish(body, bomLength, ok, validate: validate, &warnings)
      }
    }
    // Nothing decodes cleanly. UTF-8 that is mostly UTF-8 (a cut-off excerpt, one stray byte)
    // keeps its U+FFFD; mostly-not-UTF-8 is a legacy document, and windows-1252 is the web's.
    if primary == .utf8 {
      let stats = utf8Stats(body)
      if media == .json || (stats.multibyte >= 4 * stats.invalid && stats.multibyte > 0) {
        return finish(
          body, bomLength, Converted(utf8: nil, name: "utf-8", bad: 0), validate: true, &warnings)
      }
      warnings.append(
        "document is not valid utf-8 (\(stats.invalid) bad byte sequences); read as windows-1252")
      return finish(
        body, bomLength, lenient(body, .windows1252, &warnings), validate: validate, &warnings)
    }
    return finish(body, bomLength, lenient(body, primary, &warnings), validate: validate, &warnings)
  }

  /// `convert` without `strict`; an encoding iconv cannot open is read as UTF-8.
  static func lenient(
    _ body: UnsafeRawBufferPointer, _ charset: Charset, _ warnings: inout [String]
  ) -> Converted {
    if let c = convert(body, charset, strict: false) { return c }
    warnings.append("unknown encoding '\(charset.name)', read as utf-8")
    return Converted(utf8: nil, name: "utf-8", bad: 0)
  }

  /// Whether a label fits bytes laid out as `family` (a UTF-16 label for UTF-16 bytes).
  static func compatible(_ label: Charset, with family: Charset) -> Bool {
    switch (label.decoder, family.decoder) {
    case (.unicodeUnspecified(let w), .utf16be), (.unicodeUnspecified(let w), .utf16le):
      return w == 2
    case (.unicodeUnspecified(let w), .utf32be), (.unicodeUnspecified(let w), .utf32le),
      (.unicodeUnspecified(let w), .ucs4Swapped):
      return w == 4
    default:
      if label == family { return true }
      if family == .utf8 { return label.isASCIICompatible }
      if family.isEBCDIC { return label.isEBCDIC }
      return false
    }
  }

  /// Bytes turned into UTF-8 (nil: the input is used as is), the name, and how many sequences
  /// were replaced.
  struct Converted {
    var utf8: [UInt8]?
    var name: String
    var bad: Int
  }

  /// Converts `body` from `charset`. With `strict`, nil as soon as one sequence is invalid;
  /// otherwise invalid sequences become U+FFFD. Nil too when iconv does not know the name.
  static func convert(_ body: UnsafeRawBufferPointer, _ charset: Charset, strict: Bool)
    -> Converted?
  {
    switch charset.decoder {
    case .utf8:
      if strict {
        return utf8Stats(body).invalid == 0 ? Converted(utf8: nil, name: "utf-8", bad: 0) : nil
      }
      return Converted(utf8: nil, name: "utf-8", bad: 0)
    case .windows1252:
      return Converted(
        utf8: SingleByteTables.decode(body, high: nil), name: charset.name, bad: 0)
    case .table(let page):
      return Converted(
        utf8: SingleByteTables.decode(body, high: SingleByteTables.high(page)),
        name: charset.name, bad: 0)
    case .utf16be: return iconv(body, "UTF-16BE", charset.name, unit: 2, strict: strict)
    case .utf16le: return iconv(body, "UTF-16LE", charset.name, unit: 2, strict: strict)
    case .utf32be: return iconv(body, "UTF-32BE", charset.name, unit: 4, strict: strict)
    case .utf32le: return iconv(body, "UTF-32LE", charset.name, unit: 4, strict: strict)
    case .unicodeUnspecified(let width):
      // Only reached for a label without a family: big-endian, as the RFCs default.
      return iconv(
        body, width == 2 ? "UTF-16BE" : "UTF-32BE", width == 2 ? "utf-16be" : "utf-32be",
        unit: width, strict: strict)
    case .ucs4Swapped(let bigEndian):
      var swapped = [UInt8](body)
      var i = 0
      while i + 1 < swapped.count {
        swapped.swapAt(i, i + 1)
        i += 2
      }
      return swapped.withUnsafeBytes {
        iconv($0, bigEndian ? "UTF-32BE" : "UTF-32LE", charset.name, unit: 4, strict: strict)
      }
    case .iconv(let name):
      return iconv(body, name, charset.name, unit: 1, strict: strict)
    }
  }

  static func iconv(
    _ body: UnsafeRawBufferPointer, _ iconvName: String, _ name: String, unit: Int, strict: Bool
  ) -> Converted? {
    guard let (out, bad) = iconvToUTF8(body, from: iconvName, unit: unit, strict: strict) else {
      return nil
    }
    return Converted(utf8: out, name: name, bad: bad)
  }

  /// The final checks on converted bytes: NUL and control characters (and, for bytes used in
  /// place, UTF-8 itself when `validate`) repaired to U+FFFD, with warnings.
  static func finish(
    _ body: UnsafeRawBufferPointer, _ bomLength: Int, _ c: Converted, validate: Bool,
    _ warnings: inout [String]
  ) -> Decoded {
    if c.bad > 0 {
      warnings.append("\(c.bad) byte sequence(s) not valid \(c.name) replaced with U+FFFD")
    }
    guard let converted = c.utf8 else {
      let check = validate || hasNUL(body)
      if check, let repaired = repairUTF8(body, replaced: &warnings) {
        return Decoded(utf8: repaired, skip: 0, name: c.name, warnings: warnings)
      }
      return Decoded(utf8: nil, skip: bomLength, name: c.name, warnings: warnings)
    }
    let nul = converted.withUnsafeBytes { hasNUL($0) }
    if !validate && !nul {
      return Decoded(utf8: converted, skip: 0, name: c.name, warnings: warnings)
    }
    let clean: [UInt8] =
      converted.withUnsafeBytes { raw in repairUTF8(raw, replaced: &warnings) } ?? converted
    return Decoded(utf8: clean, skip: 0, name: c.name, warnings: warnings)
  }

  /// Counts of valid multi-byte sequences and of invalid bytes in UTF-8.
  static func utf8Stats(_ b: UnsafeRawBufferPointer) -> (multibyte: Int, invalid: Int) {
    var multibyte = 0
    var invalid = 0
    var i = 0
    let n = b.count
    guard let base = b.baseAddress else { return (0, 0) }
    while i < n {
      if i + 8 <= n,
        base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
      {
        i += 8
        continue
      }
      if b[i] < 0x80 {
        i += 1
        continue
      }
      let len = sequenceLength(b, i)
      if len == 0 {
        invalid += 1
        i += 1
      } else {
        multibyte += 1
        i += len
      }
    }
    return (multibyte, invalid)
  }

  static func isASCII(_ b: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = b.count
    guard let base = b.baseAddress else { return true }
    while i + 8 <= n {
      if base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 {
        return false
      }
      i += 8
    }
    while i < n {
      if b[i] >= 0x80 { return false }
      i += 1
    }
    return true
  }

  static func hasNUL(_ b: UnsafeRawBufferPointer) -> Bool {
    guard let base = b.baseAddress, b.count > 0 else { return false }
    return memchr(base, 0, b.count) != nil
  }

  /// The byte-order mark, if any, and its length (UTF-32 before UTF-16: `FF FE 00 00`).
  static func bom(_ b: UnsafeRawBufferPointer) -> (Charset?, Int) {
    if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { return (.utf8, 3) }
    if b.count >= 4 {
      switch (b[0], b[1], b[2], b[3]) {
      case (0, 0, 0xFE, 0xFF): return (Charset(name: "utf-32be", decoder: .utf32be), 4)
      case (0xFF, 0xFE, 0, 0): return (Charset(name: "utf-32le", decoder: .utf32le), 4)
      case (0, 0, 0xFF, 0xFE): return (ucs4Order2143, 4)
      case (0xFE, 0xFF, 0, 0): return (ucs4Order3412, 4)
      default: break
      }
    }
    if b.count >= 2, b[0] == 0xFE, b[1] == 0xFF {
      return (Charset(name: "utf-16be", decoder: .utf16be), 2)
    }
    if b.count >= 2, b[0] == 0xFF, b[1] == 0xFE {
      return (Charset(name: "utf-16le", decoder: .utf16le), 2)
    }
    return (nil, 0)
  }

  static let ucs4Order2143 = Charset(name: "ucs-4-2143", decoder: .ucs4Swapped(bigEndian: true))
  static let ucs4Order3412 = Charset(name: "ucs-4-3412", decoder: .ucs4Swapped(bigEndian: false))

  /// Encodings that are not ASCII-compatible, recognised without a BOM by how the first
  /// characters are laid out (XML 1.0 appendix F): any ASCII character, not only `<`, so
  /// leading whitespace and JSON's `{` are recognised too.
  static func sniffFamily(_ b: UnsafeRawBufferPointer) -> Charset? {
    guard b.count >= 4 else { return nil }
    let (b0, b1, b2, b3) = (b[0], b[1], b[2], b[3])
    if b0 == 0x4C && b1 == 0x6F && b2 == 0xA7 && b3 == 0x94 { return .cp037 }
    func ascii(_ c: UInt8) -> Bool { c != 0 && c < 0x80 }
    if b0 == 0 && b1 == 0 && b2 == 0 && ascii(b3) {
      return Charset(name: "utf-32be", decoder: .utf32be)
    }
    if ascii(b0) && b1 == 0 && b2 == 0 && b3 == 0 {
      return Charset(name: "utf-32le", decoder: .utf32le)
    }
    if b0 == 0 && b1 == 0 && ascii(b2) && b3 == 0 { return ucs4Order2143 }
    if b0 == 0 && ascii(b1) && b2 == 0 && b3 == 0 { return ucs4Order3412 }
    if b0 == 0 && ascii(b1) && b2 == 0 && ascii(b3) {
      return Charset(name: "utf-16be", decoder: .utf16be)
    }
    if ascii(b0) && b1 == 0 && ascii(b2) && b3 == 0 {
      return Charset(name: "utf-16le", decoder: .utf16le)
    }
    return nil
  }

  /// The `charset` parameter of an HTTP Content-Type, unquoted.
  static func charset(fromContentType contentType: String?) -> String? {
    guard let contentType else { return nil }
    for part in contentType.split(separator: ";").dropFirst() {
      let kv = part.split(separator: "=", maxSplits: 1)
      guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == "charset"
      else {
        continue
      }
      let value = kv[1].trimmingCharacters(in: .whitespaces).trimmingCharacters(
        in: CharacterSet(charactersIn: "\"'"))
      return value.isEmpty ? nil : value
    }
    return nil
  }

  /// `encoding="…"` of the XML declaration, read in the layout of `family` (ASCII-compatible
  /// when nil; UTF-16/32 and EBCDIC are read through their first characters).
  static func xmlDeclarationEncoding(_ b: UnsafeRawBufferPointer, family: Charset?) -> String? {
    var ascii: [UInt8] = []
    ascii.reserveCapacity(256)
    let prefix = UnsafeRawBufferPointer(rebasing: b[..<min(b.count, 1024)])
    if let family, family != .utf8 {
      guard let converted = convert(prefix, family, strict: false)?.utf8 else { return nil }
      var start = 0
      if converted.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
      for c in converted[start...] {
        ascii.append(c)
        if c == UInt8(ascii: ">") || ascii.count >= 256 { break }
      }
    } else {
      var i = family == .utf8 ? 3 : 0
      while i < prefix.count, ascii.count < 256 {
        let c = prefix[i]
        ascii.append(c)
        if c == UInt8(ascii: ">") { break }
        i += 1
      }
    }
    guard ascii.starts(with: Array("<?xml".utf8)) else { return nil }
    let decl = String(decoding: ascii, as: UTF8.self)
    guard let range = decl.range(of: "encoding") else { return nil }
    var rest = decl[range.upperBound...].drop(while: {
      $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r"
    })
    guard rest.first == "=" else { return nil }
    rest = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
    guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
    rest = rest.dropFirst()
    guard let end = rest.firstIndex(of: quote) else { return nil }
    let value = String(rest[..<end]).trimmingCharacters(in: .whitespaces)
    return value.isEmpty ? nil : value
  }

  /// Transcodes with glibc iconv; `unit` is the code-unit size skipped past a bad sequence.
  /// Nil when iconv does not know the encoding, or, with `strict`, at the first bad sequence.
  static func iconvToUTF8(
    _ input: UnsafeRawBufferPointer, from name: String, unit: Int, strict: Bool
  ) -> ([UInt8], Int)? {
    let cd = iconv_open("UTF-8", name)
    guard let cd, cd != iconv_t(bitPattern: -1) else { return nil }
    defer { iconv_close(cd) }
    var output = [UInt8](repeating: 0, count: input.count * (unit == 1 ? 4 : 2) + 16)
    var bad = 0
    var produced = 0
    guard let base = input.baseAddress, input.count > 0 else { return ([], 0) }
    var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer<CChar>(
      mutating: base.assumingMemoryBound(to: CChar.self))
    var inLeft = input.count
    var failed = false
    output.withUnsafeMutableBytes { out in
      var outPtr: UnsafeMutablePointer<CChar>? = out.baseAddress!.assumingMemoryBound(
        to: CChar.self)
      var outLeft = out.count
      while inLeft > 0 {
        let r = Glibc.iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
        if r != -1 { break }
        let err = errno
        if err == E2BIG { break }  // cannot happen with the sizing above
        // EILSEQ or EINVAL (truncated at the end): replace one unit and go on.
        if strict {
          failed = true
          break
        }
        guard outLeft >= 3 else { break }
        outPtr![0] = CChar(bitPattern: 0xEF)
        outPtr![1] = CChar(bitPattern: 0xBF)
        outPtr![2] = CChar(bitPattern: 0xBD)
        outPtr! += 3
        outLeft -= 3
        let step = min(unit, inLeft)
        inPtr! += step
        inLeft -= step
        bad += 1
      }
      produced = out.count - outLeft
    }
    if failed { return nil }
    output.removeSubrange(produced...)
    return (output, bad)
  }

  /// Checks UTF-8 and XML character rules. Nil when the bytes are fine as they are; otherwise a
  /// repaired copy in which invalid sequences and forbidden control characters are U+FFFD.
  static func repairUTF8(_ b: UnsafeRawBufferPointer, replaced warnings: inout [String]) -> [UInt8]?
  {
    guard let firstBad = firstInvalid(b) else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(b.count + 64)
    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[..<firstBad]))
    var i = firstBad
    var invalid = 0
    var controls = 0
    let n = b.count
    while i < n {
      let c = b[i]
      if c < 0x80 {
        if c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D {
          out.append(contentsOf: [0xEF, 0xBF, 0xBD])
          controls += 1
        } else {
          out.append(c)
        }
        i += 1
        continue
      }
      let len = sequenceLength(b, i)
      if len == 0 {
        out.append(contentsOf: [0xEF, 0xBF, 0xBD])
        invalid += 1
        i += 1
      } else {
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: b[i..<(i + len)]))
        i += len
      }
    }
    if invalid > 0 { warnings.append("\(invalid) invalid UTF-8 byte(s) replaced with U+FFFD") }
    if controls > 0 {
      warnings.append("\(controls) control character(s) not allowed in XML replaced with U+FFFD")
    }
    return out
  }

  /// Index of the first byte that is not valid UTF-8 or is a C0 control XML forbids.
  static func firstInvalid(_ b: UnsafeRawBufferPointer) -> Int? {
    let n = b.count
    var i = 0
    guard let base = b.baseAddress else { return nil }
    while i < n {
      // Eight ASCII bytes at a time, none of them below 0x20 (tab, LF and CR end the fast path
      // for that word only).
      if i + 8 <= n {
        let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        if (w & 0x8080_8080_8080_8080) == 0
          && ((w &- 0x2020_2020_2020_2020) & ~w & 0x8080_8080_8080_8080) == 0
        {
          i += 8
          continue
        }
      }
      let c = b[i]
      if c < 0x80 {
        if c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D { return i }
        i += 1
        continue
      }
      let len = sequenceLength(b, i)
      if len == 0 { return i }
      i += len
    }
    return nil
  }

  /// Length of the valid UTF-8 sequence at `i` (2–4), or 0 when it is invalid; also rejects
  /// U+FFFE/U+FFFF, which XML forbids.
  @inline(__always)
  static func sequenceLength(_ b: UnsafeRawBufferPointer, _ i: Int) -> Int {
    let n = b.count
    let c = b[i]
    if c >= 0xC2 && c <= 0xDF {
      return i + 1 < n && b[i + 1] & 0xC0 == 0x80 ? 2 : 0
    }
    if c >= 0xE0 && c <= 0xEF {
      guard i + 2 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80 else { return 0 }
      if c == 0xE0 && b[i + 1] < 0xA0 { return 0 }
      if c == 0xED && b[i + 1] >= 0xA0 { return 0 }  // surrogates
      if c == 0xEF && b[i + 1] == 0xBF && (b[i + 2] == 0xBE || b[i + 2] == 0xBF) { return 0 }
      return 3
    }
    if c >= 0xF0 && c <= 0xF4 {
      guard i + 3 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80, b[i + 3] & 0xC0 == 0x80
      else {
        return 0
      }
      if c == 0xF0 && b[i + 1] < 0x90 { return 0 }
      if c == 0xF4 && b[i + 1] >= 0x90 { return 0 }
      return 4
    }
    return 0
  }
}
