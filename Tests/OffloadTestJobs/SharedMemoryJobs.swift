import Offload

#if canImport(Glibc)
    import Glibc
#endif

/// Maps a shared buffer, announces it on a shared counter, and keeps the mapping until its worker is killed: the
/// state of a worker in the middle of a job when its parent dies.
public struct HoldSharedBuffer: Job {
    public static var jobName: String { "HoldSharedBuffer" }
    public var input: SharedBuffer<UInt8>.Handle
    public var mapped: SharedCounter.Handle

    public init(input: SharedBuffer<UInt8>.Handle, mapped: SharedCounter.Handle) {
        self.input = input
        self.mapped = mapped
    }

    public func run() throws -> Int {
        try input.withUnsafeBufferPointer { bytes in
            _ = try mapped.add(1)
            while true { pause() }
            return Int(bytes[0])
        }
    }
}
