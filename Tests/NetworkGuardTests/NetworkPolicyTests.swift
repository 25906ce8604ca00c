import Foundation
import XCTest

@testable import NetworkGuard

/// A DNS the test writes: names → answers (a list per name, one per lookup, the last repeated,
/// so a test can play a rebinding server), and a record of every lookup.
final class FakeResolver: HostResolver, @unchecked Sendable {
  private let lock = NSLock()
  private var answers: [String: [[IPAddress]]]
  private var _lookups: [String] = []

  /// One answer per name, for every lookup.
  init(_ answers: [String: [IPAddress]]) { self.answers = answers.mapValues { [$0] } }

  /// A list of answers per name, one per lookup (the last repeats).
  init(sequence answers: [String: [[IPAddress]]]) { self.answers = answers }

  var lookups: [String] { lock.withLock { _lookups } }

  func resolve(_ host: String) async throws(ResolutionError) -> [IPAddress] {
    let answer: [IPAddress]? = lock.withLock {
      _lookups.append(host)
      guard var queue = answers[host.lowercased()], let first = queue.first else { return nil }
      if queue.count > 1 {
        queue.removeFirst()
        answers[host.lowercased()] = queue
      }
      return first
    }
    guard let answer else { throw ResolutionError(host: host, reason: "Name or service not known") }
    return answer
  }
}

final class NetworkPolicyTests: XCTestCase {
  let publicA = IPAddress(198, 51, 100, 7)
  let publicB = IPAddress(203, 0, 113, 9)

  private func url(_ text: String) -> URL { URL(string: text)! }

  // MARK: - vet (URLs that did not come from the admin)

  func testVetAllowsPublicNamesAndReturnsTheCheckedAddresses() async {
    let resolver = FakeResolver(["feeds.example": [publicA, publicB]])
    let policy = NetworkPolicy(resolver: resolver)
    let verdict = await policy.vet(url("https://feeds.example/rss"))
    guard case .allowed(let destination) = verdict else { return XCTFail("\(verdict)") }
    XCTAssertEqual(destination.host, "feeds.example")
    XCTAssertEqual(destination.addresses, [publicA, publicB])
    XCTAssertTrue(destination.needsPinning, "a name is pinned to what was checked")
    XCTAssertEqual(resolver.lookups, ["feeds.example"])
  }

  func testVetRefusesPrivateNamesWithAReadableReason() async {
    let resolver = FakeResolver([
      "internal.example": [IPAddress(10, 0, 0, 1)],
      "mixed.example": [publicA, IPAddress("fd12::1")!],
      "metadata.google.internal": [IPAddress(169, 254, 169, 254)],
      "v6.example": [IPAddress("::ffff:127.0.0.1")!],
    ])
    let policy = NetworkPolicy(resolver: resolver)
    let expectations: [(String, String)] = [
      (
        "http://internal.example/feed",
        "internal.example resolves to 10.0.0.1, a private address (RFC 1918 private network)"
      ),
      (
        "http://mixed.example/",
        "mixed.example resolves to fd12::1, a unique local address (RFC 4193 private network)"
      ),
      (
        "http://metadata.google.internal/computeMetadata/v1/",
        "metadata.google.internal resolves to 169.254.169.254, a cloud metadata address"
          + " (private network)"
      ),
      (
        "http://v6.example/",
        "v6.example resolves to ::ffff:127.0.0.1 (IPv4 127.0.0.1), a loopback address (this machine)"
      ),
    ]
    for (text, reason) in expectations {
      let verdict = await policy.vet(url(text))
      XCTAssertEqual(verdict, .refused(reason), text)
    }
  }

  func testVetRefusesPrivateLiteralsWithoutAnyLookup() async {
    let resolver = FakeResolver([:])
    let policy = NetworkPolicy(resolver: resolver)
    let expectations: [(String, String)] = [
      (
        "http://169.254.169.254/latest/meta-data/",
        "169.254.169.254 is a cloud metadata address (private network)"
      ),
      ("http://2130706433/", "127.0.0.1 is a loopback address (this machine)"),
      ("http://0x7f.1:8080/", "127.0.0.1 is a loopback address (this machine)"),
      ("http://0177.0.0.1/", "127.0.0.1 is a loopback address (this machine)"),
      ("http://[::1]:8080/", "::1 is a loopback address (this machine)"),
      (
        "http://[::ffff:7f00:1]/",
        "::ffff:127.0.0.1 (IPv4 127.0.0.1) is a loopback address (this machine)"
      ),
      ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address (private network)"),
      ("http://192.168.1.1/", "192.168.1.1 is a private address (RFC 1918 private network)"),
      ("http://100.100.100.200/", "100.100.100.200 is a cloud metadata address (private network)"),
      ("http://0.0.0.0/", "0.0.0.0 is an unspecified address (this machine)"),
      ("file:///etc/passwd", "only http and https URLs may be fetched"),
    ]
    for (text, reason) in expectations {
      let verdict = await policy.vet(url(text))
      XCTAssertEqual(verdict, .refused(reason), text)
    }
    XCTAssertEqual(resolver.lookups, [], "literals are never looked up")
  }

