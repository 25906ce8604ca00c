import ArgumentParser

/// Benchmarks and load generators. Speed is measured here, never in timed unit tests; every
/// figure is printed next to a baseline measured in the same run (raw libxml2, nginx, …).
@main
struct CWBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cwbench",
    abstract: "clusterwire benchmarks",
    subcommands: [
      ParseBench.self, StoreBench.self, StoreChild.self, CrawlBench.self, FeedServer.self,
      ServeBench.self, FleetBench.self, SourceMetricsBench.self,
    ]
  )
}
