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
  /// Indices in `stack` of the kept elements still open, innermost last.
  private var keptOpen: [Int] = []
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
      closeImplied(by: k)
      if info.isVoid {
        writer.writeStartTag(slot: k, attributes: atts)
        stack.append(HTMLStream.voided)
      } else if keptDepth >= HTMLWriter.maxDepth {
        stack.append(HTMLStream.unwrapped)
      } else {
        writer.writeStartTag(slot: k, attributes: atts)
        keptOpen.append(stack.count)
        stack.append(k)
        keptDepth += 1
      }
    }
  }

  /// Ends the open elements that a `k` start tag ends when the output is parsed again.
  ///
  /// libxml2's HTML parser ends the current element when a start tag may not nest in it (a
  /// `<ul>` ends an open `<p>`). In the input an unwrapped element between them can prevent
  /// that (`<p><font><ul>`), but the output has no `<font>`: without this, sanitising the output
  /// again moved the `</p>` (the fuzzer found it: Tests/Fuzz/regressions/sanitizer/).
  private func closeImplied(by k: Int) {
    while let i = keptOpen.last, HTMLStream.autoCloses[k][stack[i]] {
      writer.writeEndTag(slot: stack[i])
      stack[i] = HTMLStream.unwrapped  // its end tag is written
      keptOpen.removeLast()
      keptDepth -= 1
    }
  }

  /// `autoCloses[new][open]` over policy slots: whether libxml2 ends an open kept element when a
  /// kept `new` one starts in it. Probed once from libxml2's own parser (a few thousand tiny
  /// parses), so the table is the parser's rules, not a copy of them.
  static let autoCloses: [[Bool]] = {
    let shared = HTMLPolicySlots.shared
    let n = shared.slots.count
    var table = Array(repeating: Array(repeating: false, count: n), count: n)
    let kept = (0..<n).filter { shared.slots[$0].action == .keep && !shared.tags[$0].isEmpty }
    for open in kept where !shared.slots[open].isVoid {
      for new in kept {
        table[new][open] = probeCloses(open: shared.tags[open], start: shared.tags[new])
      }
    }
    return table
  }()

  /// Whether `<body><open><start>` leaves `start` outside `open`.
  static func probeCloses(open: [UInt8], start: [UInt8]) -> Bool {
    let page = Array("<body><".utf8) + open + Array("><".utf8) + start + Array(">x".utf8)
    let doc = page.withUnsafeBufferPointer { b in
      b.withMemoryRebound(to: CChar.self) {
        htmlReadMemory($0.baseAddress, Int32($0.count), nil, "UTF-8", HTMLTree.parseOptions)
      }
    }
    guard let doc else { return false }
    defer { xmlFreeDoc(doc) }
    var node = xmlDocGetRootElement(doc)?.pointee.children  // <body>
    while let n = node, n.pointee.type != XML_ELEMENT_NODE { node = n.pointee.next }
    guard let body = node else { return false }
    var child = body.pointee.children
    while let c = child, c.pointee.type != XML_ELEMENT_NODE { child = c.pointee.next }
    guard let first = child else { return false }  // <open> itself
    var inner = first.pointee.children
    while let c = inner, c.pointee.type != XML_ELEMENT_NODE { inner = c.pointee.next }
    guard let nested = inner else { return true }
    return !start.elementsEqual(
      UnsafeBufferPointer(start: nested.pointee.name, count: strlen(nested.pointee.name)))
  }

  func end() {
    guard let top = stack.popLast() else { return }
    if top == HTMLStream.dropped {
      dropDepth -= 1
    } else if top >= 0 {
      writer.writeEndTag(slot: top)
      keptOpen.removeLast()
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
