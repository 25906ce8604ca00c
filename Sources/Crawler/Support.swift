import Foundation

/// A value guarded by a lock: the crawler's shared state is touched from the scheduler loop,
/// fetch tasks and the daemon (reloads, `lastProgress`), so every access goes through here.
final class Locked<Value>: @unchecked Sendable {
  private let lock = NSLock()
  private var value: Value

  init(_ value: Value) { self.value = value }

  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}

/// A one-slot wake-up signal: `setSources`/`updateOptions` poke the scheduler loop so new sources
/// are considered at once instead of after its next tick. A signal sent while nobody waits is kept
/// for the next waiter (spurious wake-ups are harmless to the loop).
final class Wakeup: @unchecked Sendable {
  private let lock = NSLock()
  private var pending = false
  private var waiter: CheckedContinuation<Void, Never>?

  func signal() {
    lock.lock()
    if let waiter {
      self.waiter = nil
      lock.unlock()
      waiter.resume()
    } else {
      pending = true
      lock.unlock()
    }
  }

  /// Returns when signalled or when the calling task is cancelled.
  func wait() async {
    await withTaskCancellationHandler {
      await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        lock.lock()
        if pending || Task.isCancelled {
          pending = false
          lock.unlock()
          continuation.resume()
        } else {
          waiter = continuation
          lock.unlock()
        }
      }
    } onCancel: {
      self.signal()
    }
  }

  /// Returns when signalled, after `seconds`, or on cancellation, whichever comes first.
  func wait(upTo seconds: TimeInterval) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { try? await Task.sleep(nanoseconds: UInt64(max(0, seconds) * 1e9)) }
      group.addTask { await self.wait() }
      _ = await group.next()
      group.cancelAll()
    }
  }
}

/// XXH64 (Yann Collet's xxHash, 64-bit variant), used to notice a 200 whose body did not change.
/// Not cryptographic — it only has to tell "same bytes as last time" apart, fast, on bodies of
/// up to `max_body`; swift-crypto is not a dependency of this package.
enum BodyHash {
  private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
  private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
  private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
  private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
  private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

  @inline(__always) private static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 {
    (x << r) | (x >> (64 - r))
  }
  @inline(__always) private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
    rotl(acc &+ input &* p2, 31) &* p1
  }
  @inline(__always) private static func merge(_ acc: UInt64, _ val: UInt64) -> UInt64 {
    (acc ^ round(0, val)) &* p1 &+ p4
  }

  static func xxh64(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
    let len = bytes.count
    var i = 0
    var h: UInt64
    if len >= 32 {
      var v1 = seed &+ p1 &+ p2
      var v2 = seed &+ p2
      var v3 = seed
      var v4 = seed &- p1
      while i + 32 <= len {
        v1 = round(
          v1, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
        v2 = round(
          v2, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)))
        v3 = round(
          v3, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)))
        v4 = round(
          v4, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)))
        i += 32
      }
      h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
      h = merge(h, v1)
      h = merge(h, v2)
      h = merge(h, v3)
      h = merge(h, v4)
    } else {
      h = seed &+ p5
    }
    h = h &+ UInt64(len)
    while i + 8 <= len {
      let k = round(
        0, UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
      h = rotl(h ^ k, 27) &* p1 &+ p4
      i += 8
    }
    if i + 4 <= len {
      let k = UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
      h = rotl(h ^ (k &* p1), 23) &* p2 &+ p3
      i += 4
    }
    while i < len {
      h = rotl(h ^ (UInt64(bytes[i]) &* p5), 11) &* p1
      i += 1
    }
    h ^= h >> 33
    h = h &* p2
    h ^= h >> 29
    h = h &* p3
    h ^= h >> 32
    return h
  }

  /// `xxh64:` + 16 lowercase hex digits; the prefix says which function made a stored hash.
  static func hex(_ data: Data) -> String {
    let h = data.withUnsafeBytes { xxh64($0) }
    let digits = String(h, radix: 16)
    return "xxh64:" + String(repeating: "0", count: 16 - digits.count) + digits
  }

  static func hash64(_ string: String) -> UInt64 {
    var s = string
    return s.withUTF8 { xxh64(UnsafeRawBufferPointer($0)) }
  }
}

/// "10 MiB", "512 KiB", "1000 bytes": limits as an admin wrote them.
func formatBytes(_ n: Int) -> String {
  if n >= 1 << 20 && n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
  if n >= 1 << 10 && n % (1 << 10) == 0 { return "\(n >> 10) KiB" }
  return "\(n) bytes"
}

/// "30 s", "1.5 s", "250 ms".
func formatSeconds(_ t: TimeInterval) -> String {
  if t < 1 { return "\(Int((t * 1000).rounded())) ms" }
  if t == t.rounded() { return "\(Int(t)) s" }
  return String(format: "%.1f s", t)
}
