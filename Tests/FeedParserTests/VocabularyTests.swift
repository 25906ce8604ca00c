import FeedModel
import Foundation
import XCTest

@testable import FeedParser

/// Dublin Core / DCMI terms, iTunes, Media RSS, GeoRSS, W3C geo and per-element xml:lang.
final class VocabularyTests: XCTestCase {
  func testDublinCoreAndDCMITerms() throws {
    let f = try FeedFixtures.parse("drupal-people.xml").feed
    XCTAssertEqual(f.rights, "© 2020 VšĮ Klasteris")
    XCTAssertEqual(f.published, FeedFixtures.date("2019-01-15T00:00:00Z"))
    XCTAssertEqual(f.updated, FeedFixtures.date("2020-06-02T10:00:00Z"))
    XCTAssertEqual(f.categories, [Category(term: "Verslas")])
    let e = f.entries[0]
    XCTAssertEqual(e.link, "https://drupal.example.lt/node/42")
    XCTAssertEqual(e.comments, "https://drupal.example.lt/node/42#comments")
    XCTAssertEqual(e.rights, "CC BY 4.0")
    XCTAssertEqual(e.created, FeedFixtures.date("2020-05-30T08:00:00Z"))
    XCTAssertEqual(e.published, FeedFixtures.date("2020-05-30T08:00:00Z"))
    XCTAssertEqual(e.updated, FeedFixtures.date("2020-06-01T08:00:00Z"))
    XCTAssertEqual(e.categories.map(\.term), ["Renginiai"])
    XCTAssertTrue(e.summary?.value.contains("https://drupal.example.lt/renginiai") ?? false)
    let second = f.entries[1]
    XCTAssertEqual(second.published, FeedFixtures.date("2020-05-20T08:00:00Z"))
    XCTAssertEqual(second.created, FeedFixtures.date("2020-05-19T08:00:00Z"))
    XCTAssertEqual(second.language, "en")
  }

  func testITunesPodcast() throws {
    let p = try FeedFixtures.parse("podcast.xml")
    let f = p.feed
    let it = try XCTUnwrap(f.itunes)
    XCTAssertEqual(it.subtitle, "Pokalbiai apie inovacijas")
    XCTAssertEqual(it.summary, "Kas dvi savaites – pokalbis su klasterio vadovu.")
    XCTAssertEqual(it.image, "https://podcast.example.lt/art.jpg")
    XCTAssertEqual(it.explicit, false)
    XCTAssertEqual(it.type, "episodic")
    XCTAssertEqual(it.keywords, ["inovacijos", "klasteriai", "verslas"])
    XCTAssertEqual(f.logo, "https://podcast.example.lt/art.jpg")
    XCTAssertEqual(f.subtitle, "Pokalbiai apie inovacijas")
    let scheme = "http://www.itunes.com/"
    XCTAssertEqual(
      f.categories,
      ["Technology", "Business", "Entrepreneurship", "inovacijos", "klasteriai", "verslas"].map {
        Category(term: $0, scheme: scheme)
      })
    let e = f.entries[0]
    let ei = try XCTUnwrap(e.itunes)
    XCTAssertEqual(ei.duration, 3723)
    XCTAssertEqual(ei.explicit, true)
    XCTAssertEqual(ei.episode, 1)
    XCTAssertEqual(ei.season, 2)
    XCTAssertEqual(ei.type, "full")
    XCTAssertEqual(ei.block, false)
    XCTAssertEqual(ei.image, "https://podcast.example.lt/ep1.jpg")
    XCTAssertEqual(ei.keywords, ["lazeriai", "fotonika"])
    XCTAssertEqual(
      e.enclosures,
      [
        Enclosure(
          url: "https://podcast.example.lt/ep1.mp3", type: "audio/mpeg", length: 34_567_890,
          duration: 3723)
      ])
    XCTAssertEqual(e.summary, .html("Apie <b>lazerių</b> klasterį."))
    XCTAssertEqual(e.categories.map(\.term), ["lazeriai", "fotonika"])
    XCTAssertEqual(f.entries[1].itunes?.duration, 2730)
    XCTAssertEqual(f.entries[1].itunes?.explicit, false)
    XCTAssertEqual(f.entries[2].itunes?.duration, 3723)
    XCTAssertEqual(f.entries[2].itunes?.type, "trailer")
  }

