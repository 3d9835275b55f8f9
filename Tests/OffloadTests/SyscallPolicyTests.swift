import Glibc
import OffloadSystem
import Testing

/// The interruption policy above the raw system calls.
@Suite("System-call policy")
struct SyscallPolicyTests {
    @Test func aCallInterruptedBySignalsIsMadeAgainUntilItCompletes() {
        var attempts = 0
        let outcome = retryingOnInterrupt { () -> (Int, errno: Int32) in
            attempts += 1
            return attempts < 3 ? (-1, EINTR) : (42, 0)
        }
        #expect(outcome.0 == 42)
        #expect(outcome.errno == 0)
        #expect(attempts == 3)
    }

    @Test func anErrorOtherThanInterruptionIsReturnedAtOnce() {
        var attempts = 0
        let outcome = retryingOnInterrupt { () -> (Int, errno: Int32) in
            attempts += 1
            return (-1, EAGAIN)
        }
        #expect(outcome.errno == EAGAIN)
        #expect(attempts == 1)
    }

    @Test func readAndWriteOnAPipeReportDataEndOfFileAndWouldBlockThroughThePolicyLayer() throws {
        let pipe = try Syscalls.pipe(nonBlocking: true)
        var scratch = [UInt8](repeating: 0, count: 8)
        let empty = scratch.withUnsafeMutableBytes { Syscalls.read(pipe.read, into: $0) }
        #expect(empty == .wouldBlock)
        let written = [UInt8]([1, 2, 3]).withUnsafeBytes { Syscalls.write(pipe.write, $0) }
        #expect(written == .transferred(3))
        Syscalls.close(pipe.write)
        let read = scratch.withUnsafeMutableBytes { Syscalls.read(pipe.read, into: $0) }
        #expect(read == .transferred(3))
        #expect(Array(scratch.prefix(3)) == [1, 2, 3])
        let end = scratch.withUnsafeMutableBytes { Syscalls.read(pipe.read, into: $0) }
        #expect(end == .endOfFile)
        Syscalls.close(pipe.read)
    }
}
