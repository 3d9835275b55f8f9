import Offload

/// Returns `value`, or throws `TestJobError("bad <value>")` when `fails`: one job type whose inputs can succeed or
/// fail, for the per-item behaviour of the maps.
public struct Check: Job, CustomStringConvertible {
    public static var jobName: String { "Check" }
    public var value: Int
    public var fails: Bool
    public init(_ value: Int, fails: Bool = false) {
        self.value = value
        self.fails = fails
    }
    public func run() throws -> Int {
        if fails { throw TestJobError("bad \(value)") }
        return value
    }
    public var description: String { "Check(\(value)\(fails ? ", fails" : ""))" }
}
