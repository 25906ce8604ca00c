import Foundation

/// `application/x-www-form-urlencoded` bodies, as hub requests arrive (WebSub §5.1).
public enum FormFields {
  /// Name → value; `+` is a space, then percent-decoding; the first occurrence of a name wins;
  /// a field without `=` has the value ""; invalid percent-encoding is kept as written.
  public static func parse(_ body: String) -> [String: String] {
    var out: [String: String] = [:]
    for pair in body.split(separator: "&", omittingEmptySubsequences: true) {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let name = decode(parts[0])
      let value = parts.count > 1 ? decode(parts[1]) : ""
      if out[name] == nil { out[name] = value }
    }
    return out
  }

  static func decode(_ text: Substring) -> String {
    let spaced = text.replacingOccurrences(of: "+", with: " ")
    return spaced.removingPercentEncoding ?? spaced
  }
}

/// Lease bounds of the hub (`[websub] lease_min`, `lease_default`, `lease_max`), in seconds.
public struct LeasePolicy: Sendable, Hashable {
  public var minimum: Int
  public var defaultLease: Int
  public var maximum: Int

  public init(minimum: Int = 3600, defaultLease: Int = 864_000, maximum: Int = 2_592_000) {
    self.minimum = minimum
    self.defaultLease = defaultLease
    self.maximum = maximum
  }

  /// The lease granted for `requested` seconds: the default when none (or zero) is asked for,
  /// else the request clamped into the bounds (§5.1 lets the hub decide).
  public func clamp(_ requested: Int?) -> Int {
    guard let requested, requested > 0 else { return defaultLease }
    return min(max(requested, minimum), maximum)
  }
}

/// A validated subscription request to our hub.
public struct HubRequest: Sendable, Hashable {
  /// The modes this hub accepts; `publish` is not one (the hub pings itself on every change).
  public enum Mode: String, Sendable, Hashable {
    case subscribe
    case unsubscribe
  }

  /// Why a request is refused at once: the HTTP status and a one-line reason (the body).
  public struct Refusal: Error, Sendable, Hashable {
    public var status: Int
    public var reason: String
    public init(status: Int, reason: String) {
      self.status = status
      self.reason = reason
    }
  }

  public var mode: Mode
  public var topic: String
  public var callback: URL
  /// The lease granted (already clamped).
  public var leaseSeconds: Int
  /// `hub.secret`, subscribe only; nil when absent or empty.
  public var secret: String?

  public init(mode: Mode, topic: String, callback: URL, leaseSeconds: Int, secret: String?) {
    self.mode = mode
    self.topic = topic
    self.callback = callback
    self.leaseSeconds = leaseSeconds
    self.secret = secret
  }

  /// Callback URLs longer than this are refused (a row in the store, a line in a log).
  public static let maxCallbackBytes = 2048
  /// §5.1: "the secret MUST be less than 200 bytes in length".
  public static let maxSecretBytes = 199

  /// Validates a request's form fields. Checked in order: mode, topic, callback, that the topic
  /// is ours (404 otherwise), lease, secret; everything else is a 400 with its reason.
  public static func parse(
    form: [String: String], lease: LeasePolicy, isOurTopic: (String) -> Bool
  ) -> Result<HubRequest, Refusal> {
    func bad(_ reason: String) -> Result<HubRequest, Refusal> {
      .failure(Refusal(status: 400, reason: reason))
    }
    guard let modeText = form["hub.mode"], !modeText.isEmpty else {
      return bad("hub.mode is missing (subscribe or unsubscribe)")
    }
    guard let mode = Mode(rawValue: modeText) else {
      if modeText == "publish" {
        return bad(
          "hub.mode=publish is not accepted: this hub publishes its own topics when they change")
      }
      return bad("unknown hub.mode \"\(short(modeText))\" (subscribe or unsubscribe)")
    }
    guard let topic = form["hub.topic"], !topic.isEmpty else { return bad("hub.topic is missing") }
    guard let callbackText = form["hub.callback"], !callbackText.isEmpty else {
      return bad("hub.callback is missing")
    }
    guard callbackText.utf8.count <= maxCallbackBytes else {
      return bad("hub.callback is longer than \(maxCallbackBytes) bytes")
    }
    guard let callback = URL(string: callbackText),
      let scheme = callback.scheme?.lowercased(), scheme == "http" || scheme == "https",
      let host = callback.host, !host.isEmpty
    else {
      return bad("hub.callback \"\(short(callbackText))\" is not an absolute http or https URL")
    }
    guard callback.fragment == nil, !callbackText.contains("#") else {
      return bad("hub.callback must not have a fragment")
    }
    guard isOurTopic(topic) else {
      return .failure(
        Refusal(status: 404, reason: "topic \"\(short(topic))\" is not published here"))
    }
    var requested: Int?
    if let text = form["hub.lease_seconds"], !text.isEmpty {
      guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
        return bad("hub.lease_seconds \"\(short(text))\" is not a non-negative integer")
      }
      // Digits beyond Int's range still ask for "as long as possible": clamped to the maximum.
      requested = Int(text) ?? Int.max
    }
    var secret: String?
    if mode == .subscribe, let s = form["hub.secret"], !s.isEmpty {
      guard s.utf8.count <= maxSecretBytes else {
        return bad("hub.secret must be less than 200 bytes (it is \(s.utf8.count))")
      }
      secret = s
    }
    return .success(
      HubRequest(
        mode: mode, topic: topic, callback: callback, leaseSeconds: lease.clamp(requested),
        secret: secret))
  }

  /// Client text quoted in a reason: control characters (a newline would break the one-line
  /// body) become `?`, and long values are cut to 120 characters.
  static func short(_ text: String) -> String {
    let flat = String(
      text.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
    return flat.count <= 120 ? flat : String(flat.prefix(119)) + "…"
  }
}
