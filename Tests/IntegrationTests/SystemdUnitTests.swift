import Foundation
import TestSupport
import XCTest

/// The shipped unit must verify cleanly and keep its hardening: `systemd-analyze verify` with no
/// output at all, and `systemd-analyze security --offline=true` at an exposure of 1.5 or less.
final class SystemdUnitTests: XCTestCase {
  private let unit = TestSupport.packageRoot.appendingPathComponent("systemd/clusterwire.service")

  private func systemdAnalyze() throws -> URL {
    for dir in ["/usr/bin", "/bin", "/usr/local/bin"] {
      let url = URL(fileURLWithPath: dir).appendingPathComponent("systemd-analyze")
      if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw XCTSkip("systemd-analyze is not installed (apt-get install systemd)")
  }

  /// `verify` needs the Exec binaries to exist: the test copy points at the built clusterwire.
  func testVerifyIsSilent() throws {
    let analyze = try systemdAnalyze()
    let binary = TestSupport.clusterwireBinary
    XCTAssertTrue(
      FileManager.default.isExecutableFile(atPath: binary.path),
      "build clusterwire first: \(binary.path)")
    let text = try String(contentsOf: unit, encoding: .utf8)
    XCTAssertTrue(
      text.contains(
        "ExecStart=/usr/local/bin/clusterwire run --config /etc/clusterwire/clusterwire.toml"))
    XCTAssertTrue(text.contains("ExecReload=/bin/kill -HUP $MAINPID"))
    let dir = try TestSupport.makeTempDirectory("systemd-unit")
    defer { try? FileManager.default.removeItem(at: dir) }
    let copy = dir.appendingPathComponent("clusterwire.service")
    try text.replacingOccurrences(of: "/usr/local/bin/clusterwire", with: binary.path)
      .write(to: copy, atomically: true, encoding: .utf8)

    let result = try TestSupport.run(analyze, ["verify", copy.path])
    let output = (result.stdoutString + result.stderrString).trimmingCharacters(
      in: .whitespacesAndNewlines)
    XCTAssertEqual(result.status, 0, output)
    XCTAssertEqual(output, "", "systemd-analyze verify must print nothing")
  }

  func testSecurityExposureAtMostOnePointFive() throws {
    let analyze = try systemdAnalyze()
    let result = try TestSupport.run(
      analyze, ["security", "--offline=true", "--no-pager", unit.path])
    let output = result.stdoutString + result.stderrString
    XCTAssertEqual(result.status, 0, output)
    // "→ Overall exposure level for clusterwire.service: 1.1 OK 🙂"
    guard
      let line = output.split(separator: "\n").first(where: {
        $0.contains("Overall exposure level")
      }),
      let figure = line.split(separator: ":").last?.split(separator: " ").first,
      let score = Double(figure)
    else {
      return XCTFail("no exposure level in:\n\(output)")
    }
    XCTAssertLessThanOrEqual(score, 1.5, output)
  }

  /// The settings the daemon relies on (notify, watchdog, reload via check-config, state dir).
  func testUnitKeepsItsContract() throws {
    let text = try String(contentsOf: unit, encoding: .utf8)
    let lines = Set(text.split(separator: "\n").map(String.init))
    for required in [
      "Type=notify", "NotifyAccess=main", "WatchdogSec=60s", "Restart=on-failure",
      "DynamicUser=yes",
      "StateDirectory=clusterwire", "CacheDirectory=clusterwire",
      "ConfigurationDirectory=clusterwire",
      "ExecStartPre=/usr/local/bin/clusterwire check-config --config /etc/clusterwire/clusterwire.toml",
      "ExecReload=/usr/local/bin/clusterwire check-config --config /etc/clusterwire/clusterwire.toml",
      "UMask=0077", "ProtectSystem=strict", "CapabilityBoundingSet=", "MemoryDenyWriteExecute=yes",
      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
    ] {
      XCTAssertTrue(lines.contains(required), "missing \(required)")
    }
  }

  /// A dry run of the install script into a staging directory, then uninstall with and without purge.
  func testInstallAndUninstallDryRun() throws {
    let binary = TestSupport.clusterwireBinary
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
      return XCTFail("build clusterwire first: \(binary.path)")
    }
    let stage = try TestSupport.makeTempDirectory("systemd-stage")
    defer { try? FileManager.default.removeItem(at: stage) }
    let example = stage.appendingPathComponent("example.toml")
    try """
    [server]
    listen = "127.0.0.1:8080"
    [store]
    path = "clusterwire.sqlite"
    [[source]]
    id = "a"
    url = "https://a.example/"
    """.write(to: example, atomically: true, encoding: .utf8)
    let root = stage.appendingPathComponent("root")
    var env = ProcessInfo.processInfo.environment
    env["DESTDIR"] = root.path
    let sh = URL(fileURLWithPath: "/bin/sh")
    let install = TestSupport.packageRoot.appendingPathComponent("systemd/install.sh").path
    let uninstall = TestSupport.packageRoot.appendingPathComponent("systemd/uninstall.sh").path

    let first = try TestSupport.run(
      sh, [install, "--binary", binary.path, "--config", example.path], environment: env)
    XCTAssertEqual(first.status, 0, first.stdoutString + first.stderrString)
    let fm = FileManager.default
    XCTAssertTrue(
      fm.isExecutableFile(atPath: root.appendingPathComponent("usr/local/bin/clusterwire").path))
    let unitCopy = root.appendingPathComponent("etc/systemd/system/clusterwire.service")
    XCTAssertEqual(try Data(contentsOf: unitCopy), try Data(contentsOf: unit))
    let config = root.appendingPathComponent("etc/clusterwire/clusterwire.toml")
    let installed = try String(contentsOf: config, encoding: .utf8)
    XCTAssertTrue(
      installed.contains("path = \"/var/lib/clusterwire/clusterwire.sqlite\""), installed)
    XCTAssertFalse(installed.contains("path = \"clusterwire.sqlite\""), installed)

    // A second install keeps the admin's edited config.
    try (installed + "# edited\n").write(to: config, atomically: true, encoding: .utf8)
    let second = try TestSupport.run(
      sh, [install, "--binary", binary.path, "--config", example.path], environment: env)
    XCTAssertEqual(second.status, 0, second.stderrString)
    XCTAssertTrue(try String(contentsOf: config, encoding: .utf8).hasSuffix("# edited\n"))

    let remove = try TestSupport.run(sh, [uninstall], environment: env)
    XCTAssertEqual(remove.status, 0, remove.stderrString)
    XCTAssertFalse(
      fm.fileExists(atPath: root.appendingPathComponent("usr/local/bin/clusterwire").path))
    XCTAssertFalse(fm.fileExists(atPath: unitCopy.path))
    XCTAssertTrue(fm.fileExists(atPath: config.path), "config kept without --purge")

    let purge = try TestSupport.run(sh, [uninstall, "--purge"], environment: env)
    XCTAssertEqual(purge.status, 0, purge.stderrString)
    XCTAssertFalse(fm.fileExists(atPath: config.path))
  }