  func testVetOfPublicLiterals() async {
    let policy = NetworkPolicy(resolver: FakeResolver([:]))
    let plain = await policy.vet(url("http://198.51.100.2:8080/"))
    XCTAssertEqual(
      plain,
      .allowed(
        .init(host: "198.51.100.2", addresses: [IPAddress(198, 51, 100, 2)], isPlainLiteral: true)))
    guard case .allowed(let lenient) = await policy.vet(url("http://3325256706/")) else {
      return XCTFail("3325256706 is 198.51.100.2")
    }
    XCTAssertTrue(lenient.needsPinning, "a lenient spelling goes to getaddrinfo: pin it")
  }

  func testUnresolvableIsRefused() async {
    let policy = NetworkPolicy(resolver: FakeResolver([:]))
    let verdict = await policy.vet(url("http://nowhere.example/"))
    XCTAssertEqual(
      verdict, .refused("could not resolve host nowhere.example (Name or service not known)"))
  }

  // MARK: - redirect chains

  /// The brief's case: a public name redirecting to a name that resolves to 10.0.0.1 is refused
  /// before anything connects (the guard only resolves; the plan is what a client would use).
  func testPublicOriginRedirectingToAPrivateNameIsRefused() async {
    let resolver = FakeResolver([
      "news.example": [publicA], "intranet.example": [IPAddress(10, 0, 0, 1)],
    ])
    var chain = RedirectGuard(policy: NetworkPolicy(resolver: resolver))
    await chain.start(url("https://news.example/feed"))
    XCTAssertFalse(chain.insidePrivateNetwork)
    do {
      let plan = try await chain.follow(url("http://intranet.example/admin"))
      XCTFail("followed: \(plan)")
    } catch {
      XCTAssertEqual(
        error.message,
        "redirect to http://intranet.example/admin refused: intranet.example resolves to"
          + " 10.0.0.1, a private address (RFC 1918 private network)")
    }
    XCTAssertEqual(resolver.lookups, ["news.example", "intranet.example"])
  }

  func testPublicHopsArePinnedToTheCheckedAddress() async throws {
    // cdn.example answers public to the check and loopback afterwards (rebinding): the plan
    // carries the checked answer, and nothing looks the name up twice.
    let resolver = FakeResolver(sequence: [
      "news.example": [[publicA]],
      "cdn.example": [[publicB], [IPAddress(127, 0, 0, 1)]],
    ])
    var chain = RedirectGuard(policy: NetworkPolicy(resolver: resolver))
    await chain.start(url("https://news.example/feed"))
    let plan = try await chain.follow(url("https://cdn.example/feed.xml"))
    XCTAssertEqual(plan, .pinned(host: "cdn.example", addresses: [publicB]))
    let literal = try await chain.follow(url("http://203.0.113.10/x"))
    XCTAssertEqual(literal, .direct, "a plain literal needs no pinning")
    XCTAssertEqual(resolver.lookups, ["news.example", "cdn.example"])
  }

  func testPublicOriginLiteralRefusesEveryPrivateForm() async throws {
    for target in [
      "http://127.0.0.1:8080/feed.xml", "http://169.254.169.254/latest/meta-data/",
      "http://2130706433/", "http://[::ffff:127.0.0.1]/", "http://10.1.2.3/",
      "http://172.16.0.1/", "http://192.168.0.1/", "http://[fe80::1]/", "http://[fc00::1]/",
      "http://100.64.0.1/",
    ] {
      var chain = RedirectGuard(policy: NetworkPolicy(resolver: FakeResolver([:])))
      await chain.start(url("http://198.51.100.2/"))
      do {
        _ = try await chain.follow(url(target))
        XCTFail("followed \(target)")
      } catch {
        XCTAssertTrue(error.message.hasPrefix("redirect to \(target) refused: "), error.message)
      }
    }
  }

