import XCTest

@testable import WebText

final class URLSafetyTests: XCTestCase {
  func testClassifyReadsSchemesAsBrowsersDo() {
    XCTAssertEqual(URLSafety.classify("javascript:alert(1)"), .script)
    XCTAssertEqual(URLSafety.classify("JaVaScRiPt:alert(1)"), .script)
    XCTAssertEqual(URLSafety.classify("java\tscript:alert(1)"), .script)
    XCTAssertEqual(URLSafety.classify("java\nscript:x"), .script)
    XCTAssertEqual(URLSafety.classify("\u{1} javascript:x"), .script)
    XCTAssertEqual(URLSafety.classify("vbscript:msgbox"), .script)
    XCTAssertEqual(URLSafety.classify("javascripts:x"), .absolute)
    XCTAssertEqual(URLSafety.classify("https://example.lt/a"), .absolute)
    XCTAssertEqual(URLSafety.classify("mailto:a@b.lt"), .absolute)
    XCTAssertEqual(URLSafety.classify("/naujienos/1"), .relative)
    XCTAssertEqual(URLSafety.classify("1http:x"), .relative)
    XCTAssertEqual(URLSafety.classify(":x"), .relative)
    XCTAssertEqual(URLSafety.classify("a b:c"), .relative)
    XCTAssertEqual(URLSafety.classify("Įmonė:apie"), .relative)
    XCTAssertEqual(URLSafety.classify(""), .relative)
  }

  func testClassifyBytesMatchesString() {
    for s in ["javascript:x", "http://a", "x/y", "  vbscript:z"] {
      var copy = s
      let bytes = copy.withUTF8 { URLSafety.classify($0) }
      XCTAssertEqual(bytes, URLSafety.classify(s), s)
    }
  }

  func testScheme() {
    XCTAssertEqual(URLSafety.scheme(of: "HTTPS://x"), "https")
    XCTAssertEqual(URLSafety.scheme(of: "svn+ssh://x"), "svn+ssh")
    XCTAssertNil(URLSafety.scheme(of: "/a:b"))
    XCTAssertNil(URLSafety.scheme(of: "no-colon"))
  }

  func testWebLinkKeepsOnlyHTTP() {
    XCTAssertEqual(URLSafety.webLink("  https://a.lt/x \n"), "https://a.lt/x")
    XCTAssertEqual(URLSafety.webLink("HTTP://a.lt/"), "HTTP://a.lt/")
    XCTAssertNil(URLSafety.webLink("javascript:alert(1)"))
    XCTAssertNil(URLSafety.webLink("data:text/html,x"))
    XCTAssertNil(URLSafety.webLink("ftp://a.lt/"))
    XCTAssertNil(URLSafety.webLink("/relative"))
    XCTAssertNil(URLSafety.webLink("http:relative"))
    XCTAssertNil(URLSafety.webLink("httpx://a"))
    XCTAssertNil(URLSafety.webLink("   "))
    XCTAssertNil(URLSafety.webLink(nil))
  }

  func testImageData() {
    XCTAssertTrue(URLSafety.isImageData("data:image/png;base64,AAAA"))
    XCTAssertTrue(URLSafety.isImageData("DATA:image/jpeg,x"))
    XCTAssertFalse(URLSafety.isImageData("data:image/svg+xml,<svg/>"))
    XCTAssertFalse(URLSafety.isImageData("data:text/html,x"))
  }
}

final class C1ControlsTests: XCTestCase {
  func testRemapsAsHTML5() {
    XCTAssertEqual(
      C1Controls.remap("It\u{92}s \u{93}quoted\u{94} \u{96} \u{80}5"), "It’s “quoted” – €5")
    XCTAssertEqual(C1Controls.remap("\u{8A}\u{9F}"), "ŠŸ")
    // Code points windows-1252 leaves undefined stay as they are.
    XCTAssertEqual(
      C1Controls.remap("\u{81}\u{8D}\u{8F}\u{90}\u{9D}"), "\u{81}\u{8D}\u{8F}\u{90}\u{9D}")
    XCTAssertEqual(C1Controls.remap("plain ąčę"), "plain ąčę")
    XCTAssertEqual(C1Controls.remap(scalar: 0x92), 0x2019)
    XCTAssertEqual(C1Controls.remap(scalar: 0xA0), 0xA0)
  }
}

final class HTMLEntitiesTests: XCTestCase {
  func testNamedAndNumeric() {
    XCTAssertEqual(HTMLEntities.decode("AT&amp;T &laquo;Q&raquo; &#8212; &#x2014;"), "AT&T «Q» — —")
    XCTAssertEqual(HTMLEntities.decode("&#146;&#x93;&#X94;&#150;"), "’“”–")
    XCTAssertEqual(HTMLEntities.decode("&apos;&hellip;&NotEqualTilde;"), "'…\u{2242}\u{338}")
    XCTAssertEqual(HTMLEntities.decode("&#0;&#xD800;&#x110000;"), "\u{FFFD}\u{FFFD}\u{FFFD}")
    XCTAssertEqual(HTMLEntities.decode("AT&T &nosuch; &amp &#12"), "AT&T &nosuch; &amp &#12")
    XCTAssertEqual(HTMLEntities.value(named: "eacute"), "é")
    XCTAssertNil(HTMLEntities.value(named: "EACUTE"))
    XCTAssertGreaterThan(HTMLEntities.table.count, 2000)
  }
}

