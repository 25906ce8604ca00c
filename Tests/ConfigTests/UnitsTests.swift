import Config
import XCTest

/// Durations and sizes in the notation admins write.
final class UnitsTests: XCTestCase {
  func testDurations() {
    let cases: [(String, Double)] = [
      ("90s", 90), ("30m", 1800), ("6h", 21_600), ("1d", 86_400), ("2w", 1_209_600),
      ("1h30m", 5400),
      ("1.5h", 5400), ("250ms", 0.25), (" 10M ", 600), ("1d12h", 129_600), ("0s", 0),
    ]
    for (text, seconds) in cases {
      XCTAssertEqual(ConfigUnits.duration(text), seconds, text)
    }
    for bad in ["", "30", "5 minutes", "m", "1y", "1h 30m", "-5m", "1..5h", "abc", "1mo"] {
      XCTAssertNil(ConfigUnits.duration(bad), bad)
    }
  }

  func testSizes() {
    let cases: [(String, Int)] = [
      ("10MiB", 10_485_760), ("512KiB", 524_288), ("1MB", 1_000_000), ("1kb", 1000), ("2048", 2048),
      ("2048B", 2048), ("1GiB", 1 << 30), ("1.5MiB", 1_572_864), ("10 MiB", 10_485_760),
    ]
    for (text, bytes) in cases {
      XCTAssertEqual(ConfigUnits.size(text), bytes, text)
    }
    for bad in ["", "MiB", "10 megs", "10M", "-1", "1TB", "ten"] {
      XCTAssertNil(ConfigUnits.size(bad), bad)
    }
  }

  func testFormatting() {
    XCTAssertEqual(ConfigUnits.formatDuration(5400), "1h30m")
    XCTAssertEqual(ConfigUnits.formatDuration(86_400), "1d")
    XCTAssertEqual(ConfigUnits.formatDuration(90), "1m30s")
    XCTAssertEqual(ConfigUnits.formatDuration(0), "0s")
    XCTAssertEqual(ConfigUnits.formatDuration(0.25), "250ms")
    XCTAssertEqual(ConfigUnits.formatSize(10 << 20), "10MiB")
    XCTAssertEqual(ConfigUnits.formatSize(1000), "1000B")
    XCTAssertEqual(ConfigUnits.formatSize(3 << 10), "3KiB")
    for seconds in [1.0, 59, 61, 3599, 3601, 90061] {
      XCTAssertEqual(ConfigUnits.duration(ConfigUnits.formatDuration(seconds)), seconds)
    }
  }
}
