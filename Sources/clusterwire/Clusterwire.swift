import ArgumentParser
import Config
import FeedParser
import Foundation
import Logging

/// The version printed by `--version`, sent as the User-Agent default and the Atom `generator`
/// (one constant, owned by Config because the default User-Agent is built there).
let clusterwireVersion = ConfigLoader.clusterwireVersion

/// The one executable: the only place that wires config, store, crawler, publisher and server.
@main
struct Clusterwire: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "clusterwire",
    abstract: "Feed syndication daemon for a network of business clusters.",
    version: clusterwireVersion,
    subcommands: [
      RunCommand.self, CrawlCommand.self, StatusCommand.self, CheckConfigCommand.self,
      ParseCommand.self, TrySourceCommand.self, ExportCommand.self, CopyStoreCommand.self,
      DiscoverCommand.self,
      ImportOPMLCommand.self, ResanitizeCommand.self,
    ]
  )
}

/// Options every command that logs accepts.
struct LoggingOptions: ParsableArguments {
  @Option(
    name: .customLong("log-level"),
    help:
      "trace, debug, info, notice, warning, error or critical (default: the config's [log] level, else info)."
  )
  var level: String?

  func validate() throws {
    if let level, Logger.Level(rawValue: level) == nil {
      throw ValidationError(
        "unknown log level '\(level)' (use trace, debug, info, notice, warning, error or critical)")
    }
  }

  /// The start of every long-running command: libxml2 set up, the config loaded (or a clear
  /// error and exit 1), logging bootstrapped at the configured level, what was loaded logged.
  func start(config: String) -> (Settings, Logger) {
    LibXML.bootstrap()
    let settings = Wiring.loadSettings(config)
    bootstrap(configured: settings.log.level)
    let logger = Logger(label: "clusterwire")
    Wiring.logLoaded(settings, logger: logger)
    return (settings, logger)
  }

  /// Bootstraps swift-log once: journald-friendly when `$JOURNAL_STREAM` is set, plain otherwise.
  /// `--log-level` wins over the config's level.
  private func bootstrap(configured: String) {
    let resolved =
      level.flatMap(Logger.Level.init(rawValue:)) ?? Logger.Level(rawValue: configured) ?? .info
    JournalLogHandler.bootstrap(level: resolved)
  }
}

/// Writes a message and exits non-zero: the CLI's way to report a clear, specific failure.
func fail(_ message: String, code: Int32 = 1) -> Never {
  FileHandle.standardError.write(Data("clusterwire: \(message)\n".utf8))
  exit(code)
}