  func testDurationAndBooleanForms() {
    XCTAssertEqual(FeedSAXReader.duration("1:02:03"), 3723)
    XCTAssertEqual(FeedSAXReader.duration("02:03"), 123)
    XCTAssertEqual(FeedSAXReader.duration("95"), 95)
    XCTAssertEqual(FeedSAXReader.duration("95.5"), 95.5)
    XCTAssertNil(FeedSAXReader.duration("soon"))
    XCTAssertNil(FeedSAXReader.duration("1:2:3:4"))
    for yes in ["yes", "True", "explicit"] { XCTAssertEqual(FeedSAXReader.itunesBool(yes), true) }
    for no in ["no", "FALSE", "clean"] { XCTAssertEqual(FeedSAXReader.itunesBool(no), false) }
    XCTAssertNil(FeedSAXReader.itunesBool("maybe"))
  }

  func testMediaRSSGroupGallery() throws {
    let f = try FeedFixtures.parse("media-gallery.xml").feed
    XCTAssertEqual(f.categories, [Category(term: "Renginiai", scheme: "urn:foto")])
    let e = try XCTUnwrap(f.entries.first)
    XCTAssertEqual(
      e.enclosures,
      [
        // The <enclosure> and the media:content of the same file are one enclosure.
        Enclosure(
          url: "https://foto.example.lt/1.jpg", type: "image/jpeg", length: 5000, medium: "image",
          width: 1600, height: 1200),
        Enclosure(
          url: "https://foto.example.lt/2.jpg", type: "image/jpeg", medium: "image", width: 1200,
          height: 1600),
        Enclosure(
          url: "https://foto.example.lt/klipas.mp4", type: "video/mp4", length: 7_340_032,
          medium: "video", duration: 95),
      ])
    let media = try XCTUnwrap(e.media)
    XCTAssertEqual(media.title, "Forumo akimirkos")
    XCTAssertEqual(media.description?.type, .html)
    let description = try XCTUnwrap(media.description?.value)
    XCTAssertTrue(description.contains("<b>salėje</b>"), description)
    XCTAssertFalse(description.contains("script"), description)
    XCTAssertEqual(
      media.thumbnails,
      [
        Thumbnail(url: "https://foto.example.lt/1-t.jpg", width: 160, height: 120),
        Thumbnail(url: "https://foto.example.lt/2-t.jpg", width: 120, height: 160),
      ])
    XCTAssertEqual(media.credits, ["Jonas Fotografas"])
    XCTAssertEqual(media.rating, "nonadult")
    XCTAssertEqual(
      e.categories,
      [
        Category(
          term: "business/events", scheme: "http://search.yahoo.com/mrss/category_schema",
          label: "Verslas"),
        Category(term: "conference", scheme: "http://search.yahoo.com/mrss/category_schema"),
        Category(term: "forumas"), Category(term: "klasteriai"), Category(term: "Vilnius"),
      ])
  }

  func testGeoRSSSimpleGMLAndW3C() throws {
    let f = try FeedFixtures.parse("blogger-atom.xml").feed
    XCTAssertEqual(
      f.entries[0].geo,
      GeoLocation(shape: .point, coordinates: [55.7033, 21.1443], featureName: "Klaipėda, Lietuva"))
    XCTAssertEqual(
      f.entries[1].geo,
      GeoLocation(shape: .polygon, coordinates: [55, 21, 55, 22, 56, 22, 55, 21]))
    XCTAssertEqual(f.entries[2].geo, GeoLocation(shape: .point, coordinates: [54.6872, 25.2797]))
    XCTAssertEqual(f.entries[3].geo, GeoLocation(shape: .box, coordinates: [54, 23, 55, 24.5]))
    XCTAssertEqual(
      f.entries[4].geo, GeoLocation(shape: .line, coordinates: [54, 23, 54.5, 23.5, 55, 24]))
    let rdf = try FeedFixtures.parse("rss10-outside.rdf").feed
    XCTAssertEqual(rdf.entries[0].geo, GeoLocation(shape: .point, coordinates: [54.8985, 23.9036]))
    XCTAssertEqual(rdf.entries[1].geo, GeoLocation(shape: .point, coordinates: [55.9, 21.1]))
    XCTAssertEqual(rdf.entries[0].updated, FeedFixtures.date("2020-06-01T12:00:00Z"))
  }

  func testPerElementLanguageAndEntryRights() throws {
    let f = try FeedFixtures.parse("blogger-atom.xml").feed
    XCTAssertEqual(f.language, "lt")
    XCTAssertEqual(f.subtitle, "Jūrinis klasteris")
    let e = f.entries[0]
    XCTAssertNil(e.language)
    XCTAssertEqual(e.titleLanguage, "en")
    XCTAssertEqual(e.content?.language, "en")
    XCTAssertNil(e.summary?.language, "the summary is in the entry's language")
    XCTAssertEqual(e.rights, "CC BY 4.0")
    // Same language as the feed: nothing to say.
    XCTAssertNil(f.entries[1].titleLanguage)
  }
}
