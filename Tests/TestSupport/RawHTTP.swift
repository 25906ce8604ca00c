import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// One raw TCP connection to 127.0.0.1, for tests that misbehave on purpose (half-sent request
/// heads, idle connections) or need keep-alive without pulling an HTTP client into every target.
public final class RawConnection: @unchecked Sendable {
  public let fd: Int32
  private var buffer: [UInt8] = []

  /// Connects (blocking); nil when the connection is refused.
  /// - Parameter receiveBuffer: a small `SO_RCVBUF` (set before connecting) makes a client that
  ///   does not read stall the server's writes quickly.
  public init?(port: Int, receiveTimeout: TimeInterval = 10, receiveBuffer: Int32? = nil) {
    fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    if var size = receiveBuffer {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    var tv = timeval(
      tv_sec: Int(receiveTimeout),
      tv_usec: Int((receiveTimeout.truncatingRemainder(dividingBy: 1)) * 1e6))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard rc == 0 else {
      Glibc.close(fd)
      return nil
    }
  }

  deinit { Glibc.close(fd) }

  /// Sends all of `text`; false when the peer is gone.
  @discardableResult
  public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

  @discardableResult
  public func send(_ bytes: [UInt8]) -> Bool {
    var sent = 0
    while sent < bytes.count {
      let n = bytes[sent...].withUnsafeBytes {
        Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
      }
      if n <= 0 { return false }
      sent += n
    }
    return true
  }

  /// Whether the server has closed the connection (EOF or reset) — waits up to `timeout` for
  /// something to happen; false when it is still open (nothing to read) after that.
  public func closedByPeer(within timeout: TimeInterval) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    var scratch = [UInt8](repeating: 0, count: 4096)
    while true {
      var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      let wait = max(0, Int32(deadline.timeIntervalSinceNow * 1000))
      guard poll(&p, 1, wait) > 0 else { return false }
      let n = recv(fd, &scratch, scratch.count, Int32(MSG_DONTWAIT))
      if n == 0 { return true }
      if n < 0 {
        if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
        return true
      }
      // Data (an error response before the close): keep it and wait for the close.
      buffer.append(contentsOf: scratch[0..<n])
    }
  }

  /// Reads until the peer closes (`eof`) or a read times out; returns how many bytes came.
  public func drain() -> (bytes: Int, eof: Bool) {
    var scratch = [UInt8](repeating: 0, count: 65536)
    var total = buffer.count
    buffer.removeAll()
    while true {
      let n = recv(fd, &scratch, scratch.count, 0)
      if n == 0 { return (total, true) }
      if n < 0 { return (total, errno != EAGAIN && errno != EWOULDBLOCK) }
      total += n
    }
  }

  /// Bytes received by `closedByPeer` before the close (e.g. a 400 response).
  public var received: String { String(decoding: buffer, as: UTF8.self) }

  /// A GET on this (kept-alive) connection: status, lower-cased headers and the body, which
  /// must have a Content-Length (every clusterwire response has one). nil when the connection
  /// failed.
  public func get(_ path: String, headers: [String: String] = [:]) -> (
    status: Int, headers: [String: String], body: [UInt8]
  )? {
    var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    for (k, v) in headers { request += "\(k): \(v)\r\n" }
    request += "\r\n"
    guard send(request) else { return nil }
    return readResponse()
  }

  /// Reads one response with a Content-Length body from the connection.
  public func readResponse() -> (status: Int, headers: [String: String], body: [UInt8])? {
    let separator: [UInt8] = [13, 10, 13, 10]
    var headEnd: Int?
    while headEnd == nil {
      if let i = Self.find(separator, in: buffer) {
        headEnd = i
        break
      }
      guard fill() else { return nil }
    }
    guard let end = headEnd else { return nil }
    let head = String(decoding: buffer[0..<end], as: UTF8.self)
    guard let (status, fields) = TestSupport.parseHead(head) else { return nil }
    let length = Int(fields["content-length"] ?? "0") ?? 0
    let bodyStart = end + 4
    while buffer.count < bodyStart + length {
      guard fill() else { return nil }
    }
    let body = Array(buffer[bodyStart..<(bodyStart + length)])
    buffer.removeFirst(bodyStart + length)
    return (status, fields, body)
  }

  private func fill() -> Bool {
    var scratch = [UInt8](repeating: 0, count: 65536)
    let n = recv(fd, &scratch, scratch.count, 0)
    guard n > 0 else { return false }
    buffer.append(contentsOf: scratch[0..<n])
    return true
  }

  private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for i in 0...(haystack.count - needle.count)
    where haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
      return i
    }
    return nil
  }
}

extension TestSupport {
  /// Resident memory of a process in bytes (`VmRSS` in /proc/PID/status), or nil.
  public static func residentBytes(pid: Int32) -> Int? {
    guard
      let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return nil }
    let kb = line.split(separator: " ").compactMap { Int($0) }.first
    return kb.map { $0 * 1024 }
  }

  /// Raises this process's soft open-file limit towards `wanted` (up to the hard limit); returns
  /// the limit in effect afterwards.
  @discardableResult
  public static func raiseOpenFileLimit(to wanted: Int) -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
    if limit.rlim_cur < rlim_t(wanted) {
      var raised = limit
      raised.rlim_cur = min(rlim_t(wanted), limit.rlim_max)
      if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
    }
    return Int(clamping: limit.rlim_cur)
  }

  /// Runs `work(worker)` for `workers` workers on their own threads and waits for all of them
  /// (blocking-socket load generators).
  public static func concurrently(_ workers: Int, _ work: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for w in 0..<workers {
      group.enter()
      let thread = Thread {
        work(w)
        group.leave()
      }
      thread.stackSize = 1 << 20
      thread.start()
    }
    group.wait()
  }
}
