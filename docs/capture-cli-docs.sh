#!/usr/bin/env bash
# Regenerates docs/cli.md from docs/cli.md.in with real output of the release `offload` on this machine.
# Run from the package root on a machine as quiet as you can get: swift build -c release && docs/capture-cli-docs.sh
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/offload
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
loads=()
load() { loads+=("$(cut -d' ' -f1 /proc/loadavg)"); }
run() { local name=$1; shift; "$B" "$@" > "$OUT/$name" 2>&1 || true; }
run bad-workers bench --workers 0
load; run bench-sos bench --workers 1,2,4 --python
load; run bench-primes bench --workload primes --workers 1,2,4 --python --chart docs/bench-primes.svg
sed -i 's|chart written to docs/bench-primes.svg|chart written to bench-primes.svg|' "$OUT/bench-primes"
load; run bench-tiny bench --workload tiny --workers 1,2 --python
load; run bench-numpy bench --workload numpy-sum-of-squares --workers 1,2 --repeat 5 --python
load; run bench-numpy-small bench --workload numpy-sum-of-squares --n 200000 --workers 1,2 --repeat 7
load; run bench-json bench --workload primes --n 20000 --workers 1,2 --repeat 1 --lanes threadpool --json
load; run bench-processes bench-processes
load; run race race --python
load; run hybrid hybrid
load; run advise-isolated advise --cpu-bound --thread-unsafe-library --input-size 5000 --measure
run advise-processes advise --cpu-bound --needs-crash-isolation --measure
run advise-io advise --io-bound --measure
run advise-vectorise advise --cpu-bound --vectorisable --measure
load
echo "${loads[*]}" > "$OUT/load"
echo "$(nproc) cores, $(uname -sr), $(.build/release/offload --version)" > "$OUT/machine"
python3 - "$OUT" <<'PY'
import pathlib, re, sys
out = pathlib.Path(sys.argv[1])
template = pathlib.Path("docs/cli.md.in").read_text()
loads = out.joinpath("load").read_text().split()
values = {p.name: p.read_text().rstrip("\n") for p in out.iterdir()}
values["load"] = f"{min(loads, key=float)}–{max(loads, key=float)}"
values["machine"] = "Linux, " + values["machine"].split(",")[0] + ", Offload " + values["machine"].split(", ")[-1]
page = re.sub(r"\{\{([a-z-]+)\}\}", lambda m: values[m.group(1)], template)
pathlib.Path("docs/cli.md").write_text(page)
# README.md carries the same sections between its lab markers, one heading level down, images resolved from docs/.
readme = pathlib.Path("README.md")
text = readme.read_text()
begin, end = "<!-- lab:begin -->", "<!-- lab:end -->"
if begin in text and end in text:
    body = page.split("\n", 1)[1]                                   # drop the page title
    body = re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", body, flags=re.M)
    body = body.replace("](bench-primes.svg)", "](docs/bench-primes.svg)")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(head + begin + "\n" + body.strip() + "\n" + end + tail)
PY
echo "docs/cli.md and README.md regenerated (load average during the runs: ${loads[*]})"