final class HTMLTextTests: XCTestCase {
  func testPlainText() {
    XCTAssertEqual(HTMLText.plainText("Simple title"), "Simple title")
    XCTAssertEqual(HTMLText.plainText("  Spaced \n  title\t "), "Spaced title")
    XCTAssertEqual(HTMLText.plainText("a<br>b<p>c</p>d"), "a b c d")
    XCTAssertEqual(HTMLText.plainText("<b>bold</b>face"), "boldface")
    XCTAssertEqual(HTMLText.plainText("1 < 2 and 3 <= 4"), "1 < 2 and 3 <= 4")
    XCTAssertEqual(HTMLText.plainText("x&nbsp;&nbsp;y"), "x y")
    XCTAssertEqual(
      HTMLText.plainText("<p>Naujiena <b>apie</b></p><p>klasterius</p><script>x()</script>"),
      "Naujiena apie klasterius")
  }

  func testDroppedContentAndAttributes() {
    XCTAssertEqual(
      HTMLText.plainText("a<script>if (x < y && \"</p>\") {}</script>b"), "a b")
    XCTAssertEqual(HTMLText.plainText("a<style>p > b { }</style>b"), "a b")
    XCTAssertEqual(
      HTMLText.plainText("<a title=\"x > y\" href='/q?a>b'>link</a> text"), "link text")
    XCTAssertEqual(
      HTMLText.plainText("before <svg><svg><title>t</title></svg><script>s()</script></svg> after"),
      "before after")
    XCTAssertEqual(HTMLText.plainText("icon <svg viewBox=\"0 0 1 1\"/> kept"), "icon kept")
    XCTAssertEqual(HTMLText.plainText("<o:p>Word</o:p> text"), "Word text")
  }

  func testMarkupDeclarationsKeepTheirText() {
    XCTAssertEqual(
      HTMLText.plainText("<!-- teaser -->Text after a comment"), "Text after a comment")
    XCTAssertEqual(
      HTMLText.plainText("<![CDATA[Left-over CDATA]]> and more"), "Left-over CDATA and more")
    XCTAssertEqual(
      HTMLText.plainText(
        "<!--[if gte mso 9]><xml><w:WordDocument></w:WordDocument></xml><![endif]-->Word text"),
      "Word text")
    XCTAssertEqual(HTMLText.plainText("<![if !supportLists]>·<![endif]>Item"), "·Item")
    XCTAssertEqual(HTMLText.plainText("<!DOCTYPE html><p>Doc</p>"), "Doc")
    XCTAssertEqual(HTMLText.plainText("<?xml version=\"1.0\"?>PI"), "PI")
  }

  func testC1AndReferences() {
    XCTAssertEqual(HTMLText.plainText("It&#146;s &#x93;new&#x94;"), "It’s “new”")
    XCTAssertEqual(HTMLText.plainText("It\u{92}s"), "It’s")
    XCTAssertEqual(HTMLText.plainText("<p>It\u{92}s</p>"), "It’s")
    XCTAssertEqual(HTMLText.plainText("a\u{1}b\u{7F}c\u{FFFE}"), "abc")
  }

  func testCut() {
    XCTAssertEqual(
      HTMLText.plainText("<p>one two three four five</p>", limit: 12), "one two…")
    XCTAssertEqual(HTMLText.plainText("abcdefghijkl", limit: 5), "abcde…")
    XCTAssertEqual(HTMLText.plainText("short", limit: 5), "short")
  }

  func testCollapseAndTrim() {
    XCTAssertEqual(HTMLText.collapseWhitespace(" a \u{A0} b\n"), "a b")
    XCTAssertEqual(HTMLText.trimmed("\u{3000} x \n"), "x")
    XCTAssertEqual(HTMLText.trimmed(" \n"), "")
  }
}

final class MarkedSectionTests: XCTestCase {
  func testResolvingMarkedSections() {
    XCTAssertNil(HTMLText.resolvingMarkedSections("<p>nothing</p>"))
    XCTAssertEqual(HTMLText.resolvingMarkedSections("<![CDATA[a < b & c]]>!"), "a &lt; b &amp; c!")
    XCTAssertEqual(HTMLText.resolvingMarkedSections("<p><![if !x]>1.<![endif]>I</p>"), "<p>1.I</p>")
    XCTAssertEqual(
      HTMLText.resolvingMarkedSections("<!--[if mso]><![endif]-->x<![endif]>"),
      "<!--[if mso]><![endif]-->x")
  }
}
