import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 that serves generated documents after a configurable latency: the
/// stand-in for the remote APIs of the Python texts' hybrid workflow.
///
/// Hand-written over POSIX sockets (about 150 lines) rather than taken from a library. Measured on this 2-core machine
/// (cold debug build of a one-file package, other builds running): FlyingFox 0.27.1 adds 13 s, swift-nio 2.101.3
/// NIOHTTP1 + NIOPosix 44 s. Both would fit CI's budget; what decided is that a package dependency of the `offload`
/// target is resolved and cloned by every package that depends on Offload, for a demo server that needs one route,
/// `GET /doc/<n>`, with `Connection: close`. The client side is URLSession (FoundationNetworking, part of the
/// toolchain), which also serves `--url` with https.
///
/// One thread accepts; each connection is served on its own thread, so `latency` of one request does not delay
/// another (the server behaves like many independent remote hosts, which is what the client's bounded concurrency is
/// tested against).
final class LoopbackHTTPServer: Sendable {
    /// The port the kernel chose.
    let port: UInt16
    let documentSize: Int
    let latency: Duration
    private let listener: Int32
    private let stopped = Atomic(false)
    private let acceptLoopDone = DispatchSemaphore(value: 0)
    /// Requests served so far.
    let served = Atomic(0)

    /// Binds and listens on an ephemeral loopback port.
    /// - Throws: ``HybridError`` naming the failing system call.
    init(documentSize: Int, latency: Duration) throws {
        self.documentSize = documentSize
        self.latency = latency
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw HybridError.system("socket") }
        var yes: Int32 = 1
        _ = setsockopt(socketFD, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(socketFD, 128) == 0 else {
            let error = HybridError.system(bound == 0 ? "listen" : "bind")
            close(socketFD)
            throw error
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        guard named == 0 else {
            close(socketFD)
            throw HybridError.system("getsockname")
        }
        self.listener = socketFD
        self.port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "offload-http"
        thread.start()
    }

    /// The URL of document `index`.
    func url(for index: Int) -> URL {
        URL(string: "http://127.0.0.1:\(port)/doc/\(index)")!
    }

    /// Stops accepting connections and waits for the accept loop to end. Idempotent.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))  // wakes the blocked accept()
        acceptLoopDone.wait()
        close(listener)
    }

    private func acceptLoop() {
        defer { acceptLoopDone.signal() }
        while !stopped.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            let thread = Thread { [self] in serve(client) }
            thread.start()
        }
    }

    /// Reads one request, waits `latency`, answers, closes.
    private func serve(_ client: Int32) {
        defer { close(client) }
        var request = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 16_384 {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return }
            request += buffer[0..<count]
            if request.count >= 4, request.suffix(4).elementsEqual([13, 10, 13, 10]) { break }
            if let text = String(validating: request, as: UTF8.self), text.contains("\r\n\r\n") { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let response: [UInt8]
        if parts.count >= 2, parts[0] == "GET", parts[1].hasPrefix("/doc/"), let index = Int(parts[1].dropFirst(5)) {
            Thread.sleep(forTimeInterval: latency.seconds)
            let body = Self.document(index: index, size: documentSize)
            response = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        } else {
            let body = Array("not found\n".utf8)
            response = Array("HTTP/1.1 404 Not Found\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        }
        var offset = 0
        while offset < response.count {
            let sent = response.withUnsafeBytes {
                send(client, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { return }
            offset += sent
        }
        served.wrappingAdd(1, ordering: .relaxed)
    }

    /// `size` bytes of deterministic words for document `index`.
    static func document(index: Int, size: Int) -> [UInt8] {
        let words = ["offload", "thread", "pool", "actor", "task", "await", "process", "isolated", "mutex", "atomic",
                     "parallel", "latency", "document", "worker", "chunk", "swift"].map { Array($0.utf8) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(size)
        var state = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 | 1
        while bytes.count < size {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes += words[Int(state % UInt64(words.count))]
            bytes.append(state % 11 == 0 ? 10 : 32)
        }
        return Array(bytes.prefix(size))
    }
}

/// Failures of `offload hybrid`, one line each.
struct HybridError: Error, CustomStringConvertible {
    let description: String

    static func system(_ call: String) -> HybridError {
        HybridError(description: "\(call) failed: \(String(cString: strerror(errno)))")
    }
}
