import ArgumentParser
import Config
import Crawler
import FeedModel
import FeedParser
import FeedStore
import Foundation
import Logging
import Publisher

/// `clusterwire check-config PATH`: validate and summarise (exit 0 when valid, 1 otherwise).
struct CheckConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check-config",
    abstract: "Validate a config file (and its drop-ins) and summarise it.")

  @Argument(help: "The main config file.") var path: String?
  @Option(help: "The main config file (same as the argument).") var config: String?

  func validate() throws {
    if path == nil && config == nil { throw ValidationError("give the config file path") }
  }

  func run() throws {
    LibXML.bootstrap()
    let file = (config ?? path)!
    do {
      let settings = try ConfigLoader.load(path: file)
      print(settings.summary())
    } catch {
      FileHandle.standardError.write(Data("\(error)\n".utf8))
      throw ExitCode.failure
    }
  }
}

/// `clusterwire status`: per-source health as the daemon recorded it.
struct StatusCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "status",
    abstract: "Show each source's health: state, last success, last error, next due, entries.")

  @Option(help: "The main config file.") var config: String

  func run() async throws {
    LibXML.bootstrap()
    let settings = Wiring.loadSettings(config)
    let store = try Wiring.openStore(settings)
    let states = try await store.sourceStates()
    let counts = try await store.counts()
    try await store.close()
    print(Self.render(states, counts: counts, now: Date()))
  }

  static func render(_ states: [SourceState], counts: StoreCounts, now: Date) -> String {
    var out =
      "\(counts.entries) entries in \(counts.duplicateGroups) stories (\(counts.mergedGroups) seen in several sources), \(states.count) sources\n\n"
    let header = [
      "SOURCE", "STATE", "LAST SUCCESS", "NEXT DUE", "ENTRIES", "DROPPED", "LAST ERROR",
    ]
    var rows: [[String]] = [header]
    for s in states {
      let state: String
      if s.gone {
        state = "gone"
      } else if s.consecutiveFailures > 0 {
        state = "failing×\(s.consecutiveFailures)"
      } else if s.lastAttempt == nil {
        state = "new"
      } else {
        state = "ok"
      }
      var error = s.lastError ?? ""
      if s.gone {
        error +=
          (error.isEmpty ? "" : "; ")
          + "polling stopped: change any key of this source's table in the config and reload"
      }
      if let moved = s.movedTo {
        error = "moved permanently to \(moved)" + (error.isEmpty ? "" : "; \(error)")
      }
      rows.append([
        s.id, state, s.lastSuccess.map(rfc3339) ?? "never",
        s.gone ? "stopped" : (s.nextDue.map(rfc3339) ?? "soon"),
        String(s.entryCount), String(s.retentionDropped), error,
      ])
    }
    let widths = (0..<header.count - 1).map { col in rows.map { $0[col].count }.max() ?? 0 }
    for row in rows {
      var line = ""
      for col in 0..<header.count - 1 {
        line += row[col].padding(toLength: widths[col], withPad: " ", startingAt: 0) + "  "
      }
      line += row[header.count - 1]
      out += line.trimmingCharacters(in: .whitespaces) + "\n"
    }
    return out
  }
}

/// `clusterwire export`: every published document written atomically, for nginx-served sites.
struct ExportCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write every published document (same paths as HTTP) into a directory.")

  @Option(help: "The main config file.") var config: String
  @Option(help: "The output directory.") var out: String

  func run() async throws {
    LibXML.bootstrap()
    let settings = Wiring.loadSettings(config)
    let store = try Wiring.openStore(settings)
    let publisher = Publisher(store: store, options: Wiring.publisherOptions(settings))
    let count = try await publisher.export(to: URL(fileURLWithPath: out, isDirectory: true))
    try await store.close()
    print("wrote \(count) documents to \(out)")
  }
}

/// `clusterwire try-source ID`: fetch one configured source and show what it would produce,
/// without touching the store, so an admin can get selectors right before reloading.
struct TrySourceCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "try-source",
    abstract: "Fetch one configured source and print the entries it would produce.")

  @Argument(help: "The source id.") var id: String
  @Option(help: "The main config file.") var config: String

  func run() async throws {
    LibXML.bootstrap()
    let settings = Wiring.loadSettings(config)
    guard let source = settings.sources.first(where: { $0.id == id }) else {
      fail("no source '\(id)' in \(config)")
    }
    let client = Wiring.makeHTTPClient(settings)
    let logger = Logger(label: "clusterwire")
    let preview = await Crawler.preview(
      source, options: Wiring.crawlerOptions(settings), httpClient: client, logger: logger)
    try await client.shutdown()
    switch preview {
    case .failure(let message):
      fail("\(id): \(message)")
    case .success(let parsed, let warnings):
      for w in warnings { FileHandle.standardError.write(Data("warning: \(w)\n".utf8)) }
      print(
        "\(id): \(parsed.feed.entries.count) entries (\(parsed.format.rawValue), \(parsed.encoding))"
      )
      for e in parsed.feed.entries {
        print(
          "- \(e.published.map(rfc3339) ?? "(no date: first-seen time will be used)")  \(e.title ?? "(no title)")"
        )
        if let link = e.link { print("  \(link)") }
        if let summary = e.summary?.value, !summary.isEmpty {
          print("  \(summary.prefix(160))")
        }
      }
      FileHandle.standardOutput.write(try ParseOutput(parsed, warnings: warnings).jsonData())
      print()
    }
  }
}
