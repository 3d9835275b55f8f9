import Glibc

/// One object per OS thread, kept in a pthread key and released when the thread ends. Pool threads are not Swift
/// tasks, so task-local values do not reach them; this is how a running job finds its own cancellation flag.
package final class ThreadLocal<Value: AnyObject>: Sendable {
    private let key: pthread_key_t
    private let make: @Sendable () -> Value

    /// - Parameter make: creates the value the first time a thread asks for it.
    package init(_ make: @escaping @Sendable () -> Value) {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { pointer in
            // Every value stored under this key was retained once by `value`; release it as the thread ends.
            guard let pointer else { return }
            Unmanaged<AnyObject>.fromOpaque(pointer).release()
        }
        precondition(result == 0, "pthread_key_create failed: \(result)")
        self.key = key
        self.make = make
    }

    /// This thread's value, created on first use.
    package var value: Value {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<Value>.fromOpaque(existing).takeUnretainedValue()
        }
        let value = make()
        _ = pthread_setspecific(key, Unmanaged<Value>.passRetained(value).toOpaque())
        return value
    }

    /// This thread's value if it was created, without creating it.
    package var existingValue: Value? {
        guard let existing = pthread_getspecific(key) else { return nil }
        return Unmanaged<Value>.fromOpaque(existing).takeUnretainedValue()
    }
}
