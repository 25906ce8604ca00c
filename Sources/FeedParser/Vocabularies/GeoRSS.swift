import FeedModel
import Foundation

/// GeoRSS Simple (`georss:point|line|polygon|box|featurename`), GeoRSS GML (`georss:where` with
/// `gml:Point/pos`, `gml:LineString/posList`, `gml:Polygon/…/posList`, `gml:Envelope` corners)
/// and W3C geo (`geo:lat`, `geo:long`, `geo:Point`) of an item: `Entry.geo`.
extension FeedSAXReader {
  func startGeo(_ c: El, in container: Container, _ t: Tag) -> Container {
    switch container {
    case .entry:
      switch c {
      case .geoPoint, .geoLine, .geoPolygon, .geoBox, .geoFeatureName, .w3Lat, .w3Long:
        return capture(.text, t)
      case .geoWhere:
        gmlShape = .point
        gmlCorners = []
        return .geo
      case .w3Point:
        return .geo
      default:
        return .skip
      }
    case .geo:
      switch c {
      case .gmlPoint: gmlShape = .point
      case .gmlLineString: gmlShape = .line
      case .gmlPolygon: gmlShape = .polygon
      case .gmlEnvelope:
        gmlShape = .box
        gmlCorners = []
      case .gmlPos, .gmlPosList, .gmlLowerCorner, .gmlUpperCorner, .w3Lat, .w3Long:
        return capture(.text, t)
      default: return .skip
      }
      return .geo
    default:
      return .skip
    }
  }

  func finishGeo(_ code: El, _ value: String, in container: Container) {
    guard container == .entry || container == .geo else { return }
    switch code {
    case .geoPoint: setGeo(.point, FeedSAXReader.coordinates(value))
    case .geoLine: setGeo(.line, FeedSAXReader.coordinates(value))
    case .geoPolygon: setGeo(.polygon, FeedSAXReader.coordinates(value))
    case .geoBox: setGeo(.box, FeedSAXReader.coordinates(value))
    case .gmlPos: setGeo(.point, FeedSAXReader.coordinates(value))
    case .gmlPosList:
      setGeo(gmlShape == .polygon ? .polygon : .line, FeedSAXReader.coordinates(value))
    case .gmlLowerCorner, .gmlUpperCorner:
      guard let c = FeedSAXReader.coordinates(value), c.count == 2 else { return }
      gmlCorners += c
      if gmlCorners.count == 4 { setGeo(.box, gmlCorners) }
    case .geoFeatureName:
      current.geoFeatureName = collapse(value)
    case .w3Lat:
      current.geoLat = trimmed(value).flatMap { Double($0) }.flatMap { abs($0) <= 90 ? $0 : nil }
    case .w3Long:
      current.geoLong = trimmed(value).flatMap { Double($0) }.flatMap { abs($0) <= 180 ? $0 : nil }
    default: break
    }
  }

  /// Keeps the first well-formed location of the entry: a point is one pair, a box two, a line
  /// at least two pairs, a polygon at least three.
  func setGeo(_ shape: GeoLocation.Shape, _ coordinates: [Double]?) {
    guard current.entry.geo == nil, let c = coordinates, c.count % 2 == 0 else { return }
    switch shape {
    case .point: guard c.count == 2 else { return }
    case .box: guard c.count == 4 else { return }
    case .line: guard c.count >= 4 else { return }
    case .polygon: guard c.count >= 6 else { return }
    }
    for i in stride(from: 0, to: c.count, by: 2) where abs(c[i]) > 90 || abs(c[i + 1]) > 180 {
      return
    }
    current.entry.geo = GeoLocation(shape: shape, coordinates: c)
  }

  /// Numbers separated by whitespace (or commas, which some feeds write between pairs).
  static func coordinates(_ s: String) -> [Double]? {
    var out: [Double] = []
    for part in s.split(whereSeparator: {
      $0 == " " || $0 == "," || $0 == "\n" || $0 == "\t" || $0 == "\r"
    }) {
      guard let v = Double(part), v.isFinite else { return nil }
      out.append(v)
    }
    return out.isEmpty ? nil : out
  }

  /// At the entry's end: W3C geo pairs, and the feature name on whatever location was found.
  func finishGeoEntry(_ r: inout RawEntry) {
    if r.entry.geo == nil, let lat = r.geoLat, let long = r.geoLong {
      r.entry.geo = GeoLocation(shape: .point, coordinates: [lat, long])
    }
    if let name = r.geoFeatureName, r.entry.geo != nil { r.entry.geo?.featureName = name }
  }
}
