import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Character-set handling for untrusted feed bytes: which encoding a document is in (RFC 7303 and
/// what browsers do: BOM, then HTTP `charset`, then the XML declaration), and turning it into
/// clean UTF-8 that libxml2 can parse without ever stopping on a bad byte.
enum FeedEncoding {
  /// The outcome of decoding: UTF-8 bytes (nil when the input could be used as is) and notes.
  struct Decoded {
    /// Nil when the original bytes (minus `skip` BOM bytes) are already clean UTF-8.
    var utf8: [UInt8]?
    /// Bytes to skip at the start of the original (a UTF-8 BOM) when `utf8` is nil.
    var skip: Int
    /// Lowercase IANA name of the encoding the bytes were read as.
    var name: String
    var warnings: [String]
  }

  /// Decides the encoding and produces UTF-8. Undecodable bytes become U+FFFD, characters XML
  /// forbids (NUL, most C0 controls) too, so the parse never aborts on them. With
  /// `validate: false` the UTF-8 is not checked (the XML path lets libxml2 find trouble, then
  /// repairs and parses again); NUL bytes are always looked for, libxml2 would stop at them.
  static func decode(
    _ bytes: UnsafeRawBufferPointer, contentType: String?, sniffXMLDeclaration: Bool,
    validate: Bool = true
  ) -> Decoded {
    var warnings: [String] = []
    let (bomName, bomLength) = bom(bytes)
    var name: String
    if let bomName {
      name = bomName
    } else if let label = charset(fromContentType: contentType),
      let canonical = canonicalName(label)
    {
      name = canonical
    } else if sniffXMLDeclaration, let declared = xmlDeclarationEncoding(bytes),
      let canonical = canonicalName(declared)
    {
      name = canonical
    } else {
      name = sniffUnicode(bytes) ?? "utf-8"
    }
    // A UTF-16/32 label on bytes that plainly are not (ASCII `<` first) is a wrong label.
    if name == "utf-16" {
      name = sniffUnicode(bytes) ?? "utf-16be"
    } else if name == "utf-32" {
      name = sniffUnicode(bytes) ?? "utf-32be"
    }

    if name == "utf-8" {
      let validate = validate || hasNUL(UnsafeRawBufferPointer(rebasing: bytes[bomLength...]))
      let body = UnsafeRawBufferPointer(rebasing: bytes[bomLength...])
      if validate, let repaired = repairUTF8(body, replaced: &warnings) {
        return Decoded(utf8: repaired, skip: 0, name: name, warnings: warnings)
      }
      return Decoded(utf8: nil, skip: bomLength, name: name, warnings: warnings)
    }
    let body = UnsafeRawBufferPointer(rebasing: bytes[bomLength...])
    guard let converted = iconvToUTF8(body, from: name, warnings: &warnings) else {
      warnings.append("unknown encoding '\(name)', read as utf-8")
      let repaired = repairUTF8(body, replaced: &warnings)
      return Decoded(
        utf8: repaired, skip: repaired == nil ? bomLength : 0, name: "utf-8", warnings: warnings)
    }
    // NUL is looked for in the UTF-8 output: UTF-16/32 input is full of zero bytes.
    let nul = converted.withUnsafeBytes { hasNUL($0) }
    if !validate && !nul {
      return Decoded(utf8: converted, skip: 0, name: name, warnings: warnings)
    }
    let clean: [UInt8] =
      converted.withUnsafeBytes { raw in
        repairUTF8(raw, replaced: &warnings)
      } ?? converted
    return Decoded(utf8: clean, skip: 0, name: name, warnings: warnings)
  }

  static func hasNUL(_ b: UnsafeRawBufferPointer) -> Bool {
    guard let base = b.baseAddress, b.count > 0 else { return false }
    return memchr(base, 0, b.count) != nil
  }

  /// The byte-order mark, if any, and its length.
  static func bom(_ b: UnsafeRawBufferPointer) -> (String?, Int) {
    if b.count >= 3, b[0] == 0xEF, b[1] == 0xBB, b[2] == 0xBF { return ("utf-8", 3) }
    if b.count >= 4, b[0] == 0, b[1] == 0, b[2] == 0xFE, b[3] == 0xFF { return ("utf-32be", 4) }
    if b.count >= 4, b[0] == 0xFF, b[1] == 0xFE, b[2] == 0, b[3] == 0 { return ("utf-32le", 4) }
    if b.count >= 2, b[0] == 0xFE, b[1] == 0xFF { return ("utf-16be", 2) }
    if b.count >= 2, b[0] == 0xFF, b[1] == 0xFE { return ("utf-16le", 2) }
    return (nil, 0)
  }

  /// UTF-16/32 without a BOM, recognised by how `<` is laid out (XML 1.0 appendix F).
  static func sniffUnicode(_ b: UnsafeRawBufferPointer) -> String? {
    guard b.count >= 4 else { return nil }
    switch (b[0], b[1], b[2], b[3]) {
    case (0, 0, 0, 0x3C): return "utf-32be"
    case (0x3C, 0, 0, 0): return "utf-32le"
    case (0, 0x3C, _, _) where b[2] == 0: return "utf-16be"
    case (0x3C, 0, _, 0): return "utf-16le"
    default: return nil
    }
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

  /// `encoding="…"` of the XML declaration, read from ASCII-compatible bytes or UTF-16/32 without
  /// a BOM (the only pre-decl bytes XML allows).
  static func xmlDeclarationEncoding(_ b: UnsafeRawBufferPointer) -> String? {
    var ascii: [UInt8] = []
    ascii.reserveCapacity(256)
    let unit: Int
    let offset: Int
    switch sniffUnicode(b) {
    case "utf-32be": (unit, offset) = (4, 3)
    case "utf-32le": (unit, offset) = (4, 0)
    case "utf-16be": (unit, offset) = (2, 1)
    case "utf-16le": (unit, offset) = (2, 0)
    default: (unit, offset) = (1, 0)
    }
    var i = offset
    while i < b.count, ascii.count < 256 {
      let c = b[i]
      ascii.append(c)
      if c == UInt8(ascii: ">") { break }
      i += unit
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

  /// Maps a label to the lowercase IANA name we decode with. Latin-1 and ASCII labels become
  /// windows-1252, as browsers do (the C1 range is nearly always cp1252 punctuation).
  static func canonicalName(_ label: String) -> String? {
    let l = label.lowercased().trimmingCharacters(in: .whitespaces)
    switch l {
    case "": return nil
    case "utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8": return "utf-8"
    case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii",
      "iso-ir-100", "cp819", "ibm819", "iso_8859-1:1987", "windows-1252", "cp1252", "x-cp1252":
      return "windows-1252"
    case "utf-16", "ucs-2", "iso-10646-ucs-2", "unicode", "csunicode": return "utf-16"
    case "utf-16le", "utf-16be", "utf-32le", "utf-32be": return l
    case "utf-32", "ucs-4", "iso-10646-ucs-4": return "utf-32"
    case "windows-1257", "cp1257", "x-cp1257": return "windows-1257"
    case "iso-8859-13", "iso8859-13", "iso_8859-13", "latin7", "l7": return "iso-8859-13"
    case "iso-8859-4", "iso8859-4", "latin4": return "iso-8859-4"
    case "windows-1251", "cp1251": return "windows-1251"
    case "windows-1250", "cp1250": return "windows-1250"
    case "koi8-r", "koi8r": return "koi8-r"
    case "iso-8859-15", "iso8859-15", "latin9": return "iso-8859-15"
    case "iso-8859-2", "iso8859-2", "latin2": return "iso-8859-2"
    case "shift_jis", "sjis", "shift-jis", "x-sjis": return "shift_jis"
    case "gb2312", "gbk", "x-gbk": return "gbk"
    default: return l
    }
  }

  /// Transcodes with glibc iconv. Undecodable sequences become U+FFFD and decoding goes on.
  /// Nil when iconv does not know the encoding.
  static func iconvToUTF8(
    _ input: UnsafeRawBufferPointer, from name: String, warnings: inout [String]
  )
    -> [UInt8]?
  {
    let cd = iconv_open("UTF-8", name.uppercased())
    guard let cd, cd != iconv_t(bitPattern: -1) else { return nil }
    defer { iconv_close(cd) }
    let unit = name.hasPrefix("utf-32") ? 4 : name.hasPrefix("utf-16") ? 2 : 1
    var output = [UInt8](repeating: 0, count: input.count * (unit == 1 ? 3 : 2) + 16)
    var bad = 0
    var produced = 0
    guard let base = input.baseAddress else { return [] }
    var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer<CChar>(
      mutating: base.assumingMemoryBound(to: CChar.self))
    var inLeft = input.count
    output.withUnsafeMutableBytes { out in
      var outPtr: UnsafeMutablePointer<CChar>? = out.baseAddress!.assumingMemoryBound(
        to: CChar.self)
      var outLeft = out.count
      while inLeft > 0 {
        let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
        if r != -1 { break }
        let err = errno
        if err == E2BIG { break }  // cannot happen with the sizing above
        // EILSEQ or EINVAL (truncated at the end): replace one unit and go on.
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
    output.removeSubrange(produced...)
    if bad > 0 { warnings.append("\(bad) byte sequence(s) not valid \(name) replaced with U+FFFD") }
    return output
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
