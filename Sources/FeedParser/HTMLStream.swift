import CLibXML2
import Foundation

/// The sanitiser's fast path for markup: it writes the allowlisted output straight from libxml2's
/// HTML SAX events, so no tree is built or freed (about a quarter of libxml2's cost) and the
/// parser contexts, SAX handler included, are reused. Same policy and output as the tree walk.
final class HTMLStream {
  var writer: HTMLWriter
  /// One entry per open element: a policy slot (≥ 0) to close, or one of the markers below.
  private var stack: [Int] = []
  /// > 0 inside a dropped element.
  private var dropDepth = 0
  /// Start tags written and not yet closed (capped at `HTMLWriter.maxDepth`).
  private var keptDepth = 0
  private static let unwrapped = -1
  private static let dropped = -2
  private static let voided = -3

  init(base: URL?, capacity: Int) {
    writer = HTMLWriter(base: base, capacity: capacity)
    stack.reserveCapacity(32)
  }

  /// Contexts whose SAX handler feeds an `HTMLStream` (found through `ctxt->_private`).
  static let pool = HTMLParserPool { ctxt in
    guard let sax = ctxt.pointee.sax else { return }
    sax.pointee = htmlSAXHandler()
    sax.pointee.startElement = { ctx, name, atts in
      guard let stream = HTMLStream.from(ctx), let name else { return }
      stream.start(name, atts)
    }
    sax.pointee.endElement = { ctx, _ in
      HTMLStream.from(ctx)?.end()
    }
    let text: charactersSAXFunc = { ctx, ch, len in
      guard let stream = HTMLStream.from(ctx), let ch, len > 0 else { return }
      stream.characters(ch, Int(len))
    }
    sax.pointee.characters = text
    sax.pointee.ignorableWhitespace = text
    sax.pointee.cdataBlock = text
  }

  @inline(__always) static func from(_ ctx: UnsafeMutableRawPointer?) -> HTMLStream? {
    guard let ctx else { return nil }
    let ctxt = ctx.assumingMemoryBound(to: xmlParserCtxt.self)
    guard let state = ctxt.pointee._private else { return nil }
    return Unmanaged<HTMLStream>.fromOpaque(state).takeUnretainedValue()
  }

  func start(_ name: UnsafePointer<xmlChar>, _ atts: UnsafeMutablePointer<UnsafePointer<xmlChar>?>?)
  {
    if dropDepth > 0 {
      dropDepth += 1
      stack.append(HTMLStream.dropped)
      return
    }
    let k = writer.slot(name)
    let info = writer.slotInfo(k)
    switch info.action {
    case .drop:
      dropDepth = 1
      stack.append(HTMLStream.dropped)
    case .unwrap, .dropVoid:
      stack.append(HTMLStream.unwrapped)
    case .keep:
      if info.isVoid {
        writer.writeStartTag(slot: k, attributes: atts)
        stack.append(HTMLStream.voided)
      } else if keptDepth >= HTMLWriter.maxDepth {
        stack.append(HTMLStream.unwrapped)
      } else {
        writer.writeStartTag(slot: k, attributes: atts)
        stack.append(k)
        keptDepth += 1
      }
    }
  }

  func end() {
    guard let top = stack.popLast() else { return }
    if top == HTMLStream.dropped {
      dropDepth -= 1
    } else if top >= 0 {
      writer.writeEndTag(slot: top)
      keptDepth -= 1
    }
  }

  func closeAll() {
    while !stack.isEmpty { end() }
  }

  func characters(_ ch: UnsafePointer<xmlChar>, _ len: Int) {
    guard dropDepth == 0 else { return }
    writer.appendEscaped(UnsafeBufferPointer(start: ch, count: len), quote: false)
  }

  /// Sanitises markup; nil only when libxml2 could not start a parse.
  static func sanitize(_ html: String, baseURL: URL?) -> String? {
    var copy = html
    return copy.withUTF8 { input -> String? in
      // Leading text would get an implied <p>: a <body> in front avoids it.
      var prefixed: [UInt8] = []
      prefixed.reserveCapacity(input.count + 6)
      prefixed.append(contentsOf: "<body>".utf8)
      prefixed.append(contentsOf: input)
      guard prefixed.count < Int32.max, let (ctxt, uses) = pool.take() else { return nil }
      let stream = HTMLStream(base: baseURL, capacity: input.count + 64)
      ctxt.pointee._private = Unmanaged.passUnretained(stream).toOpaque()
      let options =
        HTMLTree.parseOptions | Int32(bitPattern: HTML_PARSE_IGNORE_ENC.rawValue)
      prefixed.withUnsafeBufferPointer { bytes in
        bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
          if let doc = htmlCtxtReadMemory(ctxt, $0, Int32(bytes.count), nil, "UTF-8", options) {
            xmlFreeDoc(doc)
          }
        }
      }
      // A parse that stopped early (libxml2's depth limit) leaves elements open: close them.
      stream.closeAll()
      ctxt.pointee._private = nil
      pool.give(ctxt, uses: uses)
      withExtendedLifetime(stream) {}
      return stream.writer.string
    }
  }
}
