/// The namespace of clusterwire's own attributes in the OPML it publishes (`/sources.opml`):
/// `clusterwire:id` carries each source's id, so `import-opml` rebuilds the same ids. Here,
/// in the model both the publisher and the importer depend on, so the two cannot drift apart.
public enum ClusterwireOPML {
  public static let namespace = "https://clusterwire.example/ns/opml"
  public static let prefix = "clusterwire"
  /// The outline attribute (in `namespace`) holding the source id.
  public static let idAttribute = "id"
}
