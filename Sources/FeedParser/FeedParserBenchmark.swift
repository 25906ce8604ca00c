import FeedModel
import Foundation

/// For `cwbench parse-bench` only: the pipeline stopped before normalisation (no date parsing,
/// no sanitising, titles and text left as read), so the benchmark can show what each stage costs.
public enum FeedParserBenchmark {
  public static func parseWithoutNormalising(
    _ data: Data, contentType: String? = nil, baseURL: URL? = nil,
    options: ParseOptions = ParseOptions()
  ) throws(FeedParserError) -> ParsedFeed {
    try FeedPipeline.run(
      data, contentType: contentType, baseURL: baseURL, options: options, stages: .readOnly)
  }

  /// Everything but `HTMLSanitizer.sanitize` (HTML content is kept as read).
  public static func parseWithoutSanitising(
    _ data: Data, contentType: String? = nil, baseURL: URL? = nil,
    options: ParseOptions = ParseOptions()
  ) throws(FeedParserError) -> ParsedFeed {
    try FeedPipeline.run(
      data, contentType: contentType, baseURL: baseURL, options: options, stages: .noSanitizer)
  }
}
