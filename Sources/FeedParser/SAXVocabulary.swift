/// Element codes of every vocabulary the reader acts on, and the one classification of a
/// (namespace, local name) pair into a code. The reader dispatches on `El.vocabulary` to one
/// handler per vocabulary (Vocabularies/*.swift); classification runs once per distinct name
/// per document (the reader caches it by libxml2's interned pointers), so the case-insensitive
/// fallback and the namespace variants cost nothing on the common path.
enum El: UInt8 {
  case other
  // Core RSS 0.9x/2.0 and RSS 1.0 (RDF), with the content module and xhtml:body.
  case rss, channel, item, title, link, description, language, copyright, managingEditor
  case webMaster, pubDate, lastBuildDate, category, generator, ttl, image, url, textInput, guid
  case author, comments, enclosure, source, rdfRDF, contentEncoded, xhtmlBody, html
  // Atom 1.0 and 0.3 (0.3 names map to 1.0 ones).
  case feed, entry, aTitle, aSubtitle, aLink, aId, aUpdated, aPublished, aCreated, aSummary
  case aContent, aAuthor, aContributor, aName, aEmail, aUri, aCategory, aGenerator, aIcon, aLogo
  case aRights, aSource
  // Dublin Core elements and DCMI terms.
  case dcCreator, dcDate, dcLanguage, dcRights, dcSubject, dcTitle, dcDescription, dcIdentifier
  case dcContributor, dcPublisher, dctModified, dctCreated, dctIssued
  // iTunes.
  case itAuthor, itOwner, itName, itEmail, itCategory, itKeywords, itSummary, itSubtitle, itImage
  case itExplicit, itDuration, itType, itEpisode, itSeason, itEpisodeType, itBlock
  // Media RSS.
  case mediaContent, mediaGroup, mediaTitle, mediaDescription, mediaThumbnail, mediaCategory
  case mediaKeywords, mediaCredit, mediaRating
  // GeoRSS simple, GeoRSS GML and W3C geo.
  case geoPoint, geoLine, geoPolygon, geoBox, geoFeatureName, geoWhere
  case gmlPoint, gmlLineString, gmlPolygon, gmlEnvelope, gmlPos, gmlPosList, gmlLowerCorner
  case gmlUpperCorner, w3Lat, w3Long, w3Point
  // Licences (Creative Commons RDF and the userland RSS module).
  case ccLicense
  // FeedBurner.
  case fbOrigLink, fbOrigEnclosureLink

  /// Which handler reads the element (codes are laid out by vocabulary).
  enum Vocabulary: UInt8 {
    case none, core, atom, dublinCore, itunes, media, geo, license, feedBurner
  }

  @inline(__always)
  var vocabulary: Vocabulary {
    let r = rawValue
    if r == 0 { return .none }
    if r < El.feed.rawValue { return .core }
    if r < El.dcCreator.rawValue { return .atom }
    if r < El.itAuthor.rawValue { return .dublinCore }
    if r < El.mediaContent.rawValue { return .itunes }
    if r < El.geoPoint.rawValue { return .media }
    if r < El.ccLicense.rawValue { return .geo }
    if r < El.fbOrigLink.rawValue { return .license }
    return .feedBurner
  }
}

/// Namespace URIs the reader knows.
enum NS {
  static let atom10 = "http://www.w3.org/2005/Atom"
  static let atom03 = "http://purl.org/atom/ns#"
  static let rss10 = "http://purl.org/rss/1.0/"
  static let rss090 = "http://my.netscape.com/rdf/simple/0.9/"
  static let rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  static let dc = "http://purl.org/dc/elements/1.1/"
  static let dcterms = "http://purl.org/dc/terms/"
  static let content = "http://purl.org/rss/1.0/modules/content/"
  static let media = "http://search.yahoo.com/mrss/"
  static let xhtml = "http://www.w3.org/1999/xhtml"
  static let itunes = "http://www.itunes.com/dtds/podcast-1.0.dtd"
  static let georss = "http://www.georss.org/georss"
  static let gml = "http://www.opengis.net/gml"
  static let w3geo = "http://www.w3.org/2003/01/geo/wgs84_pos#"
  static let ccWeb = "http://web.resource.org/cc/"
  static let ccNS = "http://creativecommons.org/ns#"
  static let ccRSS = "http://backend.userland.com/creativeCommonsRssModule"
  static let feedburner = "http://rssnamespace.org/feedburner/ext/1.0"

