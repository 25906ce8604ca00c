import Foundation

/// Finding the input files of a corpus or regression directory.
public enum FuzzInputs {
  /// `url` itself when it is a file, else every regular file below it (sorted, hidden files and
  /// README files skipped); empty when nothing is there.
  public static func files(under url: URL) -> [URL] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
      return []
    }
    guard isDirectory.boolValue else { return [url] }
    let found = FileManager.default.enumerator(
      at: url, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
    var files: [URL] = []
    while let next = found?.nextObject() as? URL {
      let regular = (try? next.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile
      if regular == true, !next.lastPathComponent.hasPrefix("README") { files.append(next) }
    }
    return files.sorted { $0.path < $1.path }
  }
}
