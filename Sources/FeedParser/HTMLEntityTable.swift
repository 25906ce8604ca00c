import CLibXML2
import Foundation
import WebText

/// HTML entities (`&nbsp;`, `&eacute;`…) that RSS feeds use without declaring them, from the
/// one HTML entity table (`HTMLEntities`). The parser's
/// `getEntity` SAX callback falls back to this table: libxml2 treats an entity of type
/// `XML_INTERNAL_PREDEFINED_ENTITY` exactly like `&amp;` (its content is delivered as text, no
/// re-parse, no expansion accounting), so decoding costs nothing extra and needs no pre-pass.
enum HTMLEntityTable {
  private static let lock = NSLock()
  /// Entities are immutable after creation, never freed, and read by any thread: libxml2 never
  /// writes to a predefined entity, the same way its own `&lt;` entity is shared process-wide.
  nonisolated(unsafe) private static var cache: [String: UnsafeMutablePointer<xmlEntity>] = [:]

  /// A predefined-type entity for an HTML entity name, or nil when HTML has no such entity.
  static func entity(named name: UnsafePointer<xmlChar>) -> UnsafeMutablePointer<xmlEntity>? {
    let key = String(cString: name)
    guard let value = HTMLEntities.value(named: key) else { return nil }
    lock.lock()
    defer { lock.unlock() }
    if let found = cache[key] { return found }
    let utf8 = Array(value.utf8) + [0]
    let ent = UnsafeMutablePointer<xmlEntity>.allocate(capacity: 1)
    ent.initialize(to: xmlEntity())
    ent.pointee.type = XML_ENTITY_DECL
    ent.pointee.name = UnsafePointer(xmlStrdup(name))
    utf8.withUnsafeBufferPointer { ent.pointee.content = xmlStrdup($0.baseAddress) }
    ent.pointee.orig = xmlStrdup(ent.pointee.content)
    ent.pointee.length = Int32(utf8.count - 1)
    ent.pointee.etype = XML_INTERNAL_PREDEFINED_ENTITY
    cache[key] = ent
    return ent
  }
}
