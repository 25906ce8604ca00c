import FeedStore
import Foundation
import Logging
import Metrics

/// One instance's membership of a fleet sharing a store: it records the instance's heartbeat
/// (with the hash of the configuration it runs) and compares that hash with the other live
/// instances'. A fleet running different configurations fetches and publishes inconsistently,
/// so a mismatch is logged as a warning naming the instances (again when the set changes, and
/// every `repeatWarningAfter` while it lasts) and shown by the gauges
/// `clusterwire_fleet_config_mismatch` (0/1) and `clusterwire_fleet_instances`. The daemon calls
/// `beat` every `[fleet] heartbeat`.
public final class FleetMembership: Sendable {
  /// What one heartbeat saw.
  public struct Report: Sendable, Hashable {
    /// The live instances, this one included, newest heartbeat first.
    public var instances: [FleetInstance]
    /// The live instances whose configuration hash differs from this one's.
    public var mismatched: [FleetInstance]
  }

  private struct State {
    var warned: (ids: Set<String>, at: Date)?
    var failing = false
  }

  private let store: any SharedFeedStore
  private let logger: Logger
  private let repeatWarningAfter: TimeInterval
  private let state = Locked(State())

  public init(store: any SharedFeedStore, logger: Logger, repeatWarningAfter: TimeInterval = 300) {
    self.store = store
    self.logger = logger
    self.repeatWarningAfter = repeatWarningAfter
  }

  /// Records the heartbeat, removes instances silent for longer than `expireAfter`, and compares
  /// configurations. Nil when the store failed (logged once per run of failures).
  @discardableResult
  public func beat(configHash: String, expireAfter: TimeInterval, now: Date = Date()) async
    -> Report?
  {
    let live: [FleetInstance]
    do {
      try await store.heartbeat(configHash: configHash, now: now, expireAfter: expireAfter)
      live = try await store.instances()
    } catch {
      let first = state.withLock { s in
        defer { s.failing = true }
        return !s.failing
      }
      if first { logger.error("fleet heartbeat failed: \(error)") }
      return nil
    }
    let others = live.filter { $0.configHash != configHash && $0.id != store.instanceID }
      .sorted { $0.id < $1.id }
    Gauge(label: "clusterwire_fleet_instances").record(live.count)
    Gauge(label: "clusterwire_fleet_config_mismatch").record(others.isEmpty ? 0 : 1)
    let ids = Set(others.map(\.id))
    enum Say { case nothing, recovered, agreeAgain, warn }
    let say: Say = state.withLock { s in
      var say = Say.nothing
      if s.failing {
        s.failing = false
        say = .recovered
      }
      if ids.isEmpty {
        if s.warned != nil {
          s.warned = nil
          say = .agreeAgain
        }
      } else if s.warned?.ids != ids
        || now.timeIntervalSince(s.warned?.at ?? .distantPast) >= repeatWarningAfter
      {
        s.warned = (ids, now)
        say = .warn
      }
      return say
    }
    switch say {
    case .nothing: break
    case .recovered: logger.info("fleet heartbeat recorded again")
    case .agreeAgain: logger.info("the fleet runs one configuration again")
    case .warn:
      let names = others.map {
        "\($0.id) (\($0.hostname), config \($0.configHash.prefix(12)))"
      }
      let message =
        "the fleet runs different configurations: \(names.joined(separator: ", ")) differ from "
        + "this instance's config \(configHash.prefix(12)); make every instance's config identical"
      logger.warning(
        "\(message)", metadata: ["instances": "\(ids.sorted().joined(separator: ","))"])
    }
    return Report(instances: live, mismatched: others)
  }
}
