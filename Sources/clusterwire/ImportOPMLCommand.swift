import ArgumentParser
import Config
import Discovery
import FeedParser
import Foundation

/// `clusterwire import-opml FILE`: a subscription list exported from a reader (or our own
/// `/sources.opml`) as `[[source]]` drop-ins. Every drop-in is validated by the config loader
/// before it is printed or written, so what comes out is what `check-config` accepts.
struct ImportOPMLCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import-opml",
    abstract: "Turn an OPML subscription list into [[source]] drop-ins.",
    discussion: """
      One source per feed outline (type "rss", "atom" or none), its categories from the \
      enclosing folders and the "category" attribute, its title kept and its site link as a \
      comment. Outlines that are not feeds are reported on stderr and skipped. Without --write, \
      prints one TOML document; with --write DIR, writes DIR/ID.toml per source and prints \
      their paths (never overwriting without --force). Exit status: 0 when at least one source was imported, 1 when \
      none, 2 when the file is unreadable or not OPML.
      """)

  @Argument(help: "The OPML file (- reads standard input).") var file: String
  @Option(
    name: .customLong("write"),
    help: ArgumentHelp("Write one ID.toml per source into this directory.", valueName: "dir"))
  var directory: String?
  @Flag(help: "With --write: overwrite files that already exist.") var force = false
  @Option(
    help: """
      The main config file the drop-ins are for: feeds it already has are reported and skipped, \
      and new ids avoid the ids it uses.
      """)
  var config: String?

  func validate() throws {
    if force && directory == nil { throw ValidationError("--force only applies with --write DIR") }
  }

  func run() throws {
    LibXML.bootstrap()
    let data: Data
    if file == "-" {
      data = FileHandle.standardInput.readDataToEndOfFile()
    } else {
      do {
        data = try Data(contentsOf: URL(fileURLWithPath: file))
      } catch {
        let exists = FileManager.default.fileExists(atPath: file)
        fail("\(file): \(exists ? "cannot read the file" : "no such file")", code: 2)
      }
    }
    let list: OPMLImport
    do {
      list = try OPMLImport.parse(data)
    } catch {
      fail("\(file): \(error)", code: 2)
    }
    func report(_ line: Int, _ message: String) {
      FileHandle.standardError.write(Data("\(file):\(line): \(message)\n".utf8))
    }
    for skipped in list.skipped { report(skipped.line, skipped.message) }

    var skipped = list.skipped.count
    var documents: [(id: String, text: String)] = []
    var configured = ConfiguredSources(config.map { Wiring.loadSettings($0).sources } ?? [])
    for var entry in list.imported {
      if let config, let existing = configured.configured(entry.source.url) {
        let title = entry.source.title.map { "\"\($0)\"" } ?? "untitled outline"
        report(
          entry.line, "\(title) skipped: already configured as source '\(existing)' in \(config)")
        skipped += 1
        continue
      }
      entry.source.id = configured.claim(entry.source.id)
      let text = DropIn.render(
        entry.source,
        comments: ["from \(file), line \(entry.line)"]
          + (entry.siteURL.map { ["site: \($0)"] } ?? []))
      if let errors = DropIn.validate(text) {
        let title = entry.source.title.map { "\"\($0)\"" } ?? "untitled outline"
        report(
          entry.line,
          "\(title) skipped: its drop-in does not load: "
            + errors.replacingOccurrences(of: "\n", with: "; "))
        skipped += 1
        continue
      }
      documents.append((entry.source.id, text))
    }

    var imported = 0
    if let directory {
      for document in documents {
        do {
          let path = try DropIn.write(
            document.text, id: document.id, directory: directory, force: force)
          print(path)
          imported += 1
        } catch {
          FileHandle.standardError.write(Data("clusterwire: \(error)\n".utf8))
        }
      }
    } else {
      imported = documents.count
      if !documents.isEmpty {
        let header = DropIn.comment(
          "\(documents.count) source\(documents.count == 1 ? "" : "s") imported from \(file)"
            + (list.title.map { " (\($0))" } ?? "") + " by clusterwire import-opml")
        print(header + "\n" + documents.map(\.text).joined(separator: "\n"), terminator: "")
      }
    }
    FileHandle.standardError.write(
      Data(
        ("clusterwire: \(imported) source\(imported == 1 ? "" : "s") imported"
          + (directory.map { " into \($0)" } ?? "")
          + ", \(skipped) outline\(skipped == 1 ? "" : "s") skipped\n").utf8))
    if imported == 0 { throw ExitCode.failure }
  }
}
