import OffloadPostgresScratch

#if canImport(Glibc)
    import Glibc
#endif

/// The fixture's modes for the watchdog tests: each starts something that must not outlive this process, tells the
/// test what it started on stdout, then waits for the test to SIGKILL it. Returns (doing nothing) when neither mode is
/// asked for.
///   --scratch-cluster: a ScratchPostgres of its own; prints "cluster <postmaster PID> <watchdog PID> <directory>".
///   --hold-worker OUTPUT ARGS…: this executable again as a PostgresWorker with ARGS (a ScratchProcess whose output
///   goes to OUTPUT); prints "worker <PID> <watchdog PID>" once it printed "ready".
func runWatchdogModeIfRequested() {
    let arguments = Array(CommandLine.arguments.dropFirst())
    switch arguments.first {
    case "--scratch-cluster":
        do {
            let server = try ScratchPostgres()
            guard let postmaster = server.postmasterPID else { fail("no postmaster.pid in \(server.directory)") }
            say("cluster \(postmaster) \(server.watchdogPID) \(server.directory)")
            waitToBeKilled(holding: server)
        } catch {
            fail("OffloadPostgresTestWorker --scratch-cluster: \(error)")
        }
    case "--hold-worker" where arguments.count >= 2:
        do {
            let worker = try ScratchProcess(
                [CommandLine.arguments[0]] + arguments.dropFirst(2),
                outputPath: arguments[1]
            )
            while !worker.output.contains("ready ") {
                // The worker connects to the server first (about 100 ms); the test's time limit bounds this loop.
                guard worker.isRunning else { fail("the held worker exited: \(worker.output)") }
                usleep(10_000)
            }
            say("worker \(worker.pid) \(worker.watchdogPID)")
            waitToBeKilled(holding: worker)
        } catch {
            fail("OffloadPostgresTestWorker --hold-worker: \(error)")
        }
    default:
        return
    }
}

private func say(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
}

/// Blocks until a signal ends the process, keeping `object` alive (its deinit would clean up in-process).
private func waitToBeKilled(holding object: AnyObject) -> Never {
    while true {
        pause()
        withExtendedLifetime(object) {}
    }
}
