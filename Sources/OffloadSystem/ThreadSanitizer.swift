import COffloadShims

/// Whether this process runs under ThreadSanitizer (`swift test --sanitize=thread`): its runtime follows threads and
/// `fork()`, but not a process cloned behind its back, so the pool does not use its fork server there.
package enum ThreadSanitizer {
    /// `true` when the ThreadSanitizer runtime is linked in.
    package static let isActive: Bool = coffload_thread_sanitizer_active() != 0
}
