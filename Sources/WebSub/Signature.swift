import Crypto
import Foundation
import WebText

/// `X-Hub-Signature` (WebSub §7, §8): the HMAC of a distributed body keyed by the subscriber's
/// secret, `method=hex`.
public enum HubSignature {
  /// The methods §7 lists; hubs sign with sha256 here, subscribers accept all four.
  public enum Method: String, CaseIterable, Sendable {
    case sha1
    case sha256
    case sha384
    case sha512
  }

  /// The header value for `body` signed with `secret`: `sha256=<lowercase hex>`.
  public static func header(body: some DataProtocol, secret: String, method: Method = .sha256)
    -> String
  {
    let key = SymmetricKey(data: Data(secret.utf8))
    let code: [UInt8]
    switch method {
    case .sha1: code = Array(HMAC<Insecure.SHA1>.authenticationCode(for: body, using: key))
    case .sha256: code = Array(HMAC<SHA256>.authenticationCode(for: body, using: key))
    case .sha384: code = Array(HMAC<SHA384>.authenticationCode(for: body, using: key))
    case .sha512: code = Array(HMAC<SHA512>.authenticationCode(for: body, using: key))
    }
    return "\(method.rawValue)=\(Hex.encode(code))"
  }

  /// Whether `header` is a valid signature of `body` under `secret`: a known method and a hex
  /// code that matches, compared in constant time. A missing or malformed header is false.
  public static func verify(header: String?, body: some DataProtocol, secret: String) -> Bool {
    guard let header else { return false }
    let parts = header.trimmingCharacters(in: .whitespaces).split(
      separator: "=", maxSplits: 1)
    guard parts.count == 2, let method = Method(rawValue: parts[0].lowercased()),
      let code = Hex.decode(parts[1])
    else { return false }
    let key = SymmetricKey(data: Data(secret.utf8))
    switch method {
    case .sha1:
      return HMAC<Insecure.SHA1>.isValidAuthenticationCode(code, authenticating: body, using: key)
    case .sha256:
      return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: body, using: key)
    case .sha384:
      return HMAC<SHA384>.isValidAuthenticationCode(code, authenticating: body, using: key)
    case .sha512:
      return HMAC<SHA512>.isValidAuthenticationCode(code, authenticating: body, using: key)
    }
  }
}
