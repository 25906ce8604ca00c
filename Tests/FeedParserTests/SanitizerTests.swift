import CLibXML2
import XCTest

@testable import FeedParser

/// True when `html` parses as XML once wrapped in a root element (libxml2, no recovery).
func isWellFormedXML(_ html: String) -> Bool {
  let doc = "<root>\(html)</root>"
  let options = Int32(
    bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue
  )
  guard
    let parsed = doc.withCString({ xmlReadMemory($0, Int32(strlen($0)), nil, "UTF-8", options) })
  else { return false }
  xmlFreeDoc(parsed)
  return true
}

final class SanitizerTests: XCTestCase {
  override func setUp() {
    super.setUp()
    LibXML.bootstrap()
  }

  private let base = URL(string: "https://klaster.lt/naujienos/straipsnis.html")!

  private func clean(_ html: String, file: StaticString = #filePath, line: UInt = #line) -> String {
    let out = HTMLSanitizer.sanitize(html, baseURL: base)
    XCTAssertTrue(isWellFormedXML(out), "not well-formed: \(out)", file: file, line: line)
    return out
  }

  func testPlainTextFastPathIsUnchanged() {
    XCTAssertEqual(clean("Paprastas tekstas be žymių"), "Paprastas tekstas be žymių")
    XCTAssertEqual(clean("  padded  "), "padded")
    XCTAssertEqual(clean("a > b"), "a &gt; b")
  }

  func testEntitiesWithoutMarkup() {
    XCTAssertEqual(clean("AT&amp;T &eacute; &#x17E; &#382;"), "AT&amp;T é ž ž")
    XCTAssertEqual(clean("AT&T and Q&A"), "AT&amp;T and Q&amp;A")
    XCTAssertEqual(clean("&lt;script&gt;"), "&lt;script&gt;")
  }

  func testKeepsStructure() {
    let html = """
      <h2>Title</h2><p>One <b>bold</b> <strong>strong</strong> <i>i</i> <em>em</em> <u>u</u> <s>s</s> \
      x<sub>2</sub> y<sup>3</sup> <small>s</small> <mark>m</mark> <span>sp</span><br>next</p>\
      <ul><li>a</li></ul><ol start="3"><li>b</li></ol><dl><dt>t</dt><dd>d</dd></dl>\
      <table><caption>c</caption><thead><tr><th colspan="2">h</th></tr></thead>\
      <tbody><tr><td rowspan="2">1</td></tr></tbody><tfoot><tr><td>f</td></tr></tfoot></table>\
      <blockquote cite="/src">q</blockquote><q>qq</q><cite>c</cite>\
      <pre><code>x &lt; 1</code></pre><kbd>k</kbd><samp>s</samp><hr>\
      <figure><img src="/a.jpg" alt="A"><figcaption>cap</figcaption></figure>\
      <abbr title="HyperText">HTML</abbr><time datetime="2020-06-02">2 June</time>
      """
    let out = clean(html)
    for fragment in [
      "<h2>Title</h2>", "<b>bold</b>", "<strong>strong</strong>", "<i>i</i>", "<em>em</em>",
      "<u>u</u>", "<s>s</s>", "<sub>2</sub>", "<sup>3</sup>", "<small>s</small>", "<mark>m</mark>",
      "<span>sp</span>", "<br/>", "<ul><li>a</li></ul>", "<ol start=\"3\"><li>b</li></ol>",
      "<dl><dt>t</dt><dd>d</dd></dl>", "<caption>c</caption>", "<th colspan=\"2\">h</th>",
      "<td rowspan=\"2\">1</td>", "<tfoot>",
      "<blockquote cite=\"https://klaster.lt/src\">q</blockquote>",
      "<q>qq</q>", "<cite>c</cite>", "<pre><code>x &lt; 1</code></pre>", "<kbd>k</kbd>",
      "<samp>s</samp>", "<hr/>", "<figure><img src=\"https://klaster.lt/a.jpg\" alt=\"A\"/>",
      "<figcaption>cap</figcaption>", "<abbr title=\"HyperText\">HTML</abbr>",
      "<time datetime=\"2020-06-02\">2 June</time>",
    ] {
      XCTAssertTrue(out.contains(fragment), "missing \(fragment) in \(out)")
    }
  }

