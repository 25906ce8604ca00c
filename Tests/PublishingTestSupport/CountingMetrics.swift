import Foundation
import Metrics

/// A swift-metrics backend that only counts, for the publisher's and the server's tests (the
/// global `MetricsSystem` can be bootstrapped once per process): the labels the server emits and
/// how often the publisher renders.
public final class CountingMetrics: MetricsFactory, @unchecked Sendable {
  private let lock = NSLock()
  private var totals: [String: Int64] = [:]

  public init() {}

  /// `clusterwire_http_requests_total{route,status}`.
  public func value(_ route: String, _ status: String) -> Int64 {
    lock.withLock { totals["clusterwire_http_requests_total|\(route)|\(status)"] ?? 0 }
  }

  /// Every counter called `label`, whatever its dimensions.
  public func total(_ label: String) -> Int64 {
    lock.withLock { totals.filter { $0.key.hasPrefix(label + "|") }.values.reduce(0, +) }
  }

  public func routes() -> [String] {
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

  public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
    let d = Dictionary(dimensions, uniquingKeysWith: { a, _ in a })
    return Handler(key: "\(label)|\(d["route"] ?? "")|\(d["status"] ?? "")", owner: self)
  }
  public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool)
    -> any RecorderHandler
  { Nop() }
  public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { Nop() }
  public func destroyCounter(_ handler: any CounterHandler) {}
  public func destroyRecorder(_ handler: any RecorderHandler) {}
  public func destroyTimer(_ handler: any TimerHandler) {}
}
