// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "clusterwire",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "clusterwire", targets: ["clusterwire"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.23.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.5.0"),
    .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
    .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.3.0"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
    // Already in the graph through AsyncHTTPClient; named for the crawler's decompression errors.
    .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.20.0"),
    // Already in the graph through AsyncHTTPClient; named for the crawler's TLS error reasons.
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.27.0"),
    // Already in the graph through AsyncHTTPClient (swift-certificates); SHA-256 for published ids.
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    // The fleet's shared store (issue 14).
    .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
    // Already in the graph through swift-nio; the crawler's due queue is its Heap.
    .package(url: "https://github.com/apple/swift-collections.git", from: "1.1.0"),
  ],
  targets: [
    // libxml2 from the system (Debian: libxml2-dev). See shim.h for the ICU and xmlFree workarounds.
    .systemLibrary(
      name: "CLibXML2",
      pkgConfig: "libxml-2.0",
      providers: [.apt(["libxml2-dev"]), .brew(["libxml2"])]
    ),
    // WebText: the one HTML-to-text rule, for `EntryFilter` matching a summary as text.
    .target(name: "FeedModel", dependencies: ["WebText"]),
    .target(
      name: "FeedParser", dependencies: ["CLibXML2", "FeedModel", "WebText", "LanguageDetection"]),
    .target(
      name: "FeedStore",
      dependencies: [
        "FeedModel", "WebText",
        .product(name: "GRDB", package: "GRDB.swift"),
        // GRDB's own SQLite module: ingest's hot statements use the C API (RawStatement.swift).
        .product(name: "GRDBSQLite", package: "GRDB.swift"),
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    // The PostgreSQL store shared by a fleet of instances (issue 14): the same rules as the
    // SQLite store (FeedStore's `package` API), other SQL, PostgresNIO underneath.
    .target(
      name: "PostgresStore",
      dependencies: [
        "FeedModel", "FeedStore",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        // `copy(fromSQLite:)` reads the SQLite store directly.
        .product(name: "GRDB", package: "GRDB.swift"),
      ]
    ),
    .target(
      name: "Config",
      dependencies: [
        "FeedModel", "FeedParser",
        .product(name: "TOMLKit", package: "TOMLKit"),
        // SHA-256 of the loaded configuration (`Settings.configHash`, compared across a fleet).
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    .target(
      name: "Crawler",
      dependencies: [
        "FeedModel", "FeedParser", "FeedStore", "NetworkGuard",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "HeapModule", package: "swift-collections"),
      ]
    ),
    .target(
      name: "Publisher",
      dependencies: [
        "FeedModel", "FeedStore", "WebText",
        // clusterwire_feed_renders_total.
        .product(name: "Metrics", package: "swift-metrics"),
      ]
    ),
    .target(
      name: "Server",
      dependencies: [
        "Publisher", "FeedStore", "WebSub",
        .product(name: "Hummingbird", package: "hummingbird"),
        // HTTP1Channel, HTTPServerBuilder and the channel handlers of ConnectionGuard.swift.
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "NIOCore", package: "swift-nio"),
        // NIO's HTTP/1 decoder and encoder, and the HTTP-types codec over them, that
        // GuardedHTTP1Channel puts in each connection's pipeline.
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
        .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
        .product(name: "CompressNIO", package: "compress-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
      ]
    ),
    .executableTarget(
      name: "clusterwire",
      dependencies: [
        "FeedModel", "FeedParser", "FeedStore", "PostgresStore", "Config", "Crawler", "Publisher",
        "Server", "WebSub", "Discovery",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Hummingbird", package: "hummingbird"),
      ]
    ),
    // Benchmarks are an executable, never timed unit tests.
    .executableTarget(
      name: "cwbench",
      dependencies: [
        "CLibXML2", "FeedModel", "FeedParser", "FeedStore", "Publisher", "Server", "Crawler",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ],
      path: "Benchmarks/cwbench"
    ),
    // Shared by the test targets: locating the built binaries, running them, temp dirs, notify sockets.
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    // An in-memory FeedStore shared by the publisher and server tests.
    .target(
      name: "PublishingTestSupport",
      dependencies: [
        "FeedStore", "FeedModel", .product(name: "Metrics", package: "swift-metrics"),
      ],
      path: "Tests/PublishingTestSupport"),
    .testTarget(
      name: "FeedParserTests",
      dependencies: ["TestSupport", "FeedParser", "FeedModel", "CLibXML2"], exclude: ["Fixtures"]),
    .testTarget(
      name: "FeedStoreTests",
      dependencies: [
        "TestSupport", "FeedStore", "FeedModel", .product(name: "GRDB", package: "GRDB.swift"),
        // The same suite on PostgreSQL (`CLUSTERWIRE_STORE_BACKEND=postgres`, see Helpers.swift).
        "PostgresStore", .product(name: "Logging", package: "swift-log"),
      ]),
    // The PostgreSQL store against a real server (`.ci/test` starts one; skipped without it).
    .testTarget(
      name: "PostgresStoreTests",
      dependencies: [
        "TestSupport", "PostgresStore", "FeedStore", "FeedModel",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ]),
    .testTarget(
      name: "ConfigTests", dependencies: ["TestSupport", "Config", "FeedModel"],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "CrawlerTests",
      dependencies: [
        "TestSupport",
        "Crawler", "FeedStore", "FeedModel", "FeedParser", "NetworkGuard",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ],
      exclude: ["Fixtures"]
    ),
    .testTarget(
      name: "PublisherTests",
      dependencies: [
        "TestSupport", "PublishingTestSupport", "Publisher", "FeedStore", "FeedModel", "FeedParser",
        .product(name: "Metrics", package: "swift-metrics"),
      ],
      exclude: ["Fixtures"]),
    .testTarget(
      name: "ServerTests",
      dependencies: [
        "TestSupport", "PublishingTestSupport",
        "Server", "Publisher", "FeedStore", "FeedModel",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]
    ),
    .testTarget(
      name: "IntegrationTests",
      dependencies: [
        "TestSupport", "FeedParser", "FeedModel",
        .product(name: "Hummingbird", package: "hummingbird"),
      ],
      exclude: ["Fixtures"]
    ),
    // WebSub (issue 15): the wire rules (hub requests, Link headers, X-Hub-Signature), the
    // built-in hub (verification, distribution) and the subscriber's bookkeeping. Stores its
    // subscriptions through FeedStore's `WebSubStore`; fetches through AsyncHTTPClient behind
    // the private-network guard.
    .target(
      name: "WebSub",
      dependencies: [
        "FeedStore", "NetworkGuard", "WebText",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]),
    .testTarget(
      name: "WebSubTests",
      dependencies: [
        "WebSub", "FeedStore", "FeedModel", "TestSupport", "NetworkGuard", "WebText",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ]),
    // Adding a member in one command (issue 16): which of a site's documents is its feed, the
    // selectors of an HTML news listing found from its repeated structure, OPML outlines as
    // sources. Pure: the command fetches (Crawler) and writes drop-ins (Config).
    .target(name: "Discovery", dependencies: ["CLibXML2", "FeedModel", "FeedParser", "WebText"]),
    .testTarget(
      name: "DiscoveryTests",
      dependencies: ["TestSupport", "Discovery", "FeedParser", "FeedModel", "Config", "CLibXML2"],
      exclude: ["Fixtures"]),
    // Private-network guard (issue 12)
    .target(name: "NetworkGuard"),
    .testTarget(name: "NetworkGuardTests", dependencies: ["NetworkGuard"]),
    // Fuzzing (issue 12): libFuzzer targets in one binary (`.ci/fuzz`), their invariant checks,
    // and the tests that replay the seed corpus and every finding through the same checks.
    .target(name: "CFuzzDriver", path: "Tests/Fuzz/CFuzzDriver"),
    .target(
      name: "FuzzChecks",
      dependencies: ["CLibXML2", "FeedModel", "FeedParser", "Config", "Discovery"],
      path: "Tests/Fuzz/FuzzChecks"),
    .executableTarget(
      name: "cwfuzz", dependencies: ["FuzzChecks", "CFuzzDriver"], path: "Tests/Fuzz/cwfuzz"),
    .testTarget(
      name: "FuzzRegressionTests", dependencies: ["FuzzChecks"],
      path: "Tests/Fuzz/FuzzRegressionTests"),
    // Text rules shared by parser, store and publisher (issue 13): the one URL-scheme rule, the
    // one HTML-to-text conversion, the HTML entity table, the C1 remap. Pure Swift, no
    // dependencies. Language detection from text: libexttextcat from the system (Debian:
    // libexttextcat-dev, fingerprints in libexttextcat-data).
    .target(name: "WebText"),
    .systemLibrary(
      name: "CTextCat", pkgConfig: "libexttextcat", providers: [.apt(["libexttextcat-dev"])]),
    .target(name: "LanguageDetection", dependencies: ["CTextCat", "WebText"]),
    .testTarget(name: "WebTextTests", dependencies: ["WebText"]),
    .testTarget(name: "LanguageDetectionTests", dependencies: ["LanguageDetection"]),
  ],
  swiftLanguageModes: [.v6]
)
