import Synchronization

/// Runs the card station's writes one at a time (first come, first served): each reads a card, acts at the CA and
/// records the result, and two such steps interleaved could issue a certificate the registry never records (two
/// issues of one approval, an import overwriting an issue). A lock held across `await`s, which an actor is not.
final class StationLock: Sendable {
    private let state = Mutex<(held: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    /// Runs `body` holding the lock.
    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.held { s.waiting.append(c); return false }
                s.held = true
                return true
            }
            if now { c.resume() }
        }
    }

    private func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.waiting.isEmpty { s.held = false; return nil }
            return s.waiting.removeFirst()  // stays held: handed to the next waiter
        }
        next?.resume()
    }
}
