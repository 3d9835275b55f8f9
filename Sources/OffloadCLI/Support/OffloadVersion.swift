/// The versions the CLI reports beside its measurements.
enum OffloadVersion {
    /// Offload's own version.
    static let current = "0.1.0-dev"

    /// The Swift compiler that built this binary (from `#if compiler`, so it is the real one, not a guess).
    static var swiftCompiler: String {
        #if compiler(>=6.4)
        return "6.4 or later"
        #elseif compiler(>=6.3.1)
        return "6.3.1"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #else
        return "6.1 or earlier"
        #endif
    }

    /// Whether this binary was built with optimisation (timings from a debug build mean little).
    static var buildConfiguration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }
}
