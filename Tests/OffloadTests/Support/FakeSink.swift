@testable import Offload
@testable import OffloadCore

/// A task's end as the state machine sees it: no decoding, no handle.
final class FakeSink: TaskSink {
    let cell = CompletionCell()
    func decodeValue(
        _ payload: [UInt8],
        job: @autoclosure () -> String,
        workerPID: Int32?,
        runDuration: Duration?
    ) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        (true, {})
    }
    func decodeBatch(
        outputs: [UInt8],
        failures: [Int: OffloadError],
        count: Int,
        describe: (Int) -> String,
        workerPID: Int32?,
        runDuration: Duration?
    ) -> (succeeded: Bool, finish: @Sendable () -> Void) {
        (failures.isEmpty, {})
    }
}
