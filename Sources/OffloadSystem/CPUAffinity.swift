import COffloadShims

/// Thread pinning for benchmarks that must control where the two ends of a round trip run (package access: used by
/// `offload bench-processes` to measure the raw pipe baseline on the same CPU and across CPUs).
package enum CPUAffinity {
    /// Pins the calling thread to `cpu`, or releases it to every CPU with `nil`.
    /// - Returns: whether the kernel accepted the mask.
    @discardableResult
    package static func pinCurrentThread(to cpu: Int?) -> Bool {
        coffload_pin_current_thread(Int32(cpu ?? -1)) == 0
    }
}
