import Offload
import OffloadPostgres
import Testing

/// Every test that needs a PostgreSQL server: one throwaway cluster for the process, a schema per test, run one at a
/// time (the fault tests time leases on a 2-core machine).
@Suite(
    "PostgreSQL executor",
    .serialized,
    .enabled(if: TestDatabase.skipReason == nil, "skipped: \(TestDatabase.skipReason ?? "")"),
    .timeLimit(.minutes(3))
)
struct PostgresTests {}
