import CTextCat
import Foundation

/// The language of a text, guessed by libexttextcat's N-gram classifier (the one LibreOffice
/// uses) over a fixed set of candidates: the 24 official EU languages and Russian, Ukrainian,
/// Belarusian and Norwegian (the network is Lithuanian and publishes towards the European
/// Cluster Collaboration Platform). Few candidates keep short texts (a title and a lead) right.
///
/// Loading the fingerprints takes milliseconds, so handles are created lazily, on first use,
/// and reused; a libexttextcat handle is not safe to share between threads, so each
/// classification takes one from a small pool (a new one when all are busy).
public final class LanguageDetector: @unchecked Sendable {
  /// Candidates: fingerprint file (in the data directory) → primary language tag.
  public static let candidates: [(file: String, tag: String)] = [
    ("en.lm", "en"), ("lt.lm", "lt"), ("lv.lm", "lv"), ("et.lm", "et"), ("pl.lm", "pl"),
    ("de.lm", "de"), ("fr.lm", "fr"), ("es.lm", "es"), ("it.lm", "it"), ("pt.lm", "pt"),
    ("nl.lm", "nl"), ("da.lm", "da"), ("sv.lm", "sv"), ("fi.lm", "fi"), ("hu.lm", "hu"),
    ("cs.lm", "cs"), ("sk.lm", "sk"), ("sl.lm", "sl"), ("hr.lm", "hr"), ("ro.lm", "ro"),
    ("bg.lm", "bg"), ("el.lm", "el"), ("ga.lm", "ga"), ("mt.lm", "mt"), ("ru.lm", "ru"),
    ("uk.lm", "uk"), ("be.lm", "be"), ("nb.lm", "no"), ("nn.lm", "no"),
  ]

  /// Debian's fingerprints (libexttextcat-data).
  public static let defaultDataDirectory = "/usr/share/libexttextcat"

  /// The detector over Debian's fingerprints, loaded on first use.
  public static let shared = LanguageDetector(dataDirectory: defaultDataDirectory)

  /// Texts with fewer letters than this are not classified: a few words are too little.
  public static let minimumLetters = 40
  /// Bytes of text looked at: a few hundred suffice (libexttextcat's own advice).
  public static let maximumBytes = 1500

  let dataDirectory: String
  private let lock = NSLock()
  /// A libexttextcat handle with its result buffer.
  struct Handle {
    let classifier: UnsafeMutableRawPointer
    let candidates: UnsafeMutablePointer<candidate_t>
  }
  /// Idle handles, guarded by `lock`.
  private var idle: [Handle] = []
  /// Whether every candidate's fingerprint is there (checked once), guarded by `lock`.
  private var fingerprintsPresent: Bool?
  private let maxIdle = 4

  public init(dataDirectory: String) {
    self.dataDirectory = dataDirectory.hasSuffix("/") ? dataDirectory : dataDirectory + "/"
  }

  deinit {
    for h in idle { LanguageDetector.free(h) }
  }

  /// Whether the fingerprints could be loaded (false without libexttextcat-data).
  public var isAvailable: Bool {
    guard let h = take() else { return false }
    give(h)
    return true
  }

  /// The primary language tag (`en`, `lt`…) of a plain text, or nil when it is too short or
  /// the classifier is not confident (another language scores within `margin`).
  public func detect(_ text: String) -> String? {
    var bytes = Array(text.utf8.prefix(LanguageDetector.maximumBytes + 1))
    if bytes.count > LanguageDetector.maximumBytes {
      // Cut before the character that byte `maximumBytes` belongs to.
      bytes.removeLast()
      while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
      if bytes.last.map({ $0 >= 0xC0 }) == true { bytes.removeLast() }
    }
    var letters = 0
    for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars
    where scalar.properties.isAlphabetic {
      letters += 1
    }
    guard letters >= LanguageDetector.minimumLetters, let h = take() else { return nil }
    defer { give(h) }
    // NUL-terminated although the length is passed: libexttextcat's `prepbuffer` skips a run of
    // non-letters (digits, punctuation) up to the next letter or NUL without checking the
    // length, so a text ending in "+0300" was read past its end — into whatever the heap held,
    // which made the same entry's language differ from one parse to the next (the parser
    // fuzzer's reuse invariant found it).
    bytes.append(0)
    let ranked = bytes.withUnsafeBufferPointer { b in
      b.withMemoryRebound(to: CChar.self) { c -> [(tag: String, score: Int)] in
        let n = textcat_ClassifyFull(h.classifier, c.baseAddress, c.count - 1, h.candidates)
        guard n > 0 else { return [] }  // UNKNOWN (too many alike) or SHORT
        return (0..<Int(n)).map {
          (String(cString: h.candidates[$0].name), Int(h.candidates[$0].score))
        }
      }
    }
    return LanguageDetector.confidentTag(ranked)
  }

  /// How much closer (as a ratio of libexttextcat's out-of-place distances) the best language
  /// must be than the next different one: closer than 1 % is a tie (Lithuanian and Latvian
  /// titles can be that close).
  static let margin = 1.01

  /// The best tag of libexttextcat's candidates (best first, lower score is closer) when no
  /// other language comes within `margin` of it; nil for no candidates or a tie.
  static func confidentTag(_ ranked: [(tag: String, score: Int)]) -> String? {
    guard let best = ranked.first, !best.tag.isEmpty else { return nil }
    for other in ranked.dropFirst() where other.tag != best.tag {
      if Double(other.score) < Double(best.score) * margin { return nil }
    }
    return best.tag
  }

  private func take() -> Handle? {
    lock.lock()
    if let h = idle.popLast() {
      lock.unlock()
      return h
    }
    if fingerprintsPresent == nil {
      fingerprintsPresent = LanguageDetector.candidates.allSatisfy {
        access(dataDirectory + $0.file, R_OK) == 0
      }
    }
    let present = fingerprintsPresent == true
    lock.unlock()
    guard present else { return nil }
    return newHandle()
  }

  /// A handle over the candidates: libexttextcat reads them from a conf file (`file tag` per
  /// line). The conf is written into a pipe and read back through `/proc/self/fd`, so loading
  /// touches no writable directory (the service runs with `ProtectSystem=strict`) and opens no
  /// file but the fingerprints themselves.
  private func newHandle() -> Handle? {
    let text = LanguageDetector.candidates.map { "\($0.file) \($0.tag)\n" }.joined()
    let bytes = Array(text.utf8)
    var fds: [Int32] = [-1, -1]
    // A pipe holds 64 KiB before a writer blocks; the conf is about 1 KiB.
    guard bytes.count < 16_384, pipe(&fds) == 0 else { return nil }
    defer { close(fds[0]) }
    let written = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
    close(fds[1])
    guard written == bytes.count,
      let h = special_textcat_Init("/proc/self/fd/\(fds[0])", dataDirectory)
    else {
      return nil
    }
    textcat_SetProperty(h, TCPROP_UTF8AWARE, sint4(TC_TRUE.rawValue))
    guard let candidates = textcat_GetClassifyFullOutput(h) else {
      textcat_Done(h)
      return nil
    }
    return Handle(classifier: h, candidates: candidates)
  }

  private static func free(_ h: Handle) {
    textcat_ReleaseClassifyFullOutput(h.classifier, h.candidates)
    textcat_Done(h.classifier)
  }

  private func give(_ h: Handle) {
    lock.lock()
    if idle.count < maxIdle {
      idle.append(h)
      lock.unlock()
    } else {
      lock.unlock()
      LanguageDetector.free(h)
    }
  }
}