  func testDropsDangerousElementsWithContent() {
    let cases = [
      "<script>alert(1)</script>", "<style>body{display:none}</style>",
      "<iframe src=\"https://evil.example/\">frame text</iframe>",
      "<object data=\"x.swf\">object text</object>", "<embed src=\"x.swf\">",
      "<form action=\"/steal\"><input name=\"p\" value=\"secret\"><button>Send</button><textarea>t</textarea></form>",
      "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example/\">",
      "<base href=\"https://evil.example/\">", "<link rel=\"stylesheet\" href=\"x.css\">",
      "<noscript>no script</noscript>", "<template><p>tpl</p></template>",
      "<svg><script>alert(1)</script><text>svg text</text></svg>",
    ]
    for dangerous in cases {
      let out = clean("<p>before</p>\(dangerous)<p>after</p>")
      XCTAssertEqual(out, "<p>before</p><p>after</p>", "for \(dangerous)")
    }
  }

  func testUnknownTagsAreUnwrapped() {
    XCTAssertEqual(clean("<custom-tag>kept <font color=red>text</font></custom-tag>"), "kept text")
    XCTAssertEqual(clean("<center><p>x</p></center>"), "<center><p>x</p></center>")
  }

  func testEventHandlersStyleClassAndIdDropped() {
    let out = clean(
      "<p onclick=\"alert(1)\" onmouseover='x()' style=\"background:url(javascript:alert(1))\" class=\"c\" id=\"i\" title=\"t\">x</p>"
    )
    XCTAssertEqual(out, "<p title=\"t\">x</p>")
    let img = clean(
      "<img src=\"/a.png\" onerror=\"alert(1)\" style=\"width:expression(alert(1))\">")
    XCTAssertEqual(img, "<img src=\"https://klaster.lt/a.png\"/>")
  }

  func testJavascriptAndVbscriptURLsDropped() {
    let hostile = [
      "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
      "java&#x09;script:alert(1)", "&#106;avascript:alert(1)", "javascript&#58;alert(1)",
      "&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)",
      "jav&#x0A;ascript:alert(1)", "\u{1}javascript:alert(1)", "vbscript:msgbox(1)", "VBScript:x",
      "livescript:x", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
      "data:image/svg+xml;base64,PHN2Zz4=",
    ]
    for url in hostile {
      let out = clean("<a href=\"\(url)\">link</a>")
      XCTAssertEqual(out, "<a>link</a>", "for \(url)")
      let img = clean("<p>x<img src=\"\(url)\"></p>")
      XCTAssertEqual(img, "<p>x</p>", "img for \(url)")
    }
  }

  func testDataImagesKept() {
    let png = "data:image/png;base64,iVBORw0KGgo="
    XCTAssertEqual(clean("<img src=\"\(png)\" alt=\"p\">"), "<img src=\"\(png)\" alt=\"p\"/>")
    let gif = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    XCTAssertEqual(clean("<img src=\"\(gif)\">"), "<img src=\"\(gif)\"/>")
    // Data URLs are for images only, never links.
    XCTAssertEqual(clean("<a href=\"\(png)\">x</a>"), "<a>x</a>")
  }

  func testRelativeLinksAbsolutised() {
    XCTAssertEqual(
      clean("<a href=\"/straipsnis/1\">a</a>"), "<a href=\"https://klaster.lt/straipsnis/1\">a</a>")
    XCTAssertEqual(
      clean("<a href=\"../archyvas/2020/\">a</a>"),
      "<a href=\"https://klaster.lt/archyvas/2020/\">a</a>")
    XCTAssertEqual(
      clean("<a href=\"?id=5&amp;ref=rss\">a</a>"),
      "<a href=\"https://klaster.lt/naujienos/straipsnis.html?id=5&amp;ref=rss\">a</a>")
    XCTAssertEqual(
      clean("<a href=\"//cdn.example.com/x\">a</a>"), "<a href=\"https://cdn.example.com/x\">a</a>")
    XCTAssertEqual(
      clean("<a href=\"mailto:info@klaster.lt\">m</a>"), "<a href=\"mailto:info@klaster.lt\">m</a>")
    XCTAssertEqual(
      clean("<img src=\"img/a b.jpg\">"),
      "<img src=\"https://klaster.lt/naujienos/img/a%20b.jpg\"/>")
    // No base: relative links stay relative (but still checked).
    XCTAssertEqual(
      HTMLSanitizer.sanitize("<a href=\"/x\">x</a>", baseURL: nil), "<a href=\"/x\">x</a>")
  }

