import Foundation
import OffloadPostgresScratch
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension PostgresTests {
    /// Nothing a test starts outlives the test process: a scratch cluster and a fixture process are cleaned up by
    /// their watchdogs when the process that started them is SIGKILLed (no in-process clean-up can run then).
    @Suite("Watchdogs")
    struct WatchdogTests {
        /// How long a watchdog may take to finish after its owner died: far above the ~0.2 s it needs, for a loaded
        /// 2-core machine, and well within the suite's time limit.
        static let generous = Duration.seconds(60)

        @Test("a scratch cluster whose owning process is SIGKILLed is stopped and its directory deleted")
        func clusterOwnerKilled() async throws {
            let owner = try ScratchProcess(
                [TestWorkerBinary.path, "--scratch-cluster"],
                outputPath: TestDatabase.server.directory + "/watchdog-cluster-\(UInt32.random(in: 0..<UInt32.max)).out"
            )
            defer { owner.kill() }
            let fields = try await owner.report("cluster")
            try #require(fields.count == 3, "\(fields)")
            let postmaster = try ExitWatch(try #require(Int32(fields[0])))
            let watchdog = try ExitWatch(try #require(Int32(fields[1])))
            let directory = fields[2]
            #expect(FileManager.default.fileExists(atPath: directory + "/data/PG_VERSION"))
            #expect(postmaster.isRunning && watchdog.isRunning)

            owner.signal(SIGKILL)
            let deadline = ContinuousClock.now + Self.generous
            #expect(await owner.waitForExit(timeout: .seconds(10)) == 128 + SIGKILL)
            #expect(
                await postmaster.exited(by: deadline),
                "the postmaster (PID \(postmaster.pid)) outlived the process that started it"
            )
            #expect(await watchdog.exited(by: deadline), "the watchdog (PID \(watchdog.pid)) did not finish")
            #expect(!FileManager.default.fileExists(atPath: directory), "\(directory) was left behind")
            // Nothing above throws: when the watchdog failed (reported above), this removes what it left.
            await Self.removeCluster(postmaster: postmaster, directory: directory)
        }

        @Test(
            "a fixture worker whose owning process is SIGKILLed is killed, with its local processes, even when stopped",
            arguments: [false, true]
        )
        func workerOwnerKilled(stopped: Bool) async throws {
            try await withEnvironment("watchdog_worker") { env in
                let directory = TestDatabase.server.directory
                let owner = try ScratchProcess(
                    [
                        TestWorkerBinary.path, "--hold-worker", directory + "/\(env.schema)-held.out",
                        "--url", env.url, "--schema", env.schema, "--name", "held",
                    ],
                    outputPath: directory + "/\(env.schema)-holder.out"
                )
                defer { owner.kill() }
                let fields = try await owner.report("worker")
                try #require(fields.count == 2, "\(fields)")
                let worker = try ExitWatch(try #require(Int32(fields[0])))
                let watchdog = try ExitWatch(try #require(Int32(fields[1])))
                // The worker's local ProcessPool processes (they die with the worker: PR_SET_PDEATHSIG, pipe EOF).
                let locals = try childProcesses(of: worker.pid).map { try ExitWatch($0) }
                defer {
                    // Only if the watchdog failed (reported below): kill what it left.
                    for process in [worker] + locals where process.isRunning { kill(process.pid, SIGKILL) }
                }
                #expect(locals.count >= 2, "the worker's local processes: \(locals.map(\.pid))")
                if stopped {
                    // As in the SIGSTOP fault test: a stopped process acts on no signal but SIGKILL.
                    kill(worker.pid, SIGSTOP)
                    try await env.eventually("the worker is stopped") { processState(worker.pid) == "T" }
                }

                owner.signal(SIGKILL)
                let deadline = ContinuousClock.now + Self.generous
                #expect(await owner.waitForExit(timeout: .seconds(10)) == 128 + SIGKILL)
                #expect(
                    await worker.exited(by: deadline),
                    "the worker (PID \(worker.pid)) outlived the process that started it"
                )
                #expect(await watchdog.exited(by: deadline), "the watchdog (PID \(watchdog.pid)) did not finish")
                for local in locals {
                    #expect(await local.exited(by: deadline), "local process \(local.pid) outlived its worker")
                }
            }
        }

        @Test("stop() leaves nothing: the server, its directory and its watchdog are gone when it returns")
        func orderlyStop() async throws {
            let server = try ScratchPostgres()
            defer { server.stop() }
            let postmaster = try ExitWatch(try #require(server.postmasterPID))
            let watchdog = try ExitWatch(server.watchdogPID)
            #expect(postmaster.isRunning && watchdog.isRunning)
            // The watchdog stays out of the way while its owner lives: a restart keeps the same cluster.
            try server.restart()
            let restarted = try ExitWatch(try #require(server.postmasterPID))
            #expect(watchdog.isRunning && restarted.isRunning)
            #expect(FileManager.default.fileExists(atPath: server.directory + "/data/PG_VERSION"))

            server.stop()
            #expect(await restarted.exited(within: .zero))
            #expect(await watchdog.exited(within: .zero))
            #expect(!FileManager.default.fileExists(atPath: server.directory))
        }

        @Test("a ScratchProcess's watchdog exits, without acting, once the child has exited or been killed")
        func processWatchdogDismissed() async throws {
            let directory = TestDatabase.server.directory
            let quick = try ScratchProcess(["/bin/true"], outputPath: directory + "/watchdog-true.out")
            let quickWatchdog = try ExitWatch(quick.watchdogPID)
            #expect(await quick.waitForExit(timeout: .seconds(10)) == 0)
            #expect(await quickWatchdog.exited(within: .zero))

            let slow = try ScratchProcess(["/bin/sleep", "600"], outputPath: directory + "/watchdog-sleep.out")
            let slowWatchdog = try ExitWatch(slow.watchdogPID)
            #expect(slowWatchdog.isRunning && slow.isRunning)
            slow.kill()
            #expect(slow.currentExitStatus == 128 + SIGKILL)
            #expect(await slowWatchdog.exited(within: .zero))
        }

        @Test("a child and its watchdog inherit no descriptor but stdin, stdout and stderr")
        func noInheritedDescriptors() async throws {
            // One descriptor of ours that is not close-on-exec, whatever else the test runner holds.
            let open = Glibc.open("/dev/null", O_RDONLY)
            try #require(open > 2)
            defer { close(open) }
            let child = try ScratchProcess(
                ["/bin/sleep", "600"],
                outputPath: TestDatabase.server.directory + "/fds.out"
            )
            defer { child.kill() }
            for pid in [child.pid, child.watchdogPID] {
                let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
                    .compactMap { Int($0) }
                #expect(descriptors.sorted() == [0, 1, 2], "PID \(pid)")
            }
        }

        /// Stops a cluster the watchdog did not (SIGQUIT: the postmaster's immediate shutdown) and deletes it.
        static func removeCluster(postmaster: ExitWatch, directory: String) async {
            if postmaster.isRunning {
                kill(postmaster.pid, SIGQUIT)
                _ = await postmaster.exited(within: .seconds(30))
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
