"""Kiln against PyTorch, onnxruntime and oneDNN on the same models, in one run.

For each workload and thread count, the peers take turns (Kiln with each backend, PyTorch,
onnxruntime, and oneDNN for single conv layers) for --rounds rounds of --runs/--rounds timed
calls each, after a warm-up and with a pause before each turn (SETTLE_S); the table reports medians (for Kiln, the median of its per-round
medians, as `kiln run --repeat` reports them) and the ratio Kiln/peer (< 1: Kiln is faster).
Kiln and onnxruntime get the same ONNX export of the PyTorch module. Writes results.csv and
results.json to --out.
Usage: /usr/bin/python3 benchmarks/run.py [--threads 1,2] [--workloads a,b] [--backends halide,mlir] [--runs 20]"""
import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
# Pause before each peer's turn: thread pools keep spinning after a call (libomp for 200 ms,
# libgomp and onnxruntime briefly), and on 2 cores a spinning pool steals the next peer's core.
SETTLE_S = 0.3
from workloads import FLOP_COUNTED, ONEDNN_CONV, WORKLOADS, make  # noqa: E402


class Worker:
    """A peer process answering one JSON line per JSON request."""

    def __init__(self, command, env=None):
        self.proc = subprocess.Popen(command, cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})

    def ask(self, request):
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.proc.args} stopped")
        return json.loads(line)


def prepare(name, work, kiln, backends):
    """Exports the workload to ONNX and compiles it with each Kiln backend.
    Returns ({backend: library}, onnx path, shape)."""
    module, shape = make(name)
    onnx = os.path.join(work, name + ".onnx")
    torch.onnx.export(module, torch.randn(shape), onnx, opset_version=13, input_names=["x"])
    libraries = {}
    for backend in backends:
        out = os.path.join(work, backend)
        subprocess.run([kiln, "compile", onnx, "-o", out, "--name", name, "--backend", backend], check=True,
                       stdout=subprocess.DEVNULL)
        libraries[backend] = os.path.join(out, f"lib{name}.so")
    return libraries, onnx, shape


def kiln_median(library, shape, threads, runs, work):
    x = os.path.join(work, "x_" + "x".join(map(str, shape)) + ".npy")
    if not os.path.exists(x):
        import numpy as np
        np.save(x, np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    out = subprocess.run([KILN, "run", library, "--input", x, "--threads", str(threads), "--repeat", str(runs)],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"median ([0-9.]+) ms", out).group(1))


def peak(threads, work):
    binary = os.path.join(work, "peak")
    if not os.path.exists(binary):
        subprocess.run(["cc", "-O2", "-mavx512f", "-mfma", "-pthread", os.path.join(HERE, "peak.c"), "-o", binary],
                       check=True)
    out = subprocess.run([binary, str(threads)], check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def onednn_worker(name, threads, work):
    """A oneDNN worker (benchmarks/onednn_worker.cpp) for single conv layer `name`, or None."""
    if name not in ONEDNN_CONV:
        return None
    binary = os.path.join(work, "onednn_worker")
    if not os.path.exists(binary):
        subprocess.run(["c++", "-O2", "-std=c++17", os.path.join(HERE, "onednn_worker.cpp"), "-ldnnl", "-o", binary],
                       check=True)
    return Worker([binary, *map(str, ONEDNN_CONV[name])], {"OMP_NUM_THREADS": str(threads)})


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default=os.path.join(HERE, "..", "build", "bin", "kiln"))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--backends", default="halide,mlir", help="Kiln backends to compile each workload with")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=20, help="timed calls per peer, workload and thread count")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    global KILN
    KILN = os.path.abspath(args.kiln)
    names, thread_counts = args.workloads.split(","), [int(t) for t in args.threads.split(",")]
    backends = args.backends.split(",")
    per_round = max(1, -(-args.runs // args.rounds))
    work = tempfile.mkdtemp(prefix="kiln-bench-")
    os.makedirs(args.out, exist_ok=True)

    prepared = {n: prepare(n, work, KILN, backends) for n in names}
    peaks = {t: peak(t, work) for t in thread_counts}
    rows = []
    for threads in thread_counts:
        # OpenBLAS threads off for PyTorch except for VGG, whose dense layers use it.
        torch_workers = {blas: Worker([sys.executable, "torch_worker.py", str(threads)],
                                      None if blas else {"OPENBLAS_NUM_THREADS": "1"}) for blas in (False, True)}
        ort = Worker(["node", "ort_worker.js", str(threads)])
        for n in names:
            libraries, onnx, shape = prepared[n]
            torch_peer = torch_workers[n.startswith("vgg")]
            torch_peer.ask({"load": n})
            ort.ask({"load": n, "path": onnx, "shape": list(shape)})
            onednn = onednn_worker(n, threads, work)
            peers = {"torch": lambda: torch_peer.ask({"run": n, "repeat": per_round})["times_ms"],
                     "ort": lambda: ort.ask({"run": n, "repeat": per_round})["times_ms"]}
            if onednn:
                peers["onednn"] = lambda: onednn.ask({"repeat": per_round})["times_ms"]
            for library in libraries.values():
                kiln_median(library, shape, threads, 3, work)  # warm-up
            kiln_rounds = {b: [] for b in libraries}
            peer_times = {p: [] for p in peers}
            for _ in range(args.rounds):
                for backend, library in libraries.items():
                    time.sleep(SETTLE_S)
                    kiln_rounds[backend].append(kiln_median(library, shape, threads, per_round, work))
                for peer, run in peers.items():
                    time.sleep(SETTLE_S)
                    peer_times[peer] += run()
            if onednn:
                onednn.proc.stdin.close()
                onednn.proc.wait()
            row = {"workload": n, "threads": threads, "peak_gflops": peaks[threads]}
            row.update({f"{p}_ms": statistics.median(t) for p, t in peer_times.items()})
            line = f"{n:20s} {threads}T"
            for backend, rounds in kiln_rounds.items():
                ms = row[f"kiln_{backend}_ms"] = statistics.median(rounds)
                line += f"  {backend} {ms:8.3f} ms"
                for peer in peers:
                    row[f"{backend}/{peer}"] = ms / row[f"{peer}_ms"]
                if n in FLOP_COUNTED:
                    row[f"{backend}_gflops"] = FLOP_COUNTED[n] / ms * 1e-6
                    line += f" ({row[f'{backend}_gflops']:.0f} GFLOP/s of {peaks[threads]:.0f})"
            line += "".join(f"  {p} {row[f'{p}_ms']:8.3f} ms" for p in peers)
            line += "".join(f"  {b}/{p} {row[f'{b}/{p}']:5.2f}" for b in libraries for p in peers)
            rows.append(row)
            print(line, flush=True)
        for w in [*torch_workers.values(), ort]:
            w.proc.stdin.close()
            w.proc.wait()

    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