  func testLazyImages() {
    XCTAssertEqual(
      clean("<img data-src=\"/real.jpg\" alt=\"r\">"),
      "<img src=\"https://klaster.lt/real.jpg\" alt=\"r\"/>")
    XCTAssertEqual(
      clean("<img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\" data-lazy-src=\"/real.jpg\">"),
      "<img src=\"https://klaster.lt/real.jpg\"/>")
    XCTAssertEqual(
      clean("<img src=\"/img/placeholder.png\" srcset=\"/a-320.jpg 320w, /a-640.jpg 640w\">"),
      "<img src=\"https://klaster.lt/a-320.jpg\"/>")
    // A real src is kept even when lazy attributes exist.
    XCTAssertEqual(
      clean("<img src=\"/real.jpg\" data-src=\"/other.jpg\">"),
      "<img src=\"https://klaster.lt/real.jpg\"/>")
    // No usable source at all: the image goes.
    XCTAssertEqual(clean("<p>x<img alt=\"none\"></p>"), "<p>x</p>")
  }

  func testOutputEscapingAndControlCharacters() {
    let out = clean(
      "<p title='say \"hi\" &amp; <bye>'>1 &lt; 2 &amp;&amp; 3 &gt; 2 \u{1}\u{8}\u{B}bell\u{FFFE}</p>"
    )
    XCTAssertEqual(
      out, "<p title=\"say &quot;hi&quot; &amp; &lt;bye&gt;\">1 &lt; 2 &amp;&amp; 3 &gt; 2 bell</p>"
    )
    XCTAssertEqual(clean("tab\there\u{0}x"), "tab\therex")
  }

  func testHostileMarkupVariants() {
    let hostile = [
      "<SCRIPT>alert(1)</SCRIPT>", "<ScRiPt src=//evil.example/x.js></ScRiPt>",
      "<scr<script>ipt>alert(1)</script>", "<img src=x:alert(1) onerror=alert(1)>",
      "<a href=\"  JAVASCRIPT:alert(1)\">x</a>",
      "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
      "<object><param name=x value=y><embed src=x></object>", "<p>a\u{0}b<b>c</b></p>",
      "<p title=\"</p><script>alert(1)</script>\">t</p>", "<!--<script>alert(1)</script>-->",
      "<svg onload=alert(1)><a xlink:href=\"javascript:alert(1)\">x</a></svg>",
      "<a href=\"javascript&colon;alert(1)\">x</a>",
      "<div style=\"x:expression(alert(1))\">d</div>",
      "<a href=\"http://ok.example/\" target=\"_blank\" onclick=\"x()\">ok</a>",
      "<body onload=alert(1)>b</body>", "<input autofocus onfocus=alert(1)>",
      "<details open ontoggle=alert(1)>d</details>",
      "<form><button formaction=javascript:alert(1)>x</button></form>",
      "<math><maction actiontype=statusline xlink:href=javascript:alert(1)>x</maction></math>",
      "<math><annotation-xml encoding=\"text/html\"><img src=x onerror=alert(1)></annotation-xml></math>",
    ]
    for html in hostile {
      let out = clean(html)
      let lower = out.lowercased()
      for bad in [
        "<script", "javascript:", "onerror", "onload", "onclick", "onfocus", "ontoggle",
        "expression(", "<iframe", "<svg", "<maction", "xlink", "target=", "style=",
        "<annotation-xml",
      ] {
        XCTAssertFalse(lower.contains(bad), "\(bad) survived in \(out) (from \(html))")
      }
    }
    XCTAssertEqual(
      clean("<a href=\"http://ok.example/\" target=\"_blank\">ok</a>"),
      "<a href=\"http://ok.example/\">ok</a>")
  }

  func testBrokenMarkupRecovered() {
    XCTAssertEqual(clean("<p>unclosed <b>bold"), "<p>unclosed <b>bold</b></p>")
    XCTAssertEqual(clean("Leading text <b>and</b> tail"), "Leading text <b>and</b> tail")
    XCTAssertTrue(clean("<div><p>a<div>b</p></span></div>x < y").contains("x &lt; y"))
    XCTAssertTrue(clean("<![CDATA[x]]><!-- comment --><?php echo 1 ?>ok").hasSuffix("ok"))
  }

  func testWholeDocumentBodyOnly() {
    let out = clean(
      "<html><head><title>T</title><script>x()</script></head><body><p>body</p></body></html>")
    XCTAssertEqual(out, "<p>body</p>")
  }

  func testMetaCharsetInFragmentIgnored() {
    XCTAssertEqual(clean("<meta charset=\"windows-1257\"><p>Ąžuolas</p>"), "<p>Ąžuolas</p>")
  }

