import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` into a fresh temporary directory, a free TCP port
/// on 127.0.0.1, trust authentication, `fsync=off`; ``stop()`` shuts it down and deletes the directory.
///
/// Uses the newest server found in `/usr/lib/postgresql/<version>/bin` (Debian, Ubuntu) or on `PATH`. PostgreSQL
/// refuses to run as root, so as root the server runs as the `postgres` user (through `runuser`).
///
/// The cluster never outlives the process that started it: besides ``stop()`` (called by `deinit`), a watchdog
/// process stops the server (`pg_ctl stop -m immediate`) and deletes ``directory`` as soon as this process is gone,
/// even when it was killed with SIGKILL. The watchdog is started before `initdb`, so it also covers a process killed
/// while the cluster is being created.
public final class ScratchPostgres: @unchecked Sendable {
    // @unchecked Sendable: every stored property is a `let` set in `init` (`Watchdog` is Sendable); the only mutation,
    // `stopped`, is guarded by `lock`.
    /// The port the server listens on (127.0.0.1).
    public let port: Int
    /// The temporary directory holding the data directory, the socket and the log.
    public let directory: String
    /// The server's bin directory.
    public let binDirectory: String
    private let runAsPostgres: Bool
    private let serverOptions: String
    private let lock = NSLock()
    private var stopped = false
    private let watchdog: Watchdog

    /// Why no server can be started here, or `nil` when one can.
    public static var unavailableReason: String? {
        findBinDirectory() == nil
            ? "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin or on PATH; "
                + "install them (Debian: apt-get install -y postgresql)"
            : nil
    }

    /// A `postgres://` URL for the `postgres` superuser and database.
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    /// Creates and starts a cluster.
    /// - Parameter settings: extra server settings (`-c name=value`).
    /// - Throws: ``ScratchPostgresError`` with the failing command's output.
    public init(settings: [String: String] = [:]) throws {
        guard let bin = Self.findBinDirectory() else {
            throw ScratchPostgresError(message: Self.unavailableReason ?? "no server")
        }
        binDirectory = bin
        runAsPostgres = getuid() == 0
        let base = "/tmp/offload-pg-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
        directory = base
        port = try Self.freePort()
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        chmod(base, 0o777)
        var options = "-p \(port) -k \(base) -c listen_addresses=127.0.0.1 -c fsync=off"
            + " -c full_page_writes=off -c max_connections=300"
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) { options += " -c \(name)=\(value)" }
        serverOptions = options
        do {
            watchdog = try Watchdog(
                script: Self.watchdogScript,
                arguments: [base, bin + "/pg_ctl", runAsPostgres ? "/usr/sbin/runuser" : ""]
            )
        } catch {
            try? FileManager.default.removeItem(atPath: base)
            throw error
        }
        do {
            try run([
                "\(bin)/initdb", "-D", base + "/data", "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8",
            ])
            try start()
        } catch {
            stop()
            throw error
        }
    }

    /// What the watchdog runs once the owning process is gone (or after ``stop()``, when there is nothing left to do):
    /// `$1` the directory, `$2` `pg_ctl`, `$3` `runuser` when the server runs as the `postgres` user, else empty.
    /// `pg_ctl stop -m immediate -w` sends SIGQUIT to the PID in `postmaster.pid` and waits (up to a minute) until the
    /// postmaster, which outlives its backends, has removed that file on exit; the directory (data, socket, log) goes
    /// after.
    private static let watchdogScript = #"""
        if [ -e "$1/data/postmaster.pid" ]; then
            if [ -n "$3" ]; then
                "$3" -u postgres -- "$2" -D "$1/data" -m immediate -w stop >/dev/null 2>&1
            else
                "$2" -D "$1/data" -m immediate -w stop >/dev/null 2>&1
            fi
        fi
        rm -rf "$1"
        """#

    deinit {
        stop()
    }

    /// Starts the server (again, after ``stopServer()``).
    public func start() throws {
        try run([
            "\(binDirectory)/pg_ctl", "-D", directory + "/data", "-l", directory + "/log", "-o", serverOptions, "-w",
            "start",
        ])
    }

    /// Stops the server immediately (like a crash: `pg_ctl stop -m immediate`), keeping the data.
    public func stopServer() throws {
        try run(["\(binDirectory)/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"])
    }

    /// Restarts the server (`-m immediate`: every connection drops, as in a crash or failover).
    public func restart() throws {
        try stopServer()
        try start()
    }

    /// Stops the server and deletes its directory, then lets its watchdog go (it finds nothing left to do and exits).
    /// Idempotent.
    public func stop() {
        lock.lock()
        let already = stopped
        stopped = true
        lock.unlock()
        if already { return }
        _ = try? run(["\(binDirectory)/pg_ctl", "-D", directory + "/data", "-m", "immediate", "-w", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
        watchdog.release()
    }

    /// The postmaster's PID, read from `postmaster.pid` in the data directory; `nil` while the server is stopped.
    public var postmasterPID: Int32? {
        Spawn.readFile(directory + "/data/postmaster.pid").split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// The watchdog's PID (for the tests that check it acts).
    package var watchdogPID: Int32 { watchdog.pid }

    /// The server log (for failure messages).
    public var log: String { Spawn.readFile(directory + "/log") }

    @discardableResult
    private func run(_ command: [String]) throws -> String {
        let argv = runAsPostgres ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
        let (status, output) = try Spawn.run(argv, outputPath: directory + "/command-\(UInt32.random(in: 0..<UInt32.max)).out")
        if status != 0 {
            throw ScratchPostgresError(message: "\(command.joined(separator: " ")) failed (status \(status)): \(output)")
        }
        return output
    }

    private static func findBinDirectory() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for version in versions {
            let bin = "\(root)/\(version)/bin"
            if FileManager.default.isExecutableFile(atPath: bin + "/initdb") { return bin }
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            if FileManager.default.isExecutableFile(atPath: "\(directory)/initdb")
                && FileManager.default.isExecutableFile(atPath: "\(directory)/pg_ctl")
            {
                return String(directory)
            }
        }
        return nil
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ScratchPostgresError(message: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw ScratchPostgresError(message: "bind() failed") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw ScratchPostgresError(message: "getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Why a ``ScratchPostgres`` could not be started.
public struct ScratchPostgresError: Error, CustomStringConvertible {
    /// The failing command and its output.
    public let message: String
    public var description: String { message }
}
