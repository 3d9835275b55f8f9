import Glibc
import Offload

/// x → x + 1: the per-job cost of the pool itself.
struct Trivial: Job {
    static var jobName: String { "Trivial" }
    var x: Int
    func run() throws -> Int { x + 1 }
}

/// Dies the chosen way.
struct Crash: Job {
    enum Mode: String, Codable, Sendable { case fatalError, sigsegv }
    static var jobName: String { "Crash" }
    var mode: Mode
    func run() throws -> Int {
        switch mode {
        case .fatalError: fatalError("benchmark crash")
        case .sigsegv: UnsafeMutablePointer<Int>(bitPattern: 8)?.pointee = 1
        }
        return 0
    }
}

/// Writes a byte to a pipe the benchmark holds (it started), then sleeps.
struct AnnounceThenSleep: Job {
    static var jobName: String { "AnnounceThenSleep" }
    var path: String
    var milliseconds: Int
    func run() throws -> Int {
        let fd = open(path, O_WRONLY)
        var byte: UInt8 = 1
        _ = write(fd, &byte, 1)
        close(fd)
        usleep(UInt32(milliseconds) * 1_000)
        return milliseconds
    }
}

let registry = JobRegistry(Trivial.self, Crash.self, AnnounceThenSleep.self)