  /// The scheme given to iTunes categories and keywords (as feedparser does).
  static let itunesScheme = "http://www.itunes.com/"
  /// Media RSS's default `media:category` scheme.
  static let mediaCategoryScheme = "http://search.yahoo.com/mrss/category_schema"

  static let rssNames: [String: El] = [
    "rss": .rss, "channel": .channel, "item": .item, "title": .title, "link": .link,
    "description": .description, "language": .language, "copyright": .copyright,
    "managingEditor": .managingEditor, "webMaster": .webMaster, "pubDate": .pubDate,
    "lastBuildDate": .lastBuildDate, "category": .category, "generator": .generator, "ttl": .ttl,
    "image": .image, "url": .url, "textInput": .textInput, "guid": .guid, "author": .author,
    "comments": .comments, "enclosure": .enclosure, "source": .source,
  ]
  static let atomNames: [String: El] = [
    "feed": .feed, "entry": .entry, "title": .aTitle, "subtitle": .aSubtitle, "tagline": .aSubtitle,
    "link": .aLink, "id": .aId, "updated": .aUpdated, "modified": .aUpdated,
    "published": .aPublished, "issued": .aPublished, "created": .aCreated, "summary": .aSummary,
    "content": .aContent, "author": .aAuthor, "contributor": .aContributor, "name": .aName,
    "email": .aEmail, "uri": .aUri, "url": .aUri, "homepage": .aUri, "category": .aCategory,
    "generator": .aGenerator, "icon": .aIcon, "logo": .aLogo, "rights": .aRights,
    "copyright": .aRights, "source": .aSource,
  ]
  static let dcNames: [String: El] = [
    "creator": .dcCreator, "author": .dcCreator, "date": .dcDate, "language": .dcLanguage,
    "rights": .dcRights, "subject": .dcSubject, "title": .dcTitle, "description": .dcDescription,
    "identifier": .dcIdentifier, "contributor": .dcContributor, "publisher": .dcPublisher,
  ]
  static let dctermsNames: [String: El] = [
    "modified": .dctModified, "created": .dctCreated, "issued": .dctIssued, "date": .dcDate,
    "rights": .dcRights, "creator": .dcCreator, "language": .dcLanguage, "subject": .dcSubject,
    "title": .dcTitle, "description": .dcDescription, "abstract": .dcDescription,
    "identifier": .dcIdentifier, "contributor": .dcContributor, "publisher": .dcPublisher,
  ]
  static let itunesNames: [String: El] = [
    "author": .itAuthor, "owner": .itOwner, "name": .itName, "email": .itEmail,
    "category": .itCategory, "keywords": .itKeywords, "summary": .itSummary,
    "subtitle": .itSubtitle, "image": .itImage, "explicit": .itExplicit,
    "duration": .itDuration, "type": .itType, "episode": .itEpisode, "season": .itSeason,
    "episodeType": .itEpisodeType, "block": .itBlock,
  ]
  static let mediaNames: [String: El] = [
    "content": .mediaContent, "group": .mediaGroup, "title": .mediaTitle,
    "description": .mediaDescription, "thumbnail": .mediaThumbnail, "category": .mediaCategory,
    "keywords": .mediaKeywords, "credit": .mediaCredit, "rating": .mediaRating,
  ]
  static let georssNames: [String: El] = [
    "point": .geoPoint, "line": .geoLine, "polygon": .geoPolygon, "box": .geoBox,
    "featurename": .geoFeatureName, "featureName": .geoFeatureName, "where": .geoWhere,
  ]
  static let gmlNames: [String: El] = [
    "Point": .gmlPoint, "LineString": .gmlLineString, "Polygon": .gmlPolygon,
    "Envelope": .gmlEnvelope, "pos": .gmlPos, "posList": .gmlPosList,
    "lowerCorner": .gmlLowerCorner, "upperCorner": .gmlUpperCorner,
    // Polygon/exterior/LinearRing/posList: the wrappers between are walked through.
    "exterior": .gmlPolygon, "LinearRing": .gmlPolygon,
  ]
  static let w3geoNames: [String: El] = ["lat": .w3Lat, "long": .w3Long, "Point": .w3Point]

