import FeedModel
import Foundation
import XCTest

@testable import FeedParser

/// `PersonParser` in every form feeds write people in, and the people of whole feeds.
final class PeopleTests: XCTestCase {
  func testEveryTextForm() {
    let cases: [(String, Person?)] = [
      ("jo@example.lt (Jo Doe)", Person(name: "Jo Doe", email: "jo@example.lt")),
      ("Jo Doe (jo@example.lt)", Person(name: "Jo Doe", email: "jo@example.lt")),
      ("Jo Doe <jo@example.lt>", Person(name: "Jo Doe", email: "jo@example.lt")),
      ("<jo@example.lt>", Person(email: "jo@example.lt")),
      ("mailto:jo@example.lt", Person(email: "jo@example.lt")),
      ("Jo Doe (mailto:jo@example.lt)", Person(name: "Jo Doe", email: "jo@example.lt")),
      ("jo@example.lt", Person(email: "jo@example.lt")),
      ("Jo Doe", Person(name: "Jo Doe")),
      ("  Rūta \n Žemaitytė ", Person(name: "Rūta Žemaitytė")),
      (
        "\"Jo Doe\" <jo.doe+feeds@mail.example.co.uk>",
        Person(name: "Jo Doe", email: "jo.doe+feeds@mail.example.co.uk")
      ),
      ("(Jo Doe)", Person(name: "Jo Doe")),
      ("Jo Doe - jo@example.lt", Person(name: "Jo Doe", email: "jo@example.lt")),
      ("Twitter @handle", Person(name: "Twitter @handle")),
      ("   ", nil),
    ]
    for (input, expected) in cases {
      XCTAssertEqual(PersonParser.parse(input), expected, input)
    }
  }

  func testDrupalFeedPeople() throws {
    let f = try FeedFixtures.parse("drupal-people.xml").feed
    XCTAssertEqual(f.authors, [Person(name: "Redakcija", email: "redakcija@drupal.example.lt")])
    XCTAssertEqual(
      f.webMaster, Person(name: "Tinklo Meistras", email: "webmaster@drupal.example.lt"))
    XCTAssertEqual(f.publisher, Person(name: "VšĮ Klasteris"))
    XCTAssertEqual(f.contributors, [Person(email: "pagalba@drupal.example.lt")])
    let e = f.entries[0]
    // `author` and `dc:creator` naming the same person are one author.
    XCTAssertEqual(e.authors, [Person(name: "Petras Petraitis", email: "petras@drupal.example.lt")])
    XCTAssertEqual(e.contributors, [Person(email: "ona@drupal.example.lt")])
    XCTAssertEqual(e.publisher, Person(name: "Redakcija"))
  }

  func testAtomPeopleWithOnlyEmailOrURIAreKept() throws {
    let f = try FeedFixtures.parse("blogger-atom.xml").feed
    XCTAssertEqual(
      f.authors,
      [
        Person(
          name: "Jūratė", email: "noreply@blogger.com", uri: "https://www.blogger.com/profile/42")
      ])
    XCTAssertEqual(f.contributors, [Person(email: "pagalba@klaipeda.example.lt")])
    XCTAssertEqual(
      f.entries[0].contributors,
      [Person(uri: "https://klaipeda.example.lt/~jonas"), Person(email: "ona@klaipeda.example.lt")])
  }

  func testAtom03URLAndHomepageBecomeURI() throws {
    let xml = """
      <feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>T</title>
      <author><name>A</name><url>https://a.example.lt/</url></author>
      <entry><title>E</title><id>x</id><author><name>B</name><homepage>/b</homepage></author></entry>
      </feed>
      """
    let p = try FeedParser.parse(Data(xml.utf8), baseURL: URL(string: "https://b.example.lt/feed"))
    XCTAssertEqual(p.format, .atom03)
    XCTAssertEqual(p.feed.authors, [Person(name: "A", uri: "https://a.example.lt/")])
    XCTAssertEqual(p.feed.entries[0].authors, [Person(name: "B", uri: "https://b.example.lt/b")])
  }

  func testWordPressCreatorsAndITunesOwner() throws {
    let f = try FeedFixtures.parse("wordpress-dc-hub.xml").feed
    XCTAssertEqual(f.entries[0].authors, [Person(name: "Rūta Žemaitytė")])
    XCTAssertEqual(
      f.entries[1].authors, [Person(name: "Jonas Jonaitis"), Person(name: "Rūta Žemaitytė")])
    let podcast = try FeedFixtures.parse("podcast.xml").feed
    XCTAssertEqual(podcast.authors, [Person(name: "Klasterių tinklas")])
    XCTAssertEqual(
      podcast.itunes?.owner, Person(name: "Ona Onaitė", email: "ona@podcast.example.lt"))
    XCTAssertEqual(podcast.entries[0].authors, [Person(name: "Klasterių tinklas")])
  }
}
