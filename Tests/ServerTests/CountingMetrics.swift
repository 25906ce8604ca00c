import Foundation
import Metrics

/// A swift-metrics backend that only counts, to check the labels the server emits.
final class CountingMetrics: MetricsFactory, @unchecked Sendable {
  private let lock = NSLock()
  private var totals: [String: Int64] = [:]

  func value(_ route: String, _ status: String) -> Int64 {
    lock.withLock { totals["clusterwire_http_requests_total|\(route)|\(status)"] ?? 0 }
  }

  func routes() -> [String] {
    lock.withLock {
      totals.keys.map { $0.split(separator: "|").dropFirst().first.map(String.init) ?? "" }
    }
  }

  final class Handler: CounterHandler, @unchecked Sendable {
    let key: String
    let owner: CountingMetrics
    init(key: String, owner: CountingMetrics) {
      self.key = key
      self.owner = owner
    }
    func increment(by amount: Int64) {
      owner.lock.withLock { owner.totals[key, default: 0] += amount }
    }
    func reset() { owner.lock.withLock { owner.totals[key] = 0 } }
  }

  final class Nop: RecorderHandler, TimerHandler, @unchecked Sendable {
    func record(_ value: Int64) {}
    func record(_ value: Double) {}
    func recordNanoseconds(_ duration: Int64) {}
  }

  func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
    let d = Dictionary(dimensions, uniquingKeysWith: { a, _ in a })
    return Handler(key: "\(label)|\(d["route"] ?? "")|\(d["status"] ?? "")", owner: self)
  }
  func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool)
    -> any RecorderHandler
  { Nop() }
  func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { Nop() }
  func destroyCounter(_ handler: any CounterHandler) {}
  func destroyRecorder(_ handler: any RecorderHandler) {}
  func destroyTimer(_ handler: any TimerHandler) {}
}
