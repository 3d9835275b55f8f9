// Serves the pools' metrics at http://127.0.0.1:9090/metrics in the Prometheus text format while a pool works,
// and logs the pools' life cycle. Compiled by every build (target MetricsServer) so that it keeps compiling.
//
//     swift run MetricsServer                 # then: curl http://127.0.0.1:9090/metrics
//     swift run MetricsServer --once          # print one scrape after the work and exit
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOPosix
import Offload
import OffloadLogging
import OffloadMetrics
import Prometheus

// 1. A Prometheus registry as the swift-metrics backend, with histogram buckets from microseconds to minutes.
let registry = PrometheusCollectorRegistry()
var factory = PrometheusMetricsFactory(registry: registry)
factory.durationHistogramBuckets = OffloadMetrics.histogramBuckets
MetricsSystem.bootstrap(factory)

// 2. One line each: every pool's counters as metrics, every pool's life cycle as log messages.
OffloadMetrics.bootstrap()
OffloadLogging.bootstrap(logger: Logger(label: "offload"))

// 3. Some work to watch, with a progress monitor.
let progress = ProgressMonitor { step in
    if step.isFinished { print("done: \(step.completed) items in \(step.elapsed)") }
}
let pool = try ThreadPool(name: "example")
let sums = try await pool.map(1...200_000, progress: progress) { n in (1...(n % 500 + 1)).reduce(0, &+) }
print("checksum:", sums.reduce(0, &+))

if CommandLine.arguments.contains("--once") {
    print(String(decoding: registry.emitToBuffer(), as: UTF8.self))
    await pool.shutdown()
} else {
    try await serveMetrics(registry, port: 9090)
}

/// 4. A minimal HTTP server: GET /metrics answers with the registry's text, anything else with 404.
func serveMetrics(_ registry: PrometheusCollectorRegistry, port: Int) async throws {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                try channel.pipeline.syncOperations.addHandler(MetricsHandler(registry: registry))
            }
        }
        .bind(host: "127.0.0.1", port: port)
        .get()
    print("serving http://127.0.0.1:\(port)/metrics (Ctrl-C to stop)")
    try await channel.closeFuture.get()
}

/// Answers `GET /metrics` with the registry in the Prometheus text format.
final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let registry: PrometheusCollectorRegistry

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let request) = unwrapInboundIn(data) else { return }
        let found = request.method == .GET && request.uri == "/metrics"
        let body = found ? registry.emitToBuffer() : Array("not found\n".utf8)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
        headers.add(name: "Content-Length", value: "\(body.count)")
        let head = HTTPResponseHead(version: request.version, status: found ? .ok : .notFound, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