  /// An example config without a [store] table gets one pointing at the state directory.
  func testInstallAddsStoreTableWhenMissing() throws {
    let binary = TestSupport.clusterwireBinary
    guard FileManager.default.isExecutableFile(atPath: binary.path) else {
      return XCTFail("build clusterwire first: \(binary.path)")
    }
    let stage = try TestSupport.makeTempDirectory("systemd-stage")
    defer { try? FileManager.default.removeItem(at: stage) }
    let example = stage.appendingPathComponent("example.toml")
    try "[feed]\npath = \"not the store\"\n".write(to: example, atomically: true, encoding: .utf8)
    var env = ProcessInfo.processInfo.environment
    env["DESTDIR"] = stage.appendingPathComponent("root").path
    let result = try TestSupport.run(
      URL(fileURLWithPath: "/bin/sh"),
      [
        TestSupport.packageRoot.appendingPathComponent("systemd/install.sh").path, "--binary",
        binary.path,
        "--config", example.path,
      ], environment: env)
    XCTAssertEqual(result.status, 0, result.stderrString)
    let installed = try String(
      contentsOf: stage.appendingPathComponent("root/etc/clusterwire/clusterwire.toml"),
      encoding: .utf8)
    XCTAssertEqual(
      installed,
      "[feed]\npath = \"not the store\"\n\n[store]\npath = \"/var/lib/clusterwire/clusterwire.sqlite\"\n"
    )
  }
  // MARK: - the fleet instance template (issue 14)

