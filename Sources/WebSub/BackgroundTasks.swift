import Foundation

/// The requests the hub and the subscriber start in the background (verifications, denials,
/// pings, subscribe and unsubscribe requests), kept so tests and shutdown can wait for them or
/// cancel them.
final class BackgroundTasks: @unchecked Sendable {
  private let lock = NSLock()
  private var tasks: [UUID: Task<Void, Never>] = [:]

  func spawn(_ body: @escaping @Sendable () async -> Void) {
    let id = UUID()
    // Recorded under the lock the task's own `finished` takes: it cannot be removed first.
    lock.withLock {
      tasks[id] = Task {
        await body()
        self.finished(id)
      }
    }
  }

  private func finished(_ id: UUID) {
    _ = lock.withLock { tasks.removeValue(forKey: id) }
  }

  /// Waits until every task started so far (and any they start) has finished.
  func settle() async {
    while let (id, task) = lock.withLock({ tasks.first }) {
      await task.value
      _ = lock.withLock { tasks.removeValue(forKey: id) }
    }
  }

  func cancelAll() {
    for task in lock.withLock({ Array(tasks.values) }) { task.cancel() }
  }
}