  func testDeepNestingDoesNotCrash() {
    let nested =
      String(repeating: "<div>", count: 100) + "x" + String(repeating: "</div>", count: 100)
    XCTAssertTrue(clean(nested).contains("x"))
    // Past 100 open elements tags are unwrapped (text kept), so that readers with libxml2's
    // 256-level limit can still read a feed embedding the content.
    let deep =
      String(repeating: "<div>", count: 100_000) + "x" + String(repeating: "</div>", count: 100_000)
    let start = Date()
    let out = HTMLSanitizer.sanitize(deep, baseURL: base)
    XCTAssertLessThan(Date().timeIntervalSince(start), 2)
    XCTAssertTrue(
      isWellFormedXML(out), "\(out.prefix(100))…\(out.suffix(100)) (\(out.utf8.count) bytes)")
    XCTAssertTrue(out.contains("x"))
    XCTAssertEqual(out.components(separatedBy: "<div>").count - 1, 100)
  }

  /// The SAX fast path (sanitize) and the tree walk (the scraper's content) must agree.
  func testStreamAndTreeWalkAgree() {
    let samples = [
      "<p>One <b>bold</b> <a href=\"/x?a=1&amp;b=2\">link</a><br>next</p><ul><li>a<li>b</ul>",
      "Leading <i>text</i><table><tr><td colspan=2>c</table><p>after",
      "<figure><img src=\"/a.jpg\" alt=\"A\" width=\"320\"><figcaption>cap</figcaption></figure>",
      "<div><script>x()</script><style>p{}</style><p onclick=\"x\" title=\"t\">ok</p></div>",
      "<img data-src=\"/lazy.jpg\" src=\"data:image/gif;base64,R0lGOD==\"><embed src=x><p>after embed</p>",
      "<pre><code>if (x &lt; 10 &amp;&amp; y &gt; 2) { }</code></pre><blockquote cite=\"/q\"><p>q</p></blockquote>",
      "<h2>T &amp; T</h2><p><em>e</em>&nbsp;&#8212; <strong>s</strong></p><hr><ol start=\"2\"><li>x</li></ol>",
      "<p>unclosed <b>bold <i>both</p>text<span>", "<svg><a href=\"/s\">s</a></svg>tail",
      "<p>\(String(repeating: "<span>", count: 150))deep\(String(repeating: "</span>", count: 150))</p>",
      // Many distinct names (the name caches must not mix up tags).
      (0..<100).map { "<x\($0)><p><em>e\($0)</em> t</p></x\($0)>" }.joined(),
    ]
    for html in samples {
      let stream = HTMLSanitizer.sanitize(html, baseURL: base)
      guard let doc = HTMLTree.parseFragment(html) else { return XCTFail("no tree for \(html)") }
      var writer = HTMLWriter(base: base, capacity: 256)
      doc.withMemoryRebound(to: xmlNode.self, capacity: 1) { writer.writeChildren(of: $0) }
      xmlFreeDoc(doc)
      XCTAssertEqual(stream, HTMLSanitizer.trimmed(writer.string), "for \(html)")
      XCTAssertTrue(isWellFormedXML(stream), stream)
    }
  }

  func testManyDistinctTagNames() {
    let html = (0..<200).map { "<x\($0)><p><em>e</em> t</p></x\($0)>" }.joined()
    XCTAssertEqual(clean(html), String(repeating: "<p><em>e</em> t</p>", count: 200))
  }

  func testPlainText() {
    XCTAssertEqual(HTMLSanitizer.plainText(fromHTML: "Simple title"), "Simple title")
    XCTAssertEqual(HTMLSanitizer.plainText(fromHTML: "  Spaced \n  title\t "), "Spaced title")
    XCTAssertEqual(
      HTMLSanitizer.plainText(fromHTML: "AT&amp;T &laquo;Q&raquo; &#8212; ok"), "AT&T «Q» — ok")
    XCTAssertEqual(HTMLSanitizer.plainText(fromHTML: "AT&T"), "AT&T")
    XCTAssertEqual(
      HTMLSanitizer.plainText(
        fromHTML: "<p>Naujiena <b>apie</b></p><p>klasterius</p><script>x()</script>"),
      "Naujiena apie klasterius")
    XCTAssertEqual(HTMLSanitizer.plainText(fromHTML: "a<br>b"), "a b")
    XCTAssertEqual(HTMLSanitizer.plainText(fromHTML: "x&nbsp;&nbsp;y"), "x y")
    XCTAssertEqual(HTMLSanitizer.plainText(fromHTML: "1 < 2"), "1 < 2")
  }

