import Foundation

/// Where a URL leads, decided after DNS: one reusable answer for everything that fetches URLs
/// the admin did not write (redirect hops, WebSub callbacks, feed discovery).
///
/// The rule: such a URL may lead only to public addresses (`AddressClass.isPublic`), and every
/// address its host resolves to must be public (a name that answers with both a public and a
/// private address is refused: which one a client would use is not ours to guess). A connection
/// must then go to the addresses that were checked, not to a second lookup's answer, or a DNS
/// server could answer "public" to the check and "private" to the connect (DNS rebinding):
/// `Destination.needsPinning` says when the client must be told the address.
public struct NetworkPolicy: Sendable {
  public var resolver: any HostResolver
  /// The classifier; tests (and unusual deployments) may reclassify addresses.
  public var classify: @Sendable (IPAddress) -> AddressClass

  public init(
    resolver: any HostResolver = SystemHostResolver(),
    classify: @escaping @Sendable (IPAddress) -> AddressClass = { $0.addressClass }
  ) {
    self.resolver = resolver
    self.classify = classify
  }

  /// A URL's host and the addresses it leads to.
  public struct Destination: Sendable, Hashable {
    /// The host as the URL spells it (IPv6 brackets removed).
    public var host: String
    /// What the host is or resolves to, in the order to try them.
    public var addresses: [IPAddress]
    /// True when the host is a plain IP literal (`IPAddress.isPlainLiteral`): a client connects
    /// to it without any lookup, so there is nothing to pin. False for names and for lenient
    /// numeric spellings (`127.1`), which clients pass to `getaddrinfo`.
    public var isPlainLiteral: Bool

    /// Whether a client must be made to connect to `addresses` (its own lookup could differ).
    public var needsPinning: Bool { !isPlainLiteral }
  }

  /// The answer for a URL that did not come from the admin.
  public enum Verdict: Sendable, Hashable {
    /// Every address is public; connect to `addresses` (pinned when `needsPinning`).
    case allowed(Destination)
    /// Why not, for an admin: `169.254.169.254 is a cloud metadata address (private network)`.
    case refused(String)
  }

  /// The host of `url` and its addresses: literals (every spelling `IPAddress` reads) without a
  /// lookup, names through the resolver.
  public func destination(of url: URL) async throws(ResolutionError) -> Destination {
    guard var host = url.host, !host.isEmpty else {
      throw ResolutionError(host: "", reason: "the URL has no host")
    }
    if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    if let literal = IPAddress(host) {
      return Destination(
        host: host, addresses: [literal], isPlainLiteral: IPAddress.isPlainLiteral(host))
    }
    let addresses = try await resolver.resolve(host)
    return Destination(host: host, addresses: addresses, isPlainLiteral: false)
  }

  /// Checks a URL that did not come from the admin's config: allowed only when its host is or
  /// resolves only to public addresses. `file:` and other non-HTTP schemes are refused too (the
  /// caller decides which schemes it fetches; this answers for the network).
  public func vet(_ url: URL) async -> Verdict {
    guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
      return .refused("only http and https URLs may be fetched")
    }
    let destination: Destination
    do {
      destination = try await self.destination(of: url)
    } catch {
      return .refused(error.description)
    }
    if let reason = refusal(destination) { return .refused(reason) }
    return .allowed(destination)
  }

  /// Why `destination` is not entirely public, or nil when it is.
  public func refusal(_ destination: Destination) -> String? {
    guard let address = destination.addresses.first(where: { !classify($0).isPublic }) else {
      return nil
    }
    let what = describe(address)
    if IPAddress(destination.host) != nil { return "\(what.address) is \(what.class)" }
    return "\(destination.host) resolves to \(what.address), \(what.class)"
  }

  /// Whether none of `destination`'s addresses is public (the admin's own network).
  public func isPrivate(_ destination: Destination) -> Bool {
    destination.addresses.allSatisfy { !classify($0).isPublic }
  }

  private func describe(_ address: IPAddress) -> (address: String, class: AddressClass) {
    if let v4 = address.embeddedIPv4 {
      return ("\(address) (IPv4 \(v4))", classify(address))
    }
    return ("\(address)", classify(address))
  }
}

/// A redirect hop was not followed; `message` is shown to the admin as is.
public struct RedirectRefusal: Error, Sendable, Hashable {
  public var message: String
}

/// The guard over one fetch's redirect chain.
///
/// The configured URL is the admin's choice and never refused; if its host is private (an
/// intranet, or 127.0.0.1 in tests) the chain starts inside the admin's network and redirects
/// may stay inside it. Once the chain has touched a public address, every later hop must lead
/// to public addresses only: a public server cannot send the crawler into the private network.
/// Every hop is resolved and checked before it is requested, and `Plan` tells the client which
/// addresses to connect to, so the checked answer is the one used.
public struct RedirectGuard: Sendable {
  public let policy: NetworkPolicy
  /// True while every address the chain has led to is not public.
  public private(set) var insidePrivateNetwork = false

  /// How to connect for one request.
  public enum Plan: Sendable, Hashable {
    /// Let the client connect as usual: the configured URL (the admin's choice, see `start`) or
    /// a hop to a plain IP literal (nothing to look up).
    case direct
    /// Connect to these addresses (in order) for `host`, keeping `host` for Host and TLS (SNI,
    /// certificate name).
    case pinned(host: String, addresses: [IPAddress])
  }

  public init(policy: NetworkPolicy) {
    self.policy = policy
  }

  /// The admin's configured URL: never refused, and connected to as usual (`Plan.direct`); this
  /// only learns whether the chain starts inside a private network. It is not pinned: whoever
  /// controls the DNS of a configured name can already point it at any private address, which
  /// is the admin's choice, so pinning it would protect nothing (and would lose the client's own
  /// fallback across a name's addresses, such as `localhost`'s ::1 and 127.0.0.1). An
  /// unresolvable or mixed (public and private) one counts as public: its redirects are guarded.
  public mutating func start(_ url: URL) async {
    insidePrivateNetwork = false
    guard !url.isFileURL, let destination = try? await policy.destination(of: url) else { return }
    insidePrivateNetwork = policy.isPrivate(destination)
  }

  /// A redirect target, checked before it is requested.
  public mutating func follow(_ url: URL) async throws(RedirectRefusal) -> Plan {
    let shown = Self.shorten(url.absoluteString)
    let destination: NetworkPolicy.Destination
    do {
      destination = try await policy.destination(of: url)
    } catch {
      throw RedirectRefusal(message: "redirect to \(shown) failed: \(error.description)")
    }
    if !insidePrivateNetwork, let reason = policy.refusal(destination) {
      throw RedirectRefusal(message: "redirect to \(shown) refused: \(reason)")
    }
    insidePrivateNetwork = insidePrivateNetwork && policy.isPrivate(destination)
    guard destination.needsPinning else { return .direct }
    return .pinned(host: destination.host, addresses: destination.addresses)
  }

  /// Long URLs cut for a one-line error.
  static func shorten(_ text: String, limit: Int = 160) -> String {
    text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
  }
}
