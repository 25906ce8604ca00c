import CLibXML2

/// Process-wide libxml2 set-up. libxml2 keeps global state (the external entity loader, its
/// parser globals), so it is prepared once, on the main thread, before any task parses.
public enum LibXML {
  /// Initialises the parser and installs a deny-all external entity loader: no parse anywhere in
  /// the process can then read a local file or reach the network through a DTD or entity
  /// (XXE), whatever options a caller passes. Idempotent; call early in `main`.
  public static func bootstrap() {
    _ = initialized
  }

  private static let initialized: Bool = {
    xmlInitParser()
    xmlSetExternalEntityLoader { _, _, _ in nil }
    return true
  }()

  /// The libxml2 version compiled against, e.g. `2.9.14`.
  public static var version: String { String(cString: clibxml2_version()) }
}
