#!/usr/bin/env bash
# The arrows that must never exist between Offload's layers (docs/design/architecture.md). The compiler holds the
# module graph (each target lists its dependencies, and CI builds with --explicit-target-dependency-import-check);
# this script holds what the graph alone cannot: which files may reach the C library, and which words ship.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
fail() { echo "architecture: $*" >&2; status=1; }

# imports_in DIR PATTERN: files under DIR whose import lines match PATTERN.
imports_in() { grep -rlE "^(@_exported )?import ($2)\$" --include='*.swift' "$1" 2>/dev/null || true; }

# Jobs know no transport: OffloadCore imports no pool, no wire, no syscall layer; Glibc only for strerror and the
# signal numbers, in one file.
for file in $(imports_in Sources/OffloadCore 'Offload|OffloadWire|OffloadSystem|OffloadPostgres'); do
    fail "$file: the jobs layer (OffloadCore) must not import a transport or a pool"
done
for file in $(imports_in Sources/OffloadCore 'Glibc|Darwin|Foundation'); do
    [ "$file" = Sources/OffloadCore/SignalNames.swift ] || fail "$file: the jobs layer makes no system calls"
done
# Framing does no I/O.
for file in $(imports_in Sources/OffloadWire 'Glibc|Darwin|Foundation|OffloadSystem|Offload'); do
    fail "$file: the wire layer frames bytes into buffers; the I/O belongs to the process pool"
done
# The syscall floor names no pool.
for file in $(imports_in Sources/OffloadSystem 'Offload|OffloadCore|OffloadWire'); do
    fail "$file: the system layer must not know the layers above it"
done
# Every system call of the pools goes through OffloadSystem.
for file in $(imports_in Sources/Offload 'Glibc|Darwin'); do
    fail "$file: the pools reach the C library only through OffloadSystem"
done
# The library knows nothing of the CLI.
for dir in Sources/Offload Sources/OffloadCore Sources/OffloadWire Sources/OffloadSystem; do
    for file in $(imports_in "$dir" 'ArgumentParser|OffloadCLI|OffloadBenchJobs'); do
        fail "$file: the library must not depend on the CLI"
    done
done
# A backend on another transport builds on the jobs layer, never on the process pool's internals.
if [ -d Sources/OffloadPostgres ]; then
    for file in $(imports_in Sources/OffloadPostgres 'OffloadWire|OffloadSystem'); do
        fail "$file: the PostgreSQL executor must not use the process pool's wire or syscall layers"
    done
fi
# Observers build on the core's hooks only: never on the pools, the wire or the syscall layer.
for dir in Sources/OffloadMetrics Sources/OffloadLogging Sources/OffloadTracing; do
    [ -d "$dir" ] || continue
    for file in $(imports_in "$dir" 'Offload|OffloadWire|OffloadSystem|OffloadPostgres|Glibc'); do
        fail "$file: an observer product uses OffloadCore's hooks and its ecosystem API only"
    done
done
# The pools' core stays free of the ecosystem APIs (they live in the opt-in products).
for dir in Sources/Offload Sources/OffloadCore Sources/OffloadWire; do
    for file in $(imports_in "$dir" 'Metrics|CoreMetrics|Logging|Tracing|Instrumentation'); do
        fail "$file: metrics, logging and tracing APIs belong in the opt-in observer products"
    done
done
# Shipped words are for users: no internal documents or tracker numbers in sources and docs.
if grep -rnE "the seeds'?|issue [0-9]+|\bthe lead\b" Sources docs README.md Examples --include='*.swift' --include='*.md' \
    --include='*.in' 2>/dev/null; then
    fail "internal words in shipped text (name Python's or Swift's APIs instead)"
fi
# The README's quick start is Examples/QuickStart/main.swift, which CI builds: the two must not drift apart.
if ! python3 - <<'PY' 2>/dev/null
import sys
readme = open("README.md").read()
start = readme.index("```swift\n", readme.index("## Quick start")) + len("```swift\n")
block = readme[start:readme.index("```", start)]
sys.exit(0 if block == open("Examples/QuickStart/main.swift").read() else 1)
PY
then
    fail "README.md's quick start differs from Examples/QuickStart/main.swift (the compiled copy)"
fi
[ $status -eq 0 ] && echo "architecture: every layer keeps to its arrows"
exit $status
