// cwfuzz: the fuzz targets of issue 12, one binary.
//
// Built with `-Xswiftc -DCWFUZZ_LIBFUZZER -Xswiftc -sanitize=fuzzer,address` (see .ci/fuzz) it is
// a libFuzzer fuzzer: `CWFUZZ_TARGET=sanitizer cwfuzz [libFuzzer flags] [CORPUS_DIR…]`. The
// normal build (`swift build`, `swift test`) makes it a replay tool that runs files through the
// same checks: `cwfuzz TARGET FILE|DIR…`, or `cwfuzz all DIR` for DIR/<target>/… of every target.
//
// SwiftPM renames this file's entry point and links it as `main` (`--defsym main=cwfuzz_main`),
// so libFuzzer's own `main` is never pulled from its archive; instead this `main` hands control
// to libFuzzer through `LLVMFuzzerRunDriver`, with a callback in place of `LLVMFuzzerTestOneInput`.
import Foundation
import FuzzChecks

#if CWFUZZ_LIBFUZZER
  import CFuzzDriver
#endif

func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("cwfuzz: \(message)\n".utf8))
  exit(2)
}

FuzzChecks.setUp()

#if CWFUZZ_LIBFUZZER
  enum Fuzzing {
    nonisolated(unsafe) static var target = FuzzTarget.parser
  }
  let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
  guard let name = ProcessInfo.processInfo.environment["CWFUZZ_TARGET"],
    let chosen = FuzzTarget(rawValue: name)
  else { fail("set CWFUZZ_TARGET to one of \(names)") }
  Fuzzing.target = chosen
  var argc = CommandLine.argc
  var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
  let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
    let bytes = size == 0 ? Data() : Data(bytes: data!, count: size)
    do {
      try FuzzChecks.check(Fuzzing.target, bytes)
    } catch {
      // An invariant failure is a crash to libFuzzer: it saves the input as crash-….
      FileHandle.standardError.write(Data("==cwfuzz== \(error)\n".utf8))
      abort()
    }
    return 0
  }
  exit(status)
#else
  let arguments = Array(CommandLine.arguments.dropFirst())
  let usage =
    "usage: cwfuzz TARGET FILE|DIR… | cwfuzz all DIR  (TARGET: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))"
  guard arguments.count >= 2 else { fail(usage) }
  var jobs: [(FuzzTarget, URL)] = []
  if arguments[0] == "all" {
    for target in FuzzTarget.allCases {
      for dir in arguments.dropFirst() {
        jobs += FuzzInputs.files(
          under: URL(fileURLWithPath: dir).appendingPathComponent(target.rawValue)
        ).map { (target, $0) }
      }
    }
  } else {
    guard let target = FuzzTarget(rawValue: arguments[0]) else { fail(usage) }
    for path in arguments.dropFirst() {
      jobs += FuzzInputs.files(under: URL(fileURLWithPath: path)).map { (target, $0) }
    }
  }
  var failures = 0
  for (target, file) in jobs {
    guard let data = try? Data(contentsOf: file) else { fail("cannot read \(file.path)") }
    do {
      try FuzzChecks.check(target, data)
    } catch {
      failures += 1
      print("FAIL \(file.path): \(error)")
    }
  }
  print("cwfuzz: \(jobs.count) inputs, \(failures) invariant failures")
  exit(failures == 0 && !jobs.isEmpty ? 0 : 1)
#endif
