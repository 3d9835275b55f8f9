import Testing

@testable import OffloadCore

@Suite struct OffloadErrorTests {
    @Test("an error is two words wide, so per-item outcome arrays stay small")
    func errorIsSmall() {
        #expect(MemoryLayout<OffloadError>.size <= 16)
        #expect(MemoryLayout<Result<Int, OffloadError>>.stride <= 24)
    }

    @Test("attributing an error to an input keeps every other field and names the job only when none is named")
    func attributionKeepsFields() {
        let original = OffloadError(.workerCrashed, "boom", workerPID: 42, termination: .signaled(9), workerStderr: ["x"])
        let attributed = original.attributed(toIndex: 7, job: "Square(value: 3)")
        #expect(attributed.index == 7 && attributed.job == "Square(value: 3)")
        #expect(attributed.workerPID == 42 && attributed.termination == .signaled(9) && attributed.workerStderr == ["x"])
        let named = OffloadError(.jobFailed, "threw", job: "Named").attributed(toIndex: 1, job: "Other")
        #expect(named.job == "Named")
        #expect(attributed.description.contains("[input 7]"))
    }

    @Test("a job's own error travels as the cause and is not part of equality")
    func causeIsKeptOutsideEquality() {
        struct Refusal: Error, Equatable { var id: Int }
        let first = OffloadError.jobThrew(Refusal(id: 1), job: "J", index: 0)
        let second = OffloadError.jobThrew(Refusal(id: 1), job: "J", index: 0)
        #expect(first.code == .jobFailed && first.cause as? Refusal == Refusal(id: 1))
        #expect(first == second)
        #expect(first.remoteErrorType?.hasSuffix("Refusal") == true)
    }

    @Test("the codes that were easy to confuse have distinct names")
    func codeNamesAreDistinct() {
        let names = OffloadError.Code.Storage.allCases.map(\.rawValue)
        #expect(Set(names).count == names.count)
        #expect(OffloadError.Code.waitTimedOut != .taskTimedOut && OffloadError.Code.spawnFailed != .workerStartFailed)
    }
}