  /// The admin's intranet (or 127.0.0.1 in tests) may redirect inside itself; once the chain
  /// has passed a public server, it may not come back in.
  func testPrivateOriginMayStayInsideUntilItLeaves() async throws {
    let resolver = FakeResolver([
      "intranet.example": [IPAddress(10, 1, 0, 5)],
      "wiki.intranet.example": [IPAddress(10, 1, 0, 6)],
      "news.example": [publicA],
    ])
    var chain = RedirectGuard(policy: NetworkPolicy(resolver: resolver))
    await chain.start(url("http://intranet.example/feed"))
    XCTAssertTrue(chain.insidePrivateNetwork)
    let inside = try await chain.follow(url("http://wiki.intranet.example/feed"))
    XCTAssertEqual(
      inside, .pinned(host: "wiki.intranet.example", addresses: [IPAddress(10, 1, 0, 6)]))
    let loopback = try await chain.follow(url("http://127.0.0.1/feed"))
    XCTAssertEqual(loopback, .direct)
    XCTAssertTrue(chain.insidePrivateNetwork)
    _ = try await chain.follow(url("https://news.example/feed"))
    XCTAssertFalse(chain.insidePrivateNetwork, "the chain has left the private network")
    do {
      _ = try await chain.follow(url("http://10.1.0.5/feed"))
      XCTFail("a public server sent the chain back into the intranet")
    } catch {
      XCTAssertEqual(
        error.message,
        "redirect to http://10.1.0.5/feed refused: 10.1.0.5 is a private address (RFC 1918 private"
          + " network)")
    }
  }

  func testPrivateLiteralOriginAndFileBypass() async {
    let resolver = FakeResolver([:])
    var chain = RedirectGuard(policy: NetworkPolicy(resolver: resolver))
    await chain.start(url("http://127.0.0.1:8080/feed.xml"))
    XCTAssertTrue(chain.insidePrivateNetwork)
    await chain.start(url("file:///srv/feeds/a.xml"))
    XCTAssertFalse(chain.insidePrivateNetwork)
    XCTAssertEqual(resolver.lookups, [])
  }

  func testMixedOriginCountsAsPublic() async {
    let resolver = FakeResolver([
      "both.example": [publicA, IPAddress(192, 168, 1, 2)],
      "lan.example": [IPAddress(192, 168, 1, 3)],
    ])
    var chain = RedirectGuard(policy: NetworkPolicy(resolver: resolver))
    await chain.start(url("http://both.example/"))
    XCTAssertFalse(chain.insidePrivateNetwork, "one public answer is enough to guard the chain")
    do {
      _ = try await chain.follow(url("http://lan.example/"))
      XCTFail("followed into the LAN")
    } catch {
      XCTAssertTrue(error.message.contains("lan.example resolves to 192.168.1.3"), error.message)
    }
  }

  func testUnresolvableHopFailsAndUnresolvableOriginIsLeftToTheClient() async {
    var chain = RedirectGuard(policy: NetworkPolicy(resolver: FakeResolver([:])))
    await chain.start(url("http://gone.example/"))
    XCTAssertFalse(chain.insidePrivateNetwork)
    do {
      _ = try await chain.follow(url("http://nx.example/feed"))
      XCTFail("followed an unresolvable hop")
    } catch {
      XCTAssertEqual(
        error.message,
        "redirect to http://nx.example/feed failed: could not resolve host nx.example (Name or"
          + " service not known)")
    }
  }

  func testLongURLsAreShortenedInMessages() {
    let long = "http://x/" + String(repeating: "a", count: 500)
    let short = RedirectGuard.shorten(long)
    XCTAssertEqual(short.count, 160)
    XCTAssertTrue(short.hasSuffix("…"))
    XCTAssertEqual(RedirectGuard.shorten("http://x/"), "http://x/")
  }

  func testSystemResolverCancellationReturnsAtOnce() async {
    // A lookup cancelled before it starts must not wait for getaddrinfo.
    let task = Task { () -> ResolutionError? in
      withUnsafeCurrentTask { $0?.cancel() }
      do throws(ResolutionError) {
        _ = try await SystemHostResolver().resolve("localhost")
        return nil
      } catch {
        return error
      }
    }
    // The cancellation handler runs first for an already-cancelled task, so the late answer
    // of getaddrinfo is dropped.
    let error = await task.value
    XCTAssertEqual(error?.reason, "cancelled")
  }
}
