"""Kiln against PyTorch and onnxruntime on the same models, in one run.

For each workload and thread count, the peers take turns (Kiln, PyTorch, onnxruntime) for
--rounds rounds of --runs/--rounds timed calls each, after a warm-up; the table reports medians
(for Kiln, the median of its per-round medians, as `kiln run --repeat` reports them) and the
ratio Kiln/peer (< 1: Kiln is faster). Writes results.csv and results.json to --out.
Usage: /usr/bin/python3 benchmarks/run.py [--threads 1,2] [--workloads a,b] [--runs 20]"""
import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
from kiln_testing import write_safetensors  # noqa: E402
from torch_to_kiln import kiln_text, kiln_weights  # noqa: E402
from workloads import FLOP_COUNTED, WORKLOADS, make  # noqa: E402


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


def prepare(name, work, kiln):
    """Compiles the workload with Kiln and exports it to ONNX; returns (library, onnx path, shape)."""
    module, shape = make(name)
    model = os.path.join(work, name + ".kiln")
    with open(model, "w") as f:
        f.write(kiln_text(module, shape))
    weights = os.path.join(work, name + ".safetensors")
    write_safetensors(weights, kiln_weights(module))
    subprocess.run([kiln, "compile", model, "-o", work, "--name", name, "--weights", weights], check=True,
                   stdout=subprocess.DEVNULL)
    onnx = os.path.join(work, name + ".onnx")
    torch.onnx.export(module, torch.randn(shape), onnx, opset_version=13, input_names=["x"])
    return os.path.join(work, f"lib{name}.so"), onnx, shape


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default=os.path.join(HERE, "..", "build", "bin", "kiln"))
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=20, help="timed calls per peer, workload and thread count")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args()
    global KILN
    KILN = os.path.abspath(args.kiln)
    names, thread_counts = args.workloads.split(","), [int(t) for t in args.threads.split(",")]
    per_round = max(1, -(-args.runs // args.rounds))
    work = tempfile.mkdtemp(prefix="kiln-bench-")
    os.makedirs(args.out, exist_ok=True)

    prepared = {n: prepare(n, work, KILN) for n in names}
    peaks = {t: peak(t, work) for t in thread_counts}
    rows = []
    for threads in thread_counts:
        # OpenBLAS threads off for PyTorch except for VGG, whose dense layers use it.
        torch_workers = {blas: Worker([sys.executable, "torch_worker.py", str(threads)],
                                      None if blas else {"OPENBLAS_NUM_THREADS": "1"}) for blas in (False, True)}
        ort = Worker(["node", "ort_worker.js", str(threads)])
        for n in names:
            library, onnx, shape = prepared[n]
            torch_peer = torch_workers[n.startswith("vgg")]
            torch_peer.ask({"load": n})
            ort.ask({"load": n, "path": onnx, "shape": list(shape)})
            kiln_median(library, shape, threads, 3, work)  # warm-up
            kiln_rounds, torch_times, ort_times = [], [], []
            for _ in range(args.rounds):
                kiln_rounds.append(kiln_median(library, shape, threads, per_round, work))
                torch_times += torch_peer.ask({"run": n, "repeat": per_round})["times_ms"]
                ort_times += ort.ask({"run": n, "repeat": per_round})["times_ms"]
            row = {"workload": n, "threads": threads, "kiln_ms": statistics.median(kiln_rounds),
                   "torch_ms": statistics.median(torch_times), "ort_ms": statistics.median(ort_times),
                   "peak_gflops": peaks[threads]}
            row["kiln/torch"] = row["kiln_ms"] / row["torch_ms"]
            row["kiln/ort"] = row["kiln_ms"] / row["ort_ms"]
            if n in FLOP_COUNTED:
                row["kiln_gflops"] = FLOP_COUNTED[n] / row["kiln_ms"] * 1e-6
            rows.append(row)
            print(f"{n:20s} {threads}T  kiln {row['kiln_ms']:8.3f} ms  torch {row['torch_ms']:8.3f} ms  "
                  f"ort {row['ort_ms']:8.3f} ms  kiln/torch {row['kiln/torch']:5.2f}  kiln/ort {row['kiln/ort']:5.2f}"
                  + (f"  {row['kiln_gflops']:.0f} GFLOP/s of {peaks[threads]:.0f} peak" if "kiln_gflops" in row else ""),
                  flush=True)
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