  /// The same tables keyed by lowercased name: the fallback for `<pubdate>`, `<Description>`,
  /// `<dc:Creator>` when the exact name is unknown.
  static let rssLower = lowered(rssNames)
  static let atomLower = lowered(atomNames)
  static let dcLower = lowered(dcNames)
  static let dctermsLower = lowered(dctermsNames)
  static let itunesLower = lowered(itunesNames)
  static let mediaLower = lowered(mediaNames)

  static func lowered(_ table: [String: El]) -> [String: El] {
    var out: [String: El] = [:]
    for (k, v) in table where out[k.lowercased()] == nil { out[k.lowercased()] = v }
    return out
  }

  @inline(__always)
  static func lookup(_ exact: [String: El], _ lower: [String: El], _ local: String) -> El {
    exact[local] ?? lower[local.lowercased()] ?? .other
  }

  /// Classifies a (namespace, local name) pair; the slow path behind the reader's pointer
  /// cache. `atomURI` is the namespace (nil for none) of a root `<feed>` that is read as Atom
  /// without Atom's namespace: its elements then take Atom's names.
  static func classify(uri: String?, local: String, atomURI: String?? = .none) -> El {
    if let atomURI, uri == atomURI { return lookup(atomNames, atomLower, local) }
    if local == "html" && (uri == nil || uri == xhtml) { return .html }
    switch uri {
    case nil, rss10?, rss090?, "http://backend.userland.com/rss2"?,
      "http://blogs.law.harvard.edu/tech/rss"?:
      return lookup(rssNames, rssLower, local)
    case atom10?, atom03?: return lookup(atomNames, atomLower, local)
    case dc?: return lookup(dcNames, dcLower, local)
    case dcterms?: return lookup(dctermsNames, dctermsLower, local)
    case content?: return local.lowercased() == "encoded" ? .contentEncoded : .other
    case media?, "http://search.yahoo.com/mrss"?: return lookup(mediaNames, mediaLower, local)
    case rdf?: return local == "RDF" ? .rdfRDF : .other
    case xhtml?: return local == "body" || local == "div" ? .xhtmlBody : .other
    case georss?, "http://www.georss.org/georss/10"?: return georssNames[local] ?? .other
    case gml?: return gmlNames[local] ?? .other
    case w3geo?: return w3geoNames[local] ?? .other
    // `cc:License` (capital L) is the licence's own description, not a reference to it.
    case ccWeb?, ccNS?, ccRSS?: return local == "license" ? .ccLicense : .other
    case feedburner?:
      switch local {
      case "origLink": return .fbOrigLink
      case "origEnclosureLink": return .fbOrigEnclosureLink
      default: return .other
      }
    case let u?:
      // iTunes' namespace is written in several cases (`…/DTDs/Podcast-1.0.dtd`) and schemes.
      if isITunes(u) { return lookup(itunesNames, itunesLower, local) }
      return .other
    }
  }

  static func isITunes(_ uri: String) -> Bool {
    let u = uri.lowercased()
    return u == itunes || u == "https://www.itunes.com/dtds/podcast-1.0.dtd"
  }
}
