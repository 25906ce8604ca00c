import Foundation
import Logging
import Metrics
import Publisher
import Server
import XCTest

/// Starts `makeServer` on 127.0.0.1, an ephemeral port, and returns that port once it listens
/// and the task running it (cancel it to stop). One launcher for every ServerTests suite. The
/// logger is at critical: cancelling the server task at the end of a test logs shutdown noise
/// at error level.
func runTestServer(
  publisher: Publisher, options: ServerOptions, label: String,
  readiness: @escaping @Sendable () async -> (ready: Bool, reason: String) = { (true, "ok") },
  metrics: @escaping @Sendable () async -> String = { "" },
  metricsFactory: any MetricsFactory
) async -> (port: Int, task: Task<Void, any Error>) {
  let (stream, continuation) = AsyncStream<Int>.makeStream()
  var logger = Logger(label: label)
  logger.logLevel = .critical
  var options = options
  options.host = "127.0.0.1"
  options.port = 0
  let app = makeServer(
    publisher: publisher, options: options, logger: logger, readiness: readiness,
    metrics: metrics, onRunning: { port in continuation.yield(port) },
    metricsFactory: metricsFactory)
  let task = Task { try await app.runService(gracefulShutdownSignals: []) }
  var port = 0
  for await p in stream {
    port = p
    break
  }
  XCTAssertGreaterThan(port, 0)
  return (port, task)
}
