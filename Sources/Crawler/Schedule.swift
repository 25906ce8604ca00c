import Foundation

/// When a source is polled next: the pure arithmetic of the scheduler, kept apart so it can be
/// unit-tested without a clock or a network.
public enum Schedule {
  /// Delay before retrying after `failures` consecutive failures (≥ 1): `interval · 2^(n-1)`,
  /// capped at `cap`, then spread by ±10 % (`jitter` in 0..<1 picks where) so sources that failed
  /// together (a shared host went down) do not retry in lock-step. Never more than `cap`.
  public static func backoff(
    interval: TimeInterval, failures: Int, cap: TimeInterval, jitter: Double
  ) -> TimeInterval {
    let n = max(1, failures)
    let exponent = min(n - 1, 40)
    let base = min(cap, interval * pow(2, Double(exponent)))
    let factor = 0.9 + 0.2 * min(max(jitter, 0), 1)
    return max(1, min(cap, base * factor))
  }

  /// Next due time after a fetch. Successes wait the interval but never less than the server's
  /// hints (`max-age`, `Expires`, RSS `ttl`); failures back off and honour `Retry-After`. Hints
  /// are capped at `cap` so a server saying "max-age = 1 year" is still polled daily.
  public static func nextDue(
    now: Date, result: FetchResultKind, interval: TimeInterval, failures: Int,
    hint: TimeInterval?, retryAfter: TimeInterval?, cap: TimeInterval, jitter: Double
  ) -> Date {
    switch result {
    case .success:
      let wait = max(interval, min(cap, hint ?? 0))
      return now.addingTimeInterval(wait)
    case .failure:
      let delay = backoff(interval: interval, failures: failures, cap: cap, jitter: jitter)
      return now.addingTimeInterval(max(delay, min(cap, retryAfter ?? 0)))
    case .gone:
      return Date.distantFuture
    }
  }

  public enum FetchResultKind: Sendable { case success, failure, gone }

  /// Where in the start-up window a never-fetched (or overdue) source starts. The window grows
  /// with the number of such sources — about two starts per second — and never exceeds the
  /// interval, so a handful of sources shows news within seconds while a thousand are spread
  /// over minutes instead of stampeding. Deterministic (a hash of the id) so restarts keep the
  /// same order.
  public static func startupDelay(id: String, count: Int, interval: TimeInterval) -> TimeInterval {
    let window = min(interval, Double(max(0, count)) * 0.5)
    guard window > 0 else { return 0 }
    let h = BodyHash.hash64(id)
    return window * (Double(h >> 11) / Double(1 << 53))
  }
}

/// Parsing of the response headers that steer scheduling.
public enum ServerHints {
  /// `Retry-After`: delta-seconds or an HTTP date; seconds from `now`, never negative.
  public static func retryAfter(_ value: String, now: Date) -> TimeInterval? {
    let v = value.trimmingCharacters(in: .whitespaces)
    if let seconds = Int(v) { return TimeInterval(max(0, seconds)) }
    if let date = httpDate(v) { return max(0, date.timeIntervalSince(now)) }
    return nil
  }

  /// `Cache-Control: max-age=N` (ignored when `no-cache`/`no-store` are present).
  public static func maxAge(cacheControl: String) -> TimeInterval? {
    var result: TimeInterval?
    for part in cacheControl.split(separator: ",") {
      let token = part.trimmingCharacters(in: .whitespaces).lowercased()
      if token == "no-cache" || token == "no-store" { return nil }
      if token.hasPrefix("max-age=") {
        let raw = token.dropFirst("max-age=".count).trimmingCharacters(
          in: CharacterSet(charactersIn: "\""))
        if let n = Int(raw) { result = TimeInterval(max(0, n)) }
      }
    }
    return result
  }

  /// `Expires`: seconds from `now` (nil when unparseable or in the past).
  public static func expires(_ value: String, now: Date) -> TimeInterval? {
    guard let date = httpDate(value) else { return nil }
    let delta = date.timeIntervalSince(now)
    return delta > 0 ? delta : nil
  }

  private static let months = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
  ]

  /// RFC 9110 dates: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), obsolete RFC 850
  /// (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`). Always GMT.
  public static func httpDate(_ string: String) -> Date? {
    let tokens = string.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    var day: Int?
    var month: Int?
    var year: Int?
    var time: String?
    if tokens.count == 6, tokens[5].uppercased() == "GMT" || tokens[5] == "UTC" {
      // IMF-fixdate
      day = Int(tokens[1])
      month = months.firstIndex(of: tokens[2].lowercased()).map { $0 + 1 }
      year = Int(tokens[3])
      time = tokens[4]
    } else if tokens.count == 4, tokens[3].uppercased() == "GMT" {
      // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
      let parts = tokens[1].split(separator: "-").map(String.init)
      guard parts.count == 3 else { return nil }
      day = Int(parts[0])
      month = months.firstIndex(of: parts[1].lowercased()).map { $0 + 1 }
      if let y = Int(parts[2]) { year = y < 100 ? (y < 70 ? 2000 + y : 1900 + y) : y }
      time = tokens[2]
    } else if tokens.count == 5 {
      // asctime: Sun Nov  6 08:49:37 1994
      month = months.firstIndex(of: tokens[1].lowercased()).map { $0 + 1 }
      day = Int(tokens[2])
      time = tokens[3]
      year = Int(tokens[4])
    }
    guard let day, let month, let year, let time, (1...31).contains(day) else { return nil }
    let hms = time.split(separator: ":").compactMap { Int($0) }
    guard hms.count == 3, (0...23).contains(hms[0]), (0...59).contains(hms[1]),
      (0...60).contains(hms[2])
    else { return nil }
    // Days from the civil date (Howard Hinnant's algorithm), no Calendar needed.
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146_097 + doe - 719_468
    let seconds = days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]
    return Date(timeIntervalSince1970: TimeInterval(seconds))
  }
}
