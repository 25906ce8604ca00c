import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Helpers shared by the test targets: where the built binaries are, running them, temporary
/// directories, and a Unix datagram socket standing in for systemd's `$NOTIFY_SOCKET`.
public enum TestSupport {
  /// The package root (the directory holding Package.swift).
  public static let packageRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
      url.deleteLastPathComponent()
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        return url
      }
    }
    fatalError("Package.swift not found above \(#filePath)")
  }()

  /// The directory holding the built products (`clusterwire`, `cwbench`): the test bundle's own.
  public static let productsDirectory: URL = {
    let exe =
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
      ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    // On Linux the test runner is `<products>/clusterwirePackageTests.xctest`.
    while dir.path != "/" {
      if FileManager.default.isExecutableFile(
        atPath: dir.appendingPathComponent("clusterwire").path)
      {
        return dir
      }
      dir.deleteLastPathComponent()
    }
    return packageRoot.appendingPathComponent(".build/debug")
  }()

  /// The built `clusterwire` executable.
  public static var clusterwireBinary: URL {
    productsDirectory.appendingPathComponent("clusterwire")
  }
  /// The built `cwbench` executable.
  public static var benchBinary: URL { productsDirectory.appendingPathComponent("cwbench") }

  /// A fresh directory under the system temp dir; the caller removes it.
  public static func makeTempDirectory(_ prefix: String = "clusterwire-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// A fixture file under `Tests/<target>/Fixtures/`.
  public static func fixture(_ target: String, _ name: String) -> URL {
    packageRoot.appendingPathComponent("Tests/\(target)/Fixtures/\(name)")
  }

  public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: Data
    public var stderr: Data
    public var stdoutString: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrString: String { String(decoding: stderr, as: UTF8.self) }
  }

  /// Runs an executable to completion (stdin from `input`, or /dev/null), capturing its output.
  public static func run(
    _ executable: URL, _ arguments: [String], input: Data? = nil,
    environment: [String: String]? = nil, timeout: TimeInterval = 60
  ) throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let inPipe = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : inPipe
    try process.run()
    if let input {
      inPipe.fileHandleForWriting.write(input)
      try? inPipe.fileHandleForWriting.close()
    }
    // Drain both pipes concurrently so a chatty child never blocks on a full pipe.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    nonisolated(unsafe) var errData = Data()
    group.enter()
    DispatchQueue.global().async {
      outData = out.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    group.enter()
    DispatchQueue.global().async {
      errData = err.fileHandleForReading.readDataToEndOfFile()
      group.leave()
    }
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning {
      process.terminate()
      usleep(200_000)
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
    process.waitUntilExit()
    group.wait()
    return ProcessResult(status: process.terminationStatus, stdout: outData, stderr: errData)
  }

  /// Polls `condition` until it is true or `timeout` passes; returns whether it became true.
  public static func waitUntil(
    timeout: TimeInterval, interval: TimeInterval = 0.05, _ condition: () throws -> Bool
  ) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if try condition() { return true }
      usleep(UInt32(interval * 1_000_000))
    }
    return try condition()
  }
}

/// A bound Unix datagram socket that records what a child process sends to `$NOTIFY_SOCKET`.
public final class NotifySocket: @unchecked Sendable {
  public let path: String
  private let fd: Int32
  private let lock = NSLock()
  private var messages: [String] = []
  private var closed = false

  public init(directory: URL) throws {
    path = directory.appendingPathComponent("notify-\(UUID().uuidString.prefix(6)).sock").path
    fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    precondition(bytes.count < MemoryLayout.size(ofValue: addr.sun_path))
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
    }
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
      }
    }
    guard rc == 0 else { throw POSIXError(.EADDRINUSE) }
    var tv = timeval(tv_sec: 0, tv_usec: 100_000)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    let thread = Thread { [self] in self.readLoop() }
    thread.start()
  }

  private func readLoop() {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      lock.lock()
      let done = closed
      lock.unlock()
      if done { return }
      let n = recv(fd, &buffer, buffer.count, 0)
      if n > 0 {
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        lock.lock()
        messages.append(text)
        lock.unlock()
      }
    }
  }

  /// Every datagram received so far, in order.
  public var received: [String] {
    lock.lock()
    defer { lock.unlock() }
    return messages
  }

  /// Waits until some datagram contains `line` as one of its newline-separated assignments.
  public func wait(for line: String, timeout: TimeInterval) -> Bool {
    TestSupport.waitUntil(timeout: timeout) {
      received.contains { $0.split(separator: "\n").contains { $0 == line } }
    }
  }

  public func close() {
    lock.lock()
    closed = true
    lock.unlock()
    usleep(150_000)
    Glibc.close(fd)
    unlink(path)
  }
}

extension TestSupport {
  /// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it back, close).
  public static func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { Glibc.close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
  }

  /// Starts a long-running child (the daemon) with its output captured into files under `dir`.
  public static func spawn(
    _ executable: URL, _ arguments: [String], environment: [String: String], logDirectory dir: URL
  ) throws -> Process {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    process.environment = environment
    let out = dir.appendingPathComponent("stdout.log")
    let err = dir.appendingPathComponent("stderr.log")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return process
  }

  /// A plain blocking HTTP/1.1 GET on loopback (status, headers lower-cased, body), for tests that
  /// poke the daemon without pulling an HTTP client into every target.
  public static func httpGet(
    port: Int, path: String, headers: [String: String] = [:], method: String = "GET"
  ) -> (status: Int, headers: [String: String], body: Data)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { Glibc.close(fd) }
    var tv = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = UInt16(port).bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard rc == 0 else { return nil }
    var request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
    for (k, v) in headers { request += "\(k): \(v)\r\n" }
    request += "\r\n"
    let bytes = Array(request.utf8)
    guard send(fd, bytes, bytes.count, 0) == bytes.count else { return nil }
    var response = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
      let n = recv(fd, &buffer, buffer.count, 0)
      if n <= 0 { break }
      response.append(contentsOf: buffer[0..<n])
    }
    guard let split = response.range(of: Data("\r\n\r\n".utf8)) else { return nil }
    let head = String(decoding: response[..<split.lowerBound], as: UTF8.self)
    var body = Data(response[split.upperBound...])
    guard let (status, headers) = parseHead(head) else { return nil }
    if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
    return (status, headers, body)
  }

  /// An HTTP/1.1 response head (status line and fields, without the blank line): the status and
  /// the fields with lower-cased names. Shared by `httpGet` and `RawHTTPConnection`.
  public static func parseHead(_ head: String) -> (status: Int, headers: [String: String])? {
    var lines = head.components(separatedBy: "\r\n")
    let statusLine = lines.removeFirst().split(separator: " ")
    guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
    var headers: [String: String] = [:]
    for line in lines {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...]
        .trimmingCharacters(in: .whitespaces)
    }
    return (status, headers)
  }

  static func dechunk(_ data: Data) -> Data {
    var out = Data()
    var rest = data[...]
    while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
      let sizeText =
        String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self)
        .split(separator: ";").first.map(String.init) ?? ""
      guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0
      else {
        break
      }
      let start = lineEnd.upperBound
      let end = rest.index(start, offsetBy: size, limitedBy: rest.endIndex) ?? rest.endIndex
      out.append(rest[start..<end])
      rest =
        rest[
          min(
            rest.endIndex, rest.index(end, offsetBy: 2, limitedBy: rest.endIndex) ?? rest.endIndex)...
        ]
    }
    return out
  }
}
