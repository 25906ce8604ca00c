import FeedModel
import Foundation

/// One reading of a person written as text — RSS `author`/`managingEditor`/`webMaster`,
/// `dc:creator`, `dc:contributor`, `dc:publisher`, `itunes:author` — in every form feeds use:
/// `me@x (Name)`, `Name (me@x)`, `Name <me@x>`, `<me@x>`, `mailto:me@x`, a bare address, a
/// bare name. As feedparser does: the first e-mail address found is the email, and what is
/// left once it (with `mailto:` and the brackets around it) is removed is the name.
public enum PersonParser {
  public static func parse(_ raw: String) -> Person? {
    guard let s = FeedSAXReader.collapse(raw) else { return nil }
    // Fast path, the common case: a bare name with nothing to take apart.
    var plain = true
    for c in s.utf8 {
      switch c {
      case 0x40, 0x28, 0x29, 0x3C, 0x3E, 0x22, 0x5B, 0x5D:  // @ ( ) < > " [ ]
        plain = false
      default: continue
      }
      break
    }
    if plain, let last = s.utf8.last, last != 0x2D, last != 0x2C, last != 0x3A, last != 0x3B {
      return Person(name: s)
    }
    let bytes = Array(s.utf8)
    guard let at = bytes.firstIndex(of: UInt8(ascii: "@")),
      let (start, end, cut) = emailBounds(bytes, at: at)
    else {
      return Person(name: cleanName(bytes[...]))
    }
    let email = String(decoding: bytes[start..<end], as: UTF8.self)
    var before = bytes[..<start]
    // `mailto:` right before the address belongs to it.
    let mailto = Array("mailto:".utf8)
    if before.count >= mailto.count,
      zip(before.suffix(mailto.count), mailto).allSatisfy({ $0 | 0x20 == $1 | 0x20 })
    {
      before = before.dropLast(mailto.count)
    }
    var rest = Array(before)
    rest.append(0x20)
    rest.append(contentsOf: bytes[cut...])
    return Person(name: cleanName(rest[...]), email: email)
  }

  /// The address around the `@` at `at`: local part of `A-Za-z0-9._%+-'` and a domain of
  /// labels with at least one dot (or `[1.2.3.4]`); `?subject=…` after it is dropped.
  static func emailBounds(_ b: [UInt8], at: Int) -> (Int, Int, Int)? {
    func localChar(_ c: UInt8) -> Bool {
      isAlnum(c) || c == 0x2E || c == 0x5F || c == 0x25 || c == 0x2B || c == 0x2D || c == 0x27
    }
    func domainChar(_ c: UInt8) -> Bool {
      isAlnum(c) || c == 0x2E || c == 0x2D || c == 0x5B || c == 0x5D || c >= 0x80
    }
    var start = at
    while start > 0, localChar(b[start - 1]) { start -= 1 }
    var end = at + 1
    while end < b.count, domainChar(b[end]) { end += 1 }
    while end > at + 1, b[end - 1] == 0x2E { end -= 1 }  // "me@x.lt." at a sentence's end
    while start < at, b[start] == 0x2E || b[start] == 0x27 { start += 1 }
    guard start < at, end > at + 1 else { return nil }
    let domain = b[(at + 1)..<end]
    guard domain.contains(0x2E) || domain.first == 0x5B || domain.allSatisfy(isAlnum) else {
      return nil
    }
    var cut = end
    if cut < b.count, b[cut] == UInt8(ascii: "?") {
      while cut < b.count, b[cut] != 0x20, b[cut] != 0x29, b[cut] != 0x3E { cut += 1 }
    }
    return (start, end, cut)
  }

  static func isAlnum(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A)
  }

  /// The name once the address is gone: empty brackets `()`, `<>`, `[]` removed, one outer
  /// pair of parentheses unwrapped, whitespace collapsed; nil when nothing is left.
  static func cleanName(_ b: ArraySlice<UInt8>) -> String? {
    var s = String(decoding: b, as: UTF8.self)
    for empty in ["()", "<>", "[]", "( )", "< >"] {
      s = s.replacingAll(empty, with: " ")
    }
    guard var name = FeedSAXReader.collapse(s) else { return nil }
    while name.count >= 2,
      (name.first == "(" && name.last == ")") || (name.first == "<" && name.last == ">")
        || (name.first == "\"" && name.last == "\"")
    {
      guard let inner = FeedSAXReader.collapse(String(name.dropFirst().dropLast())) else {
        return nil
      }
      name = inner
    }
    // "Jo Doe -" or "Jo Doe," left behind by "Jo Doe - me@x" forms.
    while let last = name.last, last == "-" || last == "," || last == ":" || last == ";" {
      name.removeLast()
      guard let t = FeedSAXReader.collapse(name) else { return nil }
      name = t
    }
    if name.first == "(", !name.contains(")") { name.removeFirst() }
    if name.last == ")", !name.contains("(") { name.removeLast() }
    return FeedSAXReader.collapse(name)
  }
}

extension String {
  fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
    guard contains(target) else { return self }
    var out = ""
    var rest = Substring(self)
    while let r = rest.range(of: target) {
      out += rest[..<r.lowerBound]
      out += replacement
      rest = rest[r.upperBound...]
    }
    out += rest
    return out
  }
}
