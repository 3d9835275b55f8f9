import Foundation
import Offload
import Testing

@Suite struct WorkerCountTests {
    /// The CPUs the kernel lets this process run on, read independently of the implementation: the
    /// `Cpus_allowed_list` line of /proc/self/status ("0-3,8,10-11").
    private static func allowedCPUs() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
        var count = 0
        for range in line.dropFirst("Cpus_allowed_list:".count).trimmingCharacters(in: .whitespaces).split(separator: ",") {
            let bounds = range.split(separator: "-").compactMap { Int($0) }
            count += bounds.count == 2 ? bounds[1] - bounds[0] + 1 : 1
        }
        return count
    }

    @Test("the available worker count is the number of CPUs this process may run on")
    func availableMatchesTheAffinityMask() throws {
        #expect(WorkerCount.available == (try Self.allowedCPUs()))
    }
}
