import Dispatch
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A host name could not be turned into addresses.
public struct ResolutionError: Error, Sendable, Hashable, CustomStringConvertible {
  public var host: String
  /// The resolver's words (`Name or service not known`), or "cancelled".
  public var reason: String

  public init(host: String, reason: String) {
    self.host = host
    self.reason = reason
  }

  public var description: String { "could not resolve host \(host) (\(reason))" }
}

/// Host name → addresses. The policy resolves through this, checks every answer, then has the
/// client connect to exactly the addresses it checked; tests inject a fake to play any DNS.
public protocol HostResolver: Sendable {
  /// The A and AAAA answers for `host`, in the order a client should try them, without
  /// duplicates; never empty (no answer is an error).
  func resolve(_ host: String) async throws(ResolutionError) -> [IPAddress]
}

/// The system resolver (`getaddrinfo`: /etc/hosts, nsswitch, DNS). The call blocks, so it runs
/// on a Dispatch worker, never on the caller's executor (an event loop or the cooperative pool);
/// cancelling the calling task returns at once with "cancelled" and the late answer is dropped,
/// so a slow DNS server cannot hold a fetch past its deadline.
public struct SystemHostResolver: HostResolver {
  public init() {}

  public func resolve(_ host: String) async throws(ResolutionError) -> [IPAddress] {
    let slot = OneShot<Result<[IPAddress], ResolutionError>>()
    let result = await withTaskCancellationHandler {
      await withCheckedContinuation { continuation in
        slot.install(continuation)
        DispatchQueue.global().async { slot.fulfil(Self.lookup(host)) }
      }
    } onCancel: {
      slot.fulfil(.failure(ResolutionError(host: host, reason: "cancelled")))
    }
    return try result.get()
  }

  /// One blocking `getaddrinfo` for stream sockets, any family.
  static func lookup(_ host: String) -> Result<[IPAddress], ResolutionError> {
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    #if os(Linux)
      hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    #else
      hints.ai_socktype = SOCK_STREAM
    #endif
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, nil, &hints, &list)
    guard status == 0 else {
      let reason = gai_strerror(status).map { String(cString: $0) } ?? "error \(status)"
      return .failure(ResolutionError(host: host, reason: reason))
    }
    defer { freeaddrinfo(list) }
    var addresses: [IPAddress] = []
    var node = list
    while let current = node {
      if let sa = current.pointee.ai_addr, let address = IPAddress(sockaddr: sa),
        !addresses.contains(address)
      {
        addresses.append(address)
      }
      node = current.pointee.ai_next
    }
    guard !addresses.isEmpty else {
      return .failure(ResolutionError(host: host, reason: "no addresses"))
    }
    return .success(addresses)
  }
}

/// A continuation resumed exactly once, by whichever of the answer and the cancellation comes
/// first, whether or not the continuation is installed yet.
private final class OneShot<Value: Sendable>: @unchecked Sendable {
  private let lock = NSLock()
  private var continuation: CheckedContinuation<Value, Never>?
  private var value: Value?
  private var done = false

  func install(_ continuation: CheckedContinuation<Value, Never>) {
    lock.lock()
    if let value, !done {
      done = true
      lock.unlock()
      continuation.resume(returning: value)
      return
    }
    self.continuation = continuation
    lock.unlock()
  }

  func fulfil(_ value: Value) {
    lock.lock()
    guard !done, self.value == nil else {
      lock.unlock()
      return
    }
    if let continuation {
      done = true
      self.continuation = nil
      lock.unlock()
      continuation.resume(returning: value)
    } else {
      self.value = value
      lock.unlock()
    }
  }
}
