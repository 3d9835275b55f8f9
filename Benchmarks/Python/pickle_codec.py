"""pickle.dumps + pickle.loads of the payload shapes the Codec benchmarks encode (Benchmarks/OffloadBenchmarks):
a small job (4 fields, one a string, one a list of bools), a trivial job (one int), a batch of 1,000 trivial jobs,
1,000 int outputs. Prints the median of `rounds` timings (and min-max) per shape, in microseconds per message.

Usage: python3 Benchmarks/Python/pickle_codec.py [rounds]
"""
import pickle
import statistics
import sys
import time
from dataclasses import dataclass


@dataclass
class SmallJob:
    id: int
    scale: float
    label: str
    flags: list


@dataclass
class TrivialJob:
    item: int


def per_message(value, iterations):
    dumps, loads, protocol = pickle.dumps, pickle.loads, pickle.HIGHEST_PROTOCOL
    start = time.perf_counter()
    for _ in range(iterations):
        loads(dumps(value, protocol))
    return (time.perf_counter() - start) / iterations * 1e6


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    shapes = [
        ("small job (SmallJob dataclass)", SmallJob(123456, 0.5, "chunk-17", [True, False, True]), 20000),
        ("trivial job (TrivialJob dataclass)", TrivialJob(42), 20000),
        ("trivial job (an int, what map() sends per item)", 42, 20000),
        ("batch of 1,000 TrivialJob dataclasses", [TrivialJob(i) for i in range(1000)], 40),
        ("batch of 1,000 ints (map(chunksize=1000)'s chunk)", list(range(1000)), 400),
        ("1,000 int outputs", [(i * 2654435761) & 0xFFFFFFFFFFFFFFFF for i in range(1000)], 400),
    ]
    print(f"Python {sys.version.split()[0]} pickle protocol {pickle.HIGHEST_PROTOCOL}: dumps + loads, median of {rounds}")
    # Rounds interleave the shapes, so a drift in CPU speed touches every shape alike.
    timings = {name: [] for name, _, _ in shapes}
    for _ in range(rounds):
        for name, value, iterations in shapes:
            timings[name].append(per_message(value, iterations))
    for name, value, _ in shapes:
        values = timings[name]
        size = len(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))
        print(f"  {name}: {statistics.median(values):.3f} us (min {min(values):.3f}, max {max(values):.3f}), {size} B")


if __name__ == "__main__":
    main()
