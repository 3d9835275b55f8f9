// `import Offload` brings the jobs layer with it: Job, JobRegistry, JobCodec, OffloadError, TaskHandle, PoolStats and
// the executor protocol live in OffloadCore, which executors outside this module (PostgreSQL) build on alone.
@_exported import OffloadCore
