import NIOConcurrencyHelpers
import NIOCore

/// Items handed from any thread to one event loop in batches: the first item posted into an
/// empty outbox schedules one task on the loop, which takes everything posted until it runs and
/// hands it to `deliver` at once. Callers and handlers on other threads (requests leaving a
/// client, responses leaving a server) thus cost the loop one wake-up and one flush per batch
/// rather than two tasks each.
final class LoopOutbox<Item: Sendable>: Sendable {
    private let eventLoop: any EventLoop
    private let queued = NIOLockedValueBox<[Item]>([])
    /// Runs on the event loop with the items in the order posted.
    private let deliver: @Sendable ([Item]) -> Void

    init(eventLoop: any EventLoop, deliver: @escaping @Sendable ([Item]) -> Void) {
        self.eventLoop = eventLoop
        self.deliver = deliver
    }

    func post(_ item: Item) {
        let first = queued.withLockedValue { items in
            items.append(item)
            return items.count == 1
        }
        guard first else { return }
        eventLoop.execute { [self] in
            let items = queued.withLockedValue { items in
                var taken: [Item] = []
                swap(&taken, &items)
                return taken
            }
            deliver(items)
        }
    }
}
