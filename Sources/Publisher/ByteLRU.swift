/// A least-recently-used map bounded by the total cost of its values in bytes and by its entry
/// count, with two lanes: entries put in the `.expendable` lane (paged documents, known 404s —
/// whatever a client can mint without limit) are evicted before any `.primary` entry, and may
/// together use at most `expendableBytes`. So walking 20 000 distinct `?before=` cursors can evict
/// only other pages, never the merged feed.
///
/// Cost is what the caller says an entry holds (its bytes plus an estimate of the per-entry
/// overhead: key, headers, bookkeeping); the map trusts it. Replacing a key releases the old
/// value at once. An entry costing more than a lane's budget is not stored at all (storing it
/// would evict everything else, itself included).
///
/// A value type with no locking: callers keep it inside an actor or behind a lock. Every
/// operation is O(1) (a dictionary plus intrusive doubly linked lists over arrays).
public struct ByteLRU<Key: Hashable, Value> {
  /// Which eviction class an entry belongs to.
  public enum Lane: Sendable {
    /// Evicted only when no expendable entry is left to evict.
    case primary
    /// Evicted first, and bounded on its own by `expendableBytes`.
    case expendable
  }

  private struct Node {
    var key: Key?
    var value: Value?
    var cost: Int
    var lane: Lane
    var prev: Int
    var next: Int
  }

  /// Budget for every entry together.
  public let maxBytes: Int
  /// Budget for the expendable lane (at most `maxBytes`).
  public let expendableBytes: Int
  /// Entry bound, whatever the costs (small entries still cost dictionary space).
  public let maxCount: Int
  /// The summed cost of every entry held now.
  public private(set) var totalBytes = 0
  /// The summed cost of the expendable entries held now.
  public private(set) var expendableTotal = 0
  /// How many entries were evicted to respect the budgets (not counting replacements).
  public private(set) var evictions = 0

  private var index: [Key: Int] = [:]
  private var nodes: [Node] = []
  private var free: [Int] = []
  // Per lane: head = most recently used, tail = least. -1 = empty.
  private var heads = [-1, -1]
  private var tails = [-1, -1]

  public init(maxBytes: Int, expendableBytes: Int? = nil, maxCount: Int = .max) {
    precondition(maxBytes >= 0 && maxCount >= 0)
    self.maxBytes = maxBytes
    self.expendableBytes = min(maxBytes, max(0, expendableBytes ?? maxBytes))
    self.maxCount = maxCount
  }

  /// Number of entries held.
  public var count: Int { index.count }

  /// The value for `key`, marking it most recently used.
  public mutating func get(_ key: Key) -> Value? {
    guard let i = index[key] else { return nil }
    unlink(i)
    pushFront(i)
    return nodes[i].value
  }

  /// The value for `key` without touching its recency.
  public func peek(_ key: Key) -> Value? {
    guard let i = index[key] else { return nil }
    return nodes[i].value
  }

  public func contains(_ key: Key) -> Bool { index[key] != nil }

  /// Stores `value` under `key` as the most recently used entry, replacing (and releasing) any
  /// previous value, then evicts least recently used entries until the budgets hold. Returns
  /// whether the entry is held afterwards: false when it alone exceeds its lane's budget, or when
  /// it is expendable and primary entries fill the whole budget (a previous value for the key is
  /// removed either way: it is stale).
  @discardableResult
  public mutating func set(_ key: Key, _ value: Value, cost: Int, lane: Lane = .primary) -> Bool {
    let cost = max(0, cost)
    removeValue(forKey: key)
    let budget = lane == .primary ? maxBytes : expendableBytes
    guard cost <= budget, maxCount > 0 else { return false }
    let node = Node(key: key, value: value, cost: cost, lane: lane, prev: -1, next: -1)
    let i: Int
    if let reuse = free.popLast() {
      nodes[reuse] = node
      i = reuse
    } else {
      nodes.append(node)
      i = nodes.count - 1
    }
    index[key] = i
    pushFront(i)
    totalBytes += cost
    if lane == .expendable { expendableTotal += cost }
    while expendableTotal > expendableBytes, let victim = leastRecent(.expendable) {
      evict(victim)
    }
    while totalBytes > maxBytes || index.count > maxCount {
      guard let victim = leastRecent(.expendable) ?? leastRecent(.primary) else { break }
      evict(victim)
    }
    // An expendable entry may itself be the first to go when primary entries fill the budget.
    return index[key] != nil
  }

  /// Removes the entry for `key`, returning its value.
  @discardableResult
  public mutating func removeValue(forKey key: Key) -> Value? {
    guard let i = index[key] else { return nil }
    return release(i)
  }

  /// Removes every entry (the budgets stay).
  public mutating func removeAll() {
    index.removeAll()
    nodes.removeAll()
    free.removeAll()
    heads = [-1, -1]
    tails = [-1, -1]
    totalBytes = 0
    expendableTotal = 0
  }

  /// Keys from most to least recently used within a lane (for tests and diagnostics).
  public func keys(_ lane: Lane) -> [Key] {
    var out: [Key] = []
    var i = heads[Self.slot(lane)]
    while i >= 0 {
      if let k = nodes[i].key { out.append(k) }
      i = nodes[i].next
    }
    return out
  }

  // MARK: internals

  private static func slot(_ lane: Lane) -> Int { lane == .primary ? 0 : 1 }

  private func leastRecent(_ lane: Lane) -> Int? {
    let t = tails[Self.slot(lane)]
    return t >= 0 ? t : nil
  }

  private mutating func evict(_ i: Int) {
    evictions += 1
    release(i)
  }

  @discardableResult
  private mutating func release(_ i: Int) -> Value? {
    unlink(i)
    let node = nodes[i]
    if let key = node.key { index[key] = nil }
    totalBytes -= node.cost
    if node.lane == .expendable { expendableTotal -= node.cost }
    // Drop the references now so the memory goes back at once, not when the slot is reused.
    nodes[i].key = nil
    nodes[i].value = nil
    nodes[i].cost = 0
    free.append(i)
    return node.value
  }

  private mutating func unlink(_ i: Int) {
    let s = Self.slot(nodes[i].lane)
    let (p, n) = (nodes[i].prev, nodes[i].next)
    if p >= 0 { nodes[p].next = n } else if heads[s] == i { heads[s] = n }
    if n >= 0 { nodes[n].prev = p } else if tails[s] == i { tails[s] = p }
    nodes[i].prev = -1
    nodes[i].next = -1
  }

  private mutating func pushFront(_ i: Int) {
    let s = Self.slot(nodes[i].lane)
    nodes[i].prev = -1
    nodes[i].next = heads[s]
    if heads[s] >= 0 { nodes[heads[s]].prev = i }
    heads[s] = i
    if tails[s] < 0 { tails[s] = i }
  }
}
