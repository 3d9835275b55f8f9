import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("offload bench", .serialized, .timeLimit(.minutes(1)))
struct BenchCommandTests {
    /// Small sizes: these tests check structure and sanity, not speed (no timed assertions).
    static let small: [String: String] = ["sum-of-squares": "200000", "primes": "2000", "tiny": "5000"]
    static let swiftLanes = [
        "sequential", "actor", "taskgroup", "taskgroup-all", "concurrentPerform", "threadpool", "threadpool-submit",
        "isolatedpool", "processpool",
    ]

    @Test("--json emits the documented fields with sane values", arguments: ["sum-of-squares", "primes", "tiny"])
    func jsonContract(workload: String) async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", workload, "--n", Self.small[workload]!, "--workers", "1,2", "--repeat", "2", "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        #expect(json.string("workload") == workload)
        #expect((json.int("cores") ?? 0) >= 1)
        #expect(json.bool("checksums_agree") == true)
        let versions = try #require(json["versions"] as? [String: Any])
        #expect(versions.string("swift")?.isEmpty == false)
        #expect(versions.string("offload")?.isEmpty == false)
        let lanes = json.objects("lanes")
        let names = Set(lanes.compactMap { $0.string("lane") })
        #expect(names == Set(Self.swiftLanes), "lanes \(names.sorted())")
        #expect(json.string("schedule") == "interleaved")
        #expect(json["seed"] is NSNumber)
        #expect(json.int("rounds") == 2)
        // Each round ran every lane (and nothing else, no parallelism control here) exactly once.
        let labels = Set(lanes.map { "\($0.string("lane") ?? "?")×\($0.int("workers") ?? 0)" })
        let orders = try #require(json["round_orders"] as? [[String]])
        #expect(orders.count == 2)
        #expect(orders.allSatisfy { $0.count == labels.count && Set($0) == labels }, "\(orders)")
        let sequentialResults = lanes.first { $0.string("lane") == "sequential" }?.int("results")
        #expect((sequentialResults ?? 0) > 0)
        for lane in lanes {
            let name = lane.string("lane") ?? "?"
            let workers = try #require(lane.int("workers"))
            switch name {
            case "sequential": #expect(workers == 1)
            case "taskgroup-all": #expect(workers == (json.int("cores") ?? 0), "one thread per core")
            default: #expect([1, 2].contains(workers), "\(name) workers \(workers)")
            }
            #expect((lane.double("median_seconds") ?? 0) > 0, "\(name)")
            #expect((lane.double("speedup") ?? 0) > 0, "\(name)")
            #expect((lane["runs"] as? [Any])?.count == 2, "\(name)")
            #expect(lane.string("baseline") == "sequential", "\(name)")
            #expect((lane.double("spread") ?? -1) >= 0, "\(name)")
            let median = try #require(lane.double("median_seconds"))
            #expect((lane.double("min_seconds") ?? .infinity) <= median && median <= (lane.double("max_seconds") ?? 0))
            #expect((lane.double("noise") ?? -1) >= 0, "\(name)")
            // Same output contract in every lane: one materialised result per item.
            #expect(lane.int("results") == sequentialResults, "\(name)")
            let paired = try #require(lane.double("paired_speedup"), "\(name)")
            #expect((lane.double("paired_speedup_min") ?? .infinity) <= paired)
            #expect(paired <= (lane.double("paired_speedup_max") ?? 0))
            if name == "threadpool-submit" {
                #expect((lane.double("submit_ns_per_task") ?? 0) > 0)
            }
        }
        // Each sweeping lane appears once per worker count.
        #expect(lanes.filter { $0.string("lane") == "actor" }.count == 2)
        #expect(lanes.filter { $0.string("lane") == "sequential" }.first?.double("speedup") == 1)
    }

    @Test("--seed repeats a run's shuffled schedule exactly, another seed gives another, and the seed is reported")
    func seedRepeatsTheSchedule() async throws {
        func orders(_ seed: String) async throws -> [[String]] {
            let result = try await OffloadBinary.run([
                "bench", "--workload", "tiny", "--n", "2000", "--workers", "1,2", "--repeat", "3", "--seed", seed,
                "--json",
            ])
            #expect(result.status == 0, "stderr: \(result.stderr)")
            let json = try result.json()
            #expect(json["seed"] as? NSNumber == NSNumber(value: UInt64(seed)!))
            return try #require(json["round_orders"] as? [[String]])
        }
        let first = try await orders("12345")
        #expect(first.count == 3)
        #expect(Set(first).count > 1, "every round in the same order: \(first)")
        #expect(try await orders("12345") == first)
        #expect(try await orders("54321") != first)
    }

    @Test("the table shows min, median, max, noise and paired ratios within 120 columns, and the seed")
    func tableColumns() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "tiny", "--n", "2000", "--workers", "1,2", "--repeat", "3", "--seed", "99",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        let header = try #require(lines.firstIndex { $0.hasPrefix("lane ") })
        for title in ["min", "median", "max", "noise", "per item", "speed-up", "paired", "efficiency"] {
            #expect(lines[header].contains(title), "\(title) missing from \(lines[header])")
        }
        let rows = lines[..<header].suffix(8) + lines[header...].prefix { !$0.isEmpty }
        #expect(rows.count > 10)
        #expect(rows.allSatisfy { $0.count <= 120 }, "\(rows.filter { $0.count > 120 })")
        #expect(result.stdout.contains("seed 99"))
        #expect(result.stdout.contains("noise = 1.4826 × MAD / median"))
    }

    @Test("too few rounds to measure the noise is one warning line, in the table and in --json")
    func fewRoundsWarning() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "tiny", "--n", "1000", "--workers", "1", "--repeat", "1", "--lanes", "threadpool",
            "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let warnings = (try result.json()["warnings"] as? [String]) ?? []
        #expect(warnings.count == 1 && warnings[0].contains("--repeat 3"), "\(warnings)")
    }

    @Test("the processpool lane runs the items in worker processes and agrees with sequential")
    func processPoolLaneRuns() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "primes", "--n", "3000", "--workers", "2", "--repeat", "2", "--lanes", "processpool",
            "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let lanes = json.objects("lanes")
        #expect(lanes.compactMap { $0.string("lane") } == ["sequential", "processpool"])
        #expect(lanes.compactMap { $0.int("workers") } == [1, 2])
        let checksums = lanes.compactMap { $0.string("checksum") }
        #expect(checksums.count == 2 && checksums[0] == checksums[1])
        #expect(json.bool("checksums_agree") == true)
        #expect(((json["notices"] as? [String]) ?? []).isEmpty)
    }

    @Test("a lane that does not apply to the workload is skipped with a one-line notice naming both")
    func inapplicableLaneIsANotice() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "primes", "--n", "1000", "--workers", "1", "--repeat", "1", "--lanes", "simd",
            "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        #expect(json.objects("lanes").compactMap { $0.string("lane") } == ["sequential"])
        let notices = (json["notices"] as? [String]) ?? []
        #expect(notices == ["simd lane skipped: it does not apply to primes"])
    }

    @Test("the table names cores, versions and the actor lane as the GIL analogue")
    func humanReadableTable() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "tiny", "--n", "2000", "--workers", "1,2", "--repeat", "1",
            "--lanes", "actor,taskgroup",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("cores"))
        #expect(result.stdout.contains("Swift "))
        #expect(result.stdout.contains("Offload "))
        #expect(result.stdout.contains("GIL analogue"))
        #expect(result.stdout.contains("speed-up"))
    }

    @Test(
        "bad input fails with one line and a non-zero exit",
        arguments: [
            (["bench", "--workers", "0"], "--workers"),
            (["bench", "--workers", "1,x"], "'x'"),
            (["bench", "--workload", "fibonacci"], "fibonacci"),
            (["bench", "--repeat", "0"], "--repeat"),
            (["bench", "--n", "-5"], "--n"),
            (["bench", "--lanes", "gpu"], "gpu"),
            (["bench", "--chart", "out.png"], ".svg"),
            (["bench", "--no-such-flag"], "--no-such-flag"),
            (["bench", "--seed", "-1"], "--seed"),
        ]
    )
    func badInput(arguments: [String], fragment: String) async throws {
        try await OffloadBinary.expectOneLineFailure(arguments, mentioning: fragment)
    }

    @Test("--chart writes well-formed SVG with one polyline per lane and the ideal line")
    func chartIsWellFormedSVG() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("offload-chart-\(UUID().uuidString).svg")
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await OffloadBinary.run([
            "bench", "--workload", "sum-of-squares", "--n", "100000", "--workers", "1,2,4", "--repeat", "1",
            "--chart", file.path, "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let laneNames = Set(try result.json().objects("lanes").compactMap { $0.string("lane") })
        let document = try XMLDocument(contentsOf: file, options: [])
        let root = try #require(document.rootElement())
        #expect(root.name == "svg")
        let polylines = Self.descendants(of: root).filter { $0.localName == "polyline" || $0.name == "polyline" }
        let lanePolylines = polylines.filter { Self.attribute($0, "class") == "lane" }
        let ideal = polylines.filter { Self.attribute($0, "class") == "ideal" }
        #expect(lanePolylines.count == laneNames.count)
        #expect(Set(lanePolylines.compactMap { Self.attribute($0, "data-lane") }) == laneNames)
        #expect(ideal.count == 1)
        for polyline in polylines {
            // Every point is "x,y" with both numbers inside the canvas.
            let points = (Self.attribute(polyline, "points") ?? "").split(separator: " ")
            #expect(!points.isEmpty)
            for point in points {
                let xy = point.split(separator: ",").compactMap { Double($0) }
                #expect(xy.count == 2 && xy.allSatisfy { $0 >= 0 && $0 <= 760 }, "bad point '\(point)'")
            }
        }
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.contains("workers"))
        #expect(text.contains("class=\"legend\""))
    }

    @Test("--chart gives every lane its own colour, in the legend and on the markers, even past ten lanes",
          .enabled(if: InstalledPython.available, "python3 is not installed (needed for more than ten lanes)"))
    func chartColoursAreDistinct() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("offload-chart-\(UUID().uuidString).svg")
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try await OffloadBinary.run([
            "bench", "--workload", "sum-of-squares", "--n", "100000", "--python-n", "2000", "--workers", "1,2",
            "--repeat", "1", "--python", "--chart", file.path, "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let laneNames = Set(try result.json().objects("lanes").compactMap { $0.string("lane") })
        #expect(laneNames.count > 12, "\(laneNames.sorted())")
        let root = try #require(try XMLDocument(contentsOf: file, options: []).rootElement())
        let elements = Self.descendants(of: root)
        let swatches = elements.filter { Self.attribute($0, "class") == "legend-swatch" }
        let swatchFills = swatches.compactMap { Self.attribute($0, "fill") }
        #expect(Set(swatches.compactMap { Self.attribute($0, "data-lane") }) == laneNames)
        #expect(swatchFills.count == laneNames.count && Set(swatchFills).count == laneNames.count, "\(swatchFills)")
        // The markers of one lane share its colour; no two lanes share one.
        var fillsByLane: [String: Set<String>] = [:]
        for circle in elements where (circle.localName ?? circle.name) == "circle" {
            guard let lane = Self.attribute(circle, "data-lane"), let fill = Self.attribute(circle, "fill") else { continue }
            fillsByLane[lane, default: []].insert(fill)
        }
        #expect(Set(fillsByLane.keys) == laneNames)
        #expect(fillsByLane.values.allSatisfy { $0.count == 1 })
        #expect(Set(fillsByLane.values.compactMap(\.first)).count == laneNames.count)
    }

    /// An attribute's value (looked up by name in `attributes`: FoundationXML's `attribute(forName:)` misses
    /// attributes of elements in a default namespace).
    static func attribute(_ element: XMLElement, _ name: String) -> String? {
        (element.attributes ?? []).first { $0.name == name }?.stringValue
    }

    /// Every element below `element`, depth first.
    static func descendants(of element: XMLElement) -> [XMLElement] {
        let children = (element.children ?? []).compactMap { $0 as? XMLElement }
        return children + children.flatMap { descendants(of: $0) }
    }

    @Test("--python adds python lanes measured on the installed interpreter",
          .enabled(if: InstalledPython.available, "python3 is not installed"))
    func pythonLanes() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "primes", "--n", "2000", "--python-n", "2000", "--workers", "1,2", "--repeat", "1",
            "--lanes", "actor", "--python", "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let versions = try #require(json["versions"] as? [String: Any])
        #expect(versions.string("python")?.hasPrefix("3.") == true)
        let lanes = json.objects("lanes")
        let names = Set(lanes.compactMap { $0.string("lane") })
        #expect(names.isSuperset(of: [
            "python-sequential", "python-thread", "python-process", "python-asyncio", "python-asyncio-executor",
        ]))
        let notices = (json["notices"] as? [String]) ?? []
        let minor = Int(versions.string("python")?.split(separator: ".").dropFirst().first ?? "") ?? 0
        if minor >= 14 {
            #expect(names.contains("python-interpreter"))
        } else {
            #expect(!names.contains("python-interpreter"))
            #expect(notices.contains { $0.contains("python-interpreter") && $0.contains("InterpreterPoolExecutor") })
        }
        for lane in lanes where (lane.string("lane") ?? "").hasPrefix("python-") {
            #expect((lane.double("speedup") ?? 0) > 0)
            #expect(lane.string("baseline") == "python-sequential")
            #expect(lane.int("n") == 2000)
        }
        // Same size, same loop: Python's checksum equals Swift's.
        #expect(json.bool("checksums_agree") == true)
        let checksums = Set(lanes.compactMap { $0.string("checksum") })
        #expect(checksums.count == 1, "\(checksums)")
    }

    @Test("numpy-sum-of-squares: scalar, SIMD and SIMD-on-a-pool lanes agree on one exact checksum")
    func vectorLanes() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "numpy-sum-of-squares", "--n", "100003", "--workers", "1,2", "--repeat", "2",
            "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let lanes = json.objects("lanes")
        #expect(lanes.map { "\($0.string("lane") ?? "?")×\($0.int("workers") ?? 0)" } == [
            "sequential×1", "simd×1", "threadpool×1", "threadpool×2", "simd-threadpool×1", "simd-threadpool×2",
        ])
        // Σ (i & 1023)² over 0..<100003, four times: computed here, independently of the binary.
        let once = (0..<100_003).reduce(UInt64(0)) { $0 + UInt64(($1 & 1023) * ($1 & 1023)) }
        #expect(Set(lanes.compactMap { $0.string("checksum") }) == [String(4 * once)])
        #expect(json.bool("checksums_agree") == true)
        if (json.int("cores") ?? 0) >= 2 {
            // The parallelism control ran in the same rounds, and stays out of the lanes.
            let control = try #require(json["parallel_control"] as? [String: Any])
            let sequential = try #require(control.double("sequential_seconds"))
            let pooled = try #require(control.double("threadpool_seconds"))
            #expect(abs((control.double("speedup") ?? 0) - sequential / pooled) < 1e-9 * max(1, sequential / pooled))
        }
        let claims = json.objects("claims")
        let vector = try #require(claims.first { ($0.string("claim") ?? "").contains("vectorisation") })
        #expect((vector.string("measured") ?? "").contains("simd"))
        #expect(vector.string("verdict")?.isEmpty == false)
    }

    @Test("--python on numpy-sum-of-squares adds the NumPy lanes at the Swift size and says BLAS ran on one thread",
          .enabled(if: InstalledPython.hasNumPy, "python3 with NumPy is not installed"))
    func numpyLanes() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "numpy-sum-of-squares", "--n", "50000", "--python-n", "2000", "--workers", "1,2",
            "--repeat", "2", "--python", "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let lanes = json.objects("lanes")
        let numpy = lanes.filter { ($0.string("lane") ?? "").hasPrefix("python-numpy") }
        #expect(numpy.map { "\($0.string("lane") ?? "?")×\($0.int("workers") ?? 0)" } == [
            "python-numpy×1", "python-numpy-thread×1", "python-numpy-thread×2",
        ])
        let swiftChecksum = try #require(lanes.first { $0.string("lane") == "sequential" }?.string("checksum"))
        for lane in numpy {
            #expect(lane.int("n") == 50_000)
            #expect(lane.string("baseline") == "sequential")
            #expect(lane.string("checksum") == swiftChecksum)
        }
        let pure = lanes.filter { ["python-sequential", "python-process"].contains($0.string("lane") ?? "") }
        #expect(pure.count == 3)
        #expect(Set(pure.compactMap { $0.string("checksum") }).count == 1)
        #expect(pure.allSatisfy { $0.int("n") == 2000 && $0.string("baseline") == "python-sequential" })
        #expect(json.bool("checksums_agree") == true)
        #expect((json["python_environment"] as? [String])?.contains("OPENBLAS_NUM_THREADS=1") == true)
        let claims = json.objects("claims").compactMap { $0.string("claim") }
        #expect(claims.contains { $0.contains("NumPy releases the GIL") })
        #expect(claims.contains { $0.contains("multiprocessing alone") })
        let table = try await OffloadBinary.run([
            "bench", "--workload", "numpy-sum-of-squares", "--n", "50000", "--python-n", "2000", "--workers", "2",
            "--repeat", "1", "--lanes", "python-numpy-thread", "--python",
        ])
        #expect(table.status == 0, "stderr: \(table.stderr)")
        #expect(table.stdout.contains("BLAS kept to one thread"))
        #expect(table.stdout.contains("claim:") && table.stdout.contains("measured:") && table.stdout.contains("verdict:"))
    }

    @Test("a Python without NumPy skips the NumPy lanes with one notice each, and the other lanes still run",
          .enabled(if: InstalledPython.available, "python3 is not installed"))
    func missingNumPyIsANotice() async throws {
        // `python3 -S` does not load site-packages: the same interpreter without NumPy.
        let wrapper = try InstalledPython.wrapper(arguments: ["-S"])
        defer { try? FileManager.default.removeItem(atPath: wrapper) }
        let result = try await OffloadBinary.run([
            "bench", "--workload", "numpy-sum-of-squares", "--n", "20000", "--python-n", "1000", "--workers", "2",
            "--repeat", "1", "--python-exe", wrapper, "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let names = json.objects("lanes").compactMap { $0.string("lane") }
        #expect(!names.contains { $0.hasPrefix("python-numpy") })
        #expect(names.contains("python-sequential") && names.contains("simd"))
        let notices = (json["notices"] as? [String]) ?? []
        let numpyNotices = notices.filter { $0.contains("NumPy is not installed") }
        #expect(numpyNotices.count == 2, "\(notices)")
        #expect(numpyNotices.allSatisfy { !$0.contains("\n") })
    }

    @Test("asyncio lanes: one event loop runs the tasks, run_in_executor spreads them; both agree with sequential",
          .enabled(if: InstalledPython.available, "python3 is not installed"))
    func asyncioLanes() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "sum-of-squares", "--n", "100000", "--python-n", "20000", "--workers", "1,2",
            "--repeat", "2", "--lanes", "python-asyncio,python-asyncio-executor", "--python", "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let python = json.objects("lanes").filter { ($0.string("lane") ?? "").hasPrefix("python-") }
        #expect(python.map { "\($0.string("lane") ?? "?")×\($0.int("workers") ?? 0)" } == [
            "python-sequential×1", "python-asyncio×1", "python-asyncio-executor×1", "python-asyncio-executor×2",
        ])
        #expect(Set(python.compactMap { $0.string("checksum") }).count == 1)
        #expect(json.bool("checksums_agree") == true)
        let claims = json.objects("claims")
        let asyncio = try #require(claims.first { ($0.string("claim") ?? "").hasPrefix("asyncio does not help") })
        #expect((asyncio.string("measured") ?? "").contains("python-asyncio"))
        #expect(asyncio["holds"] is Bool)
        #expect(claims.contains { ($0.string("claim") ?? "").contains("run_in_executor") })
    }

    @Test("a Python with a GIL gets a one-line notice that a free-threaded build would run the thread lanes",
          .enabled(if: InstalledPython.available && !InstalledPython.freeThreaded, "needs a python3 with a GIL"))
    func gilNotice() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "tiny", "--n", "1000", "--python-n", "1000", "--workers", "2", "--repeat", "1",
            "--lanes", "python-thread", "--python", "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let json = try result.json()
        let versions = try #require(json["versions"] as? [String: Any])
        #expect(versions.bool("python_gil_enabled") == true)
        let notices = (json["notices"] as? [String]) ?? []
        #expect(notices.filter { $0.contains("free-threaded") && $0.contains("--python-exe") }.count == 1)
        let claim = try #require(json.objects("claims").first { ($0.string("claim") ?? "").hasPrefix("Threads do not") })
        #expect((claim.string("measured") ?? "").contains("python-thread"))
    }

    @Test("a missing Python is a one-line notice, not a failure")
    func missingPythonIsANotice() async throws {
        let result = try await OffloadBinary.run([
            "bench", "--workload", "tiny", "--n", "1000", "--workers", "1", "--repeat", "1", "--lanes", "actor",
            "--python-exe", "/nonexistent/python3", "--json",
        ])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let notices = (try result.json()["notices"] as? [String]) ?? []
        #expect(notices.contains { $0.contains("/nonexistent/python3") && $0.contains("does not exist") })
    }

    @Test("a --python-exe that cannot run is named in one notice with the system's reason, not Foundation's dump")
    func unrunnablePythonIsANotice() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("offload-exe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let plain = directory.appendingPathComponent("plain").path
        let noProgram = directory.appendingPathComponent("no-program").path
        for (file, mode) in [(plain, 0o644), (noProgram, 0o755)] {
            try "not a program\n".write(toFile: file, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
        }
        for (file, reason) in [(plain, "'\(plain)' is not an executable file"),
                               (noProgram, "cannot start \(noProgram): Exec format error")]
        {
            let result = try await OffloadBinary.run([
                "bench", "--workload", "tiny", "--n", "1000", "--workers", "1", "--repeat", "1", "--lanes", "actor",
                "--python", "--python-exe", file, "--json",
            ])
            #expect(result.status == 0, "stderr: \(result.stderr)")
            let notices = (try result.json()["notices"] as? [String]) ?? []
            #expect(notices.contains { $0.contains(reason) }, "\(notices)")
            #expect(!notices.contains { $0.contains("NSCocoaErrorDomain") })
        }
    }
}
