import OffloadSystem

/// The shared-memory transport of one worker: a command ring (parent → worker) and a reply ring (worker → parent)
/// in the memory file the worker already shares with its parent for its journal (descriptor 5, a `memfd`: nothing
/// named, nothing left behind when both processes are gone). Each worker process gets a new file, so nothing a dead
/// worker half-wrote can reach its replacement.
///
/// Pipes stay: the command pipe's end-of-file and the result pipe's hang-up still report a dead peer, the pidfd
/// still reports the worker's exit at once, and the result pipe doubles as the parent's doorbell (a `wake` frame):
/// the manager thread waits in `poll` on every worker's descriptors together, so it cannot sleep on a futex. The
/// worker sleeps on the command ring's futex with a watchdog timeout.
///
/// ```
/// memfd: [journal 4096 + 1 MiB][command ring: 256-byte header + capacity][reply ring: 256-byte header + capacity]
/// ```
final class SharedTransport: Sendable {
    let commands: SharedRing
    let replies: SharedRing
    /// The worker's longest spin (nanoseconds) before it sleeps; zero when workers outnumber cores.
    let workerSpin: UInt64

    /// Bytes the two rings need after the journal.
    static func byteCount(ringCapacity: Int) -> Int { 2 * SharedRing.byteCount(capacity: ringCapacity) }

    init(mapping: SharedMapping, offset: Int, ringCapacity: Int, workerSpin: UInt64) {
        commands = SharedRing(mapping: mapping, offset: offset, capacity: ringCapacity)
        replies = SharedRing(
            mapping: mapping,
            offset: offset + SharedRing.byteCount(capacity: ringCapacity),
            capacity: ringCapacity
        )
        self.workerSpin = workerSpin
    }

    // MARK: Environment

    /// `OFFLOAD_WORKER_TRANSPORT=ring:<capacity>:<spin ns>`: tells a worker to use the rings.
    static let environmentKey = "OFFLOAD_WORKER_TRANSPORT"

    var environmentValue: String { "ring:\(commands.capacity):\(workerSpin)" }

    /// Parses ``environmentValue``: the ring capacity and the worker's spin maximum.
    static func parse(_ value: String) -> (capacity: Int, spin: UInt64)? {
        let parts = value.split(separator: ":")
        guard parts.count == 3, parts[0] == "ring", let capacity = Int(parts[1]), let spin = UInt64(parts[2]),
            capacity > 0, capacity & (capacity - 1) == 0
        else { return nil }
        return (capacity, spin)
    }

    // MARK: Parent

    /// Writes as much of `bytes` as the command ring takes, waking the worker if it sleeps. When the ring is full
    /// the parent announces it waits for space, and the worker rings the doorbell once it consumed some. Returns the
    /// count written and whether the ring is unusable (its header was corrupted).
    func sendCommands(_ bytes: UnsafeRawBufferPointer) -> (written: Int, broken: Bool) {
        var written = 0
        while true {
            guard let count = commands.write(UnsafeRawBufferPointer(rebasing: bytes[written...])) else {
                return (written, true)
            }
            written += count
            if count > 0, commands.takeReaderSleeping() { commands.wakeReader() }
            if written == bytes.count { return (written, false) }
            commands.announceWriterWaiting()
            guard commands.freeBytes > 0 else { return (written, false) }
            commands.withdrawWriterWaiting()
        }
    }
}
