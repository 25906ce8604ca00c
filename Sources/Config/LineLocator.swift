/// Maps key paths to the line that defines them. TOMLKit (toml++) keeps no positions for keys, so
/// this re-reads the raw text: it tracks `[table]` and `[[array]]` headers (with the occurrence
/// index of each array element), `key = value` lines, and skips the continuation lines of
/// multi-line strings and arrays. Paths look like `server.listen`, `source[2].select.item`.
struct LineLocator {
  private(set) var lines: [String: Int] = [:]
  /// The first table header whose key starts with a character no key can start with (`[ = 5`,
  /// or `[` alone on its line):
  /// toml++ (inside TOMLKit) asserts on it and aborts the process instead of reporting an error
  /// (found by the fuzzer: Tests/Fuzz/regressions/config/header-without-key.toml).
  private(set) var invalidHeaderLine: Int?
  /// The first line where a `}` closes nothing but an array (`categories = ["a", }`): toml++
  /// asserts on that too and aborts (found by the fuzzer:
  /// Tests/Fuzz/regressions/config/brace-in-array.toml).
  private(set) var braceInArrayLine: Int?

  init(text: String) {
    var arrayCounts: [String: Int] = [:]
    var current = ""
    var state = ScanState()
    var lineNumber = 0
    // Split on the byte, not the Character: "\r\n" is one Character in Swift, so a CRLF file
    // split on "\n" was one line (wrong line numbers, and the guards below saw nothing; the
    // fuzzer found a toml++ abort through it: Tests/Fuzz/regressions/config/crlf-header.toml).
    for raw in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
      lineNumber += 1
      let bytes = Array(raw)
      if state.continues {
        Self.scan(bytes, from: 0, state: &state)
        if state.braceInArray, braceInArrayLine == nil { braceInArrayLine = lineNumber }
        continue
      }
      var i = Self.skipSpace(bytes, 0)
      guard i < bytes.count, bytes[i] != UInt8(ascii: "#"), bytes[i] != UInt8(ascii: "\r") else {
        continue
      }
      if bytes[i] == UInt8(ascii: "[") {
        let isArray = i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "[")
        i += isArray ? 2 : 1
        let k = Self.skipSpace(bytes, i)
        if invalidHeaderLine == nil,
          k >= bytes.count
            || (!Self.isBare(bytes[k]) && bytes[k] != UInt8(ascii: "\"")
              && bytes[k] != UInt8(ascii: "'") && bytes[k] != UInt8(ascii: "]"))
        {
          invalidHeaderLine = lineNumber
        }
        guard let (segments, _) = Self.parseKey(bytes, i), !segments.isEmpty else { continue }
        var prefix = ""
        for (n, segment) in segments.enumerated() {
          prefix = prefix.isEmpty ? segment : prefix + "." + segment
          let last = n == segments.count - 1
          if last && isArray {
            record(prefix, lineNumber)  // `sourca` of `[[sourca]]`, for "unknown key" (fuzzer)
            let index = arrayCounts[prefix, default: 0]
            arrayCounts[prefix] = index + 1
            prefix += "[\(index)]"
          } else if let count = arrayCounts[prefix] {
            prefix += "[\(count - 1)]"
          }
          // `[source.select]` alone defines `source` too (the fuzzer found an issue about
          // `source` with no line: Tests/Fuzz/regressions/config/implicit-table-line.toml).
          record(prefix, lineNumber)
        }
        current = prefix
        record(current, lineNumber)
        continue
      }
      guard let (segments, after) = Self.parseKey(bytes, i), !segments.isEmpty else { continue }
      let j = Self.skipSpace(bytes, after)
      guard j < bytes.count, bytes[j] == UInt8(ascii: "=") else { continue }
      var path = current
      for segment in segments {
        path = path.isEmpty ? segment : path + "." + segment
        record(path, lineNumber)
      }
      Self.scan(bytes, from: j + 1, state: &state)
      if state.braceInArray, braceInArrayLine == nil { braceInArrayLine = lineNumber }
    }
  }

  private mutating func record(_ path: String, _ line: Int) {
    if lines[path] == nil { lines[path] = line }
  }

  /// The line of `path`, else of its nearest recorded ancestor (a missing key is reported on its
  /// table's header; a key inside an inline table on the line of the inline table).
  func line(for path: String) -> Int? {
    var path = path
    while !path.isEmpty {
      if let line = lines[path] { return line }
      guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
      path = String(path[..<cut])
    }
    return nil
  }

  /// Whether the next line continues the current value (multi-line string or array).
  struct ScanState {
    var multiLineBasic = false
    var multiLineLiteral = false
    /// The open `[` and `{` of the value being scanned, innermost last.
    var open: [UInt8] = []
    /// Set when a `}` arrived while an array was the innermost open bracket.
    var braceInArray = false
    var continues: Bool { multiLineBasic || multiLineLiteral || !open.isEmpty }
  }

  private static func skipSpace(_ b: [UInt8], _ start: Int) -> Int {
    var i = start
    while i < b.count, b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "\t") { i += 1 }
    return i
  }

  private static func isBare(_ c: UInt8) -> Bool {
    (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
      || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
      || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_")
      || c == UInt8(ascii: "-")
  }

  /// Parses a dotted key (bare, "basic" or 'literal' segments); returns the segments and the
  /// index just after the key.
  static func parseKey(_ b: [UInt8], _ start: Int) -> ([String], Int)? {
    var segments: [String] = []
    var i = skipSpace(b, start)
    while i < b.count {
      if b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") {
        let quote = b[i]
        var j = i + 1
        var text: [UInt8] = []
        while j < b.count, b[j] != quote {
          if quote == UInt8(ascii: "\""), b[j] == UInt8(ascii: "\\"), j + 1 < b.count {
            text.append(b[j + 1])
            j += 2
            continue
          }
          text.append(b[j])
          j += 1
        }
        guard j < b.count else { return nil }
        segments.append(String(decoding: text, as: UTF8.self))
        i = j + 1
      } else if isBare(b[i]) {
        let s = i
        while i < b.count, isBare(b[i]) { i += 1 }
        segments.append(String(decoding: b[s..<i], as: UTF8.self))
      } else {
        return nil
      }
      let k = skipSpace(b, i)
      if k < b.count, b[k] == UInt8(ascii: ".") {
        i = skipSpace(b, k + 1)
      } else {
        return (segments, i)
      }
    }
    return segments.isEmpty ? nil : (segments, i)
  }

  /// Follows strings, comments and brackets through a value so continuation lines are skipped.
  static func scan(_ b: [UInt8], from start: Int, state: inout ScanState) {
    let dq = UInt8(ascii: "\"")
    let sq = UInt8(ascii: "'")
    func triple(_ i: Int, _ q: UInt8) -> Bool {
      i + 2 < b.count && b[i] == q && b[i + 1] == q && b[i + 2] == q
    }
    var i = start
    while i < b.count {
      if state.multiLineBasic {
        if b[i] == UInt8(ascii: "\\") {
          i += 2
          continue
        }
        if triple(i, dq) {
          state.multiLineBasic = false
          i += 3
          while i < b.count, b[i] == dq { i += 1 }
          continue
        }
        i += 1
        continue
      }
      if state.multiLineLiteral {
        if triple(i, sq) {
          state.multiLineLiteral = false
          i += 3
          while i < b.count, b[i] == sq { i += 1 }
          continue
        }
        i += 1
        continue
      }
      let c = b[i]
      if c == UInt8(ascii: "#") { return }
      if triple(i, dq) {
        state.multiLineBasic = true
        i += 3
      } else if triple(i, sq) {
        state.multiLineLiteral = true
        i += 3
      } else if c == dq {
        i += 1
        while i < b.count, b[i] != dq {
          i += b[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        i += 1
      } else if c == sq {
        i += 1
        while i < b.count, b[i] != sq { i += 1 }
        i += 1
      } else {
        if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { state.open.append(c) }
        if c == UInt8(ascii: "}"), state.open.last == UInt8(ascii: "[") {
          state.braceInArray = true
        }
        if c == UInt8(ascii: "]") || c == UInt8(ascii: "}"), !state.open.isEmpty {
          state.open.removeLast()
        }
        i += 1
      }
    }
  }
}