  private let fleetUnit = TestSupport.packageRoot.appendingPathComponent(
    "systemd/clusterwire@.service")

  /// `clusterwire@a.service` from the template: verifies silently, scores like the single unit.
  func testFleetTemplateVerifiesAndKeepsItsHardening() throws {
    let analyze = try systemdAnalyze()
    let binary = TestSupport.clusterwireBinary
    XCTAssertTrue(
      FileManager.default.isExecutableFile(atPath: binary.path),
      "build clusterwire first: \(binary.path)")
    let text = try String(contentsOf: fleetUnit, encoding: .utf8)
    let dir = try TestSupport.makeTempDirectory("systemd-fleet-unit")
    defer { try? FileManager.default.removeItem(at: dir) }
    try text.replacingOccurrences(of: "/usr/local/bin/clusterwire", with: binary.path)
      .write(
        to: dir.appendingPathComponent("clusterwire@.service"), atomically: true, encoding: .utf8)
    let verify = try TestSupport.run(
      analyze, ["verify", dir.appendingPathComponent("clusterwire@a.service").path])
    let output = (verify.stdoutString + verify.stderrString).trimmingCharacters(
      in: .whitespacesAndNewlines)
    XCTAssertEqual(verify.status, 0, output)
    XCTAssertEqual(output, "", "systemd-analyze verify must print nothing")

    let security = try TestSupport.run(
      analyze, ["security", "--offline=true", "--no-pager", fleetUnit.path])
    let report = security.stdoutString + security.stderrString
    let figure = report.split(separator: "\n").first { $0.contains("Overall exposure level") }?
      .split(separator: ":").last?.split(separator: " ").first.flatMap { Double($0) }
    XCTAssertNotNil(figure, report)
    XCTAssertLessThanOrEqual(figure ?? 99, 1.5, report)

    // The same contract as the single unit, per instance: its own config, state and log name.
    let lines = Set(text.split(separator: "\n").map(String.init))
    for required in [
      "Type=notify", "NotifyAccess=main", "WatchdogSec=60s", "Restart=on-failure",
      "DynamicUser=yes", "StateDirectory=clusterwire/%i", "SyslogIdentifier=clusterwire@%i",
      "ExecStartPre=/usr/local/bin/clusterwire check-config --config /etc/clusterwire/fleet/%i.toml",
      "ExecStart=/usr/local/bin/clusterwire run --config /etc/clusterwire/fleet/%i.toml",
      "ExecReload=/usr/local/bin/clusterwire check-config --config /etc/clusterwire/fleet/%i.toml",
      "ExecReload=/bin/kill -HUP $MAINPID",
      "LoadCredential=db-password:/etc/clusterwire/db-password",
      "UMask=0077", "ProtectSystem=strict", "CapabilityBoundingSet=", "MemoryDenyWriteExecute=yes",
      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
    ] {
      XCTAssertTrue(lines.contains(required), "missing \(required)")
    }
    // Everything the single unit hardens, the template hardens too.
    let single = try String(contentsOf: unit, encoding: .utf8).split(separator: "\n")
    for line in single
    where line.hasPrefix("Protect") || line.hasPrefix("Private")
      || line.hasPrefix("Restrict") || line.hasPrefix("SystemCall")
    {
      XCTAssertTrue(lines.contains(String(line)), "the template lacks \(line)")
    }
  }
}