  // MARK: - Issue 13: C1 references, `<!` descriptions, MathML, SVG

  func testC1ReferencesMapAsHTML5() {
    // An old CMS's windows-1252 references, with markup, without markup, and already turned
    // into C1 controls by the XML parser.
    XCTAssertEqual(
      clean("<p>It&#146;s &#x93;new&#x94; &#150; &#128;5</p>"), "<p>It’s “new” – €5</p>")
    XCTAssertEqual(clean("It&#146;s &amp; more"), "It’s &amp; more")
    XCTAssertEqual(clean("It\u{92}s"), "It’s")
    XCTAssertEqual(clean("<p title=\"It&#146;s\">x\u{93}</p>"), "<p title=\"It’s\">x“</p>")
    XCTAssertEqual(HTMLSanitizer.plainText(fromHTML: "Don&#146;t <b>stop</b>"), "Don’t stop")
    // Unmapped C1 code points and a no-break space are left alone.
    XCTAssertEqual(clean("a\u{A0}b\u{81}"), "a\u{A0}b\u{81}")
  }

  func testDescriptionStartingWithMarkupDeclarationKeepsItsText() {
    XCTAssertEqual(
      clean("<!-- teaser --><p>Text after a comment</p>"), "<p>Text after a comment</p>")
    XCTAssertEqual(clean("<!-- teaser -->Bare text after a comment"), "Bare text after a comment")
    XCTAssertEqual(clean("<![CDATA[Left-over CDATA]]> and more"), "Left-over CDATA and more")
    XCTAssertEqual(
      clean(
        "<!--[if gte mso 9]><xml><w:WordDocument><w:View>Normal</w:View></w:WordDocument></xml>"
          + "<![endif]--><p class=\"MsoNormal\">Word text</p>"),
      "<p>Word text</p>")
    XCTAssertEqual(
      clean("<p><![if !supportLists]>1.<![endif]>Item</p>"), "<p>1.Item</p>")
    XCTAssertEqual(clean("<!DOCTYPE html><p>Doc</p>"), "<p>Doc</p>")
  }

  func testMathMLSurvives() {
    let formula =
      "<p>Energy: <math display=\"block\"><mrow><mi>E</mi><mo>=</mo><mi>m</mi>"
      + "<msup><mi>c</mi><mn>2</mn></msup></mrow></math></p>"
    XCTAssertEqual(clean(formula), formula)
    XCTAssertEqual(
      clean(
        "<math><mfrac linethickness=\"2\" onclick=\"x()\" style=\"color:red\"><mn>1</mn>"
          + "<msqrt><mi mathvariant=\"bold\">x</mi></msqrt></mfrac></math>"),
      "<math><mfrac linethickness=\"2\"><mn>1</mn><msqrt><mi mathvariant=\"bold\">x</mi>"
        + "</msqrt></mfrac></math>")
    XCTAssertEqual(
      clean(
        "<math><semantics><mi>x</mi><annotation encoding=\"application/x-tex\">x</annotation>"
          + "<annotation-xml encoding=\"text/html\"><a href=\"javascript:x\">y</a>"
          + "</annotation-xml></semantics></math>"),
      "<math><semantics><mi>x</mi><annotation encoding=\"application/x-tex\">x</annotation>"
        + "</semantics></math>")
    // Links and actions inside MathML go: `maction` is unwrapped, xlink:href dropped.
    XCTAssertEqual(
      clean(
        "<math><maction actiontype=\"statusline\"><mi xlink:href=\"javascript:x\">a</mi>"
          + "</maction></math>"),
      "<math><mi>a</mi></math>")
    XCTAssertEqual(
      HTMLSanitizer.plainText(fromHTML: "<math><mi>x</mi><mo>+</mo><mn>1</mn></math> is"),
      "x+1 is")
  }

  func testSVGIsRemovedButTheTextAroundItStays() {
    XCTAssertEqual(
      clean(
        "<p>Before <svg width=\"10\"><title>Logo</title><script>alert(1)</script>"
          + "<a href=\"javascript:x\"><text>inner</text></a><path d=\"M0 0\"/></svg> after.</p>"
          + "<p>Next</p>"),
      "<p>Before  after.</p><p>Next</p>")
    XCTAssertEqual(
      clean("Icon <svg viewBox=\"0 0 1 1\"/> kept, <svg><style>p{}</style></svg>too"),
      "Icon  kept, too")
    XCTAssertEqual(
      HTMLSanitizer.plainText(fromHTML: "Share <svg><use href=\"#i\"/></svg>this"), "Share this")
  }
}
