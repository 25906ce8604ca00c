import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// sd_notify(3) without libsystemd: one datagram per message to `$NOTIFY_SOCKET` (a path, or
/// `@name` for the abstract namespace). Does nothing when the variable is unset, so the daemon
/// behaves the same outside systemd.
final class SystemdNotifier: Sendable {
  let socketPath: String?
  /// Half of `$WATCHDOG_USEC`, when systemd asked for keep-alives.
  let watchdogInterval: Duration?

  init(environment: [String: String] = ProcessInfo.processInfo.environment) {
    socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    if let usec = environment["WATCHDOG_USEC"].flatMap(UInt64.init), usec > 0,
      environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true
    {
      watchdogInterval = .microseconds(Int64(usec / 2))
    } else {
      watchdogInterval = nil
    }
  }

  var isActive: Bool { socketPath != nil }

  /// Sends newline-separated `KEY=VALUE` assignments; errors are ignored as sd_notify does.
  func notify(_ assignments: String...) {
    guard let socketPath else { return }
    let message = assignments.joined(separator: "\n")
    let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    var pathBytes = Array(socketPath.utf8)
    let abstract = pathBytes.first == UInt8(ascii: "@")
    if abstract { pathBytes[0] = 0 }
    let capacity = MemoryLayout.size(ofValue: addr.sun_path)
    guard pathBytes.count < capacity else { return }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
      for (i, b) in pathBytes.enumerated() { raw[i] = b }
    }
    let length =
      abstract
      ? socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count)
      : socklen_t(MemoryLayout<sockaddr_un>.size)
    _ = message.withCString { ptr in
      withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          sendto(fd, ptr, strlen(ptr), Int32(MSG_NOSIGNAL), $0, length)
        }
      }
    }
  }

  /// `MONOTONIC_USEC=` for the RELOADING=1 message (CLOCK_MONOTONIC, microseconds).
  static func monotonicMicroseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
  }
}
