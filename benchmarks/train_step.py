"""Training steps: Kiln's compiled N_train_step against PyTorch's forward + loss + backward +
optimizer step, same network, same pool of random batches, SGD with momentum, in one run.

For each workload and thread count the two take turns for --rounds rounds of --runs/--rounds
timed steps each (after a warm-up, in-process: Kiln through ctypes, PyTorch in this process);
the table reports median milliseconds per step and the ratio Kiln/PyTorch (< 1: Kiln is faster).
A backend whose compile of the step takes longer than --compile-timeout seconds shows n/a.
Usage: /usr/bin/python3 benchmarks/train_step.py [--threads 1,2] [--workloads lenet5_b64,resnet18_32_b8] [--backends halide,mlir]"""
import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
from kiln_testing import write_safetensors  # noqa: E402
from torch_to_kiln import kiln_text, kiln_weights  # noqa: E402
from workloads import make  # noqa: E402

# workload -> (network in workloads.py, batch)
TRAINING = {"lenet5_b64": ("lenet5_b64", 64), "resnet18_32_b8": ("resnet18_32_b1", 8)}
LR, MOMENTUM = 0.01, 0.9


class KilnStep:
    """A compiled training library and one batch, stepped through its C API."""

    def __init__(self, name, backend, module, shape, work, kiln, timeout):
        model = os.path.join(work, name + ".kiln")
        with open(model, "w") as f:
            f.write(kiln_text(module, shape))
        weights = os.path.join(work, name + ".safetensors")
        write_safetensors(weights, kiln_weights(module))
        out = os.path.join(work, backend)
        subprocess.run([kiln, "compile", model, "-o", out, "--name", name, "--weights", weights, "--train",
                        "--backend", backend, "--optimizer", "momentum", "--momentum", str(MOMENTUM), "--lr", str(LR)],
                       check=True, stdout=subprocess.DEVNULL, timeout=timeout)
        self.lib = ctypes.CDLL(os.path.join(out, f"lib{name}.so"))
        self.name = name
        self.ctx = ctypes.c_void_p()
        self.call("create", ctypes.byref(self.ctx))
        self.loss = ctypes.c_float()

    def call(self, function, *args):
        status = getattr(self.lib, f"{self.name}_{function}")(*args)
        if status != 0:
            raise RuntimeError(f"{self.name}_{function} failed with status {status}")

    def set_threads(self, threads):
        self.call("set_threads", self.ctx, threads)

    def time(self, batches, runs):
        """Times `runs` steps, taking the next of `batches` (x, labels as float32) for each."""
        ptr = lambda a: a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        times = []
        for _ in range(runs):
            x, labels = batches.next()
            start = time.perf_counter()
            self.call("train_step", self.ctx, ptr(x), ptr(labels), ctypes.byref(self.loss))
            times.append((time.perf_counter() - start) * 1e3)
        return times


class Batches:
    """A fixed pool of random batches taken in turn: each step sees another batch, so training
    does not fit one batch (a loss near zero drives the values towards denormals, which slowed
    some steps several-fold and made the timings depend on how many steps came before)."""

    def __init__(self, shape, classes, count=32, seed=0):
        rng = np.random.default_rng(seed)
        self.pool = [(rng.standard_normal(shape).astype(np.float32), rng.integers(0, classes, shape[0]))
                     for _ in range(count)]
        self.position = 0

    def next(self):
        x, labels = self.pool[self.position % len(self.pool)]
        self.position += 1
        return x, labels


class KilnBatches(Batches):
    def next(self):
        x, labels = super().next()
        return x, labels.astype(np.float32)


class TorchBatches(Batches):
    def next(self):
        x, labels = super().next()
        return torch.from_numpy(x), torch.from_numpy(labels)


def torch_times(module, optimizer, batches, runs):
    times = []
    for _ in range(runs):
        x, labels = batches.next()
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(module(x), labels).backward()
        optimizer.step()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiln", default=os.path.join(HERE, "..", "build", "bin", "kiln"))
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--workloads", default=",".join(TRAINING))
    parser.add_argument("--backends", default="halide,mlir", help="Kiln backends to compile each step with")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--compile-timeout", type=float, default=600,
                        help="seconds a backend may take to compile a step; past it, that backend's column says n/a")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="kiln-train-bench-")
    backends = args.backends.split(",")
    print(f"{'workload':16s} threads  " + "".join(f"{b + ' ms/step':>16s}" for b in backends) + "  torch ms/step"
          + "".join(f"{b + '/torch':>14s}" for b in backends))
    for name in args.workloads.split(","):
        network, batch = TRAINING[name]
        module, shape = make(network)
        shape = (batch,) + tuple(shape[1:])
        module.train()
        steps = {}
        for b in backends:
            try:
                steps[b] = KilnStep(name, b, module, shape, work, os.path.abspath(args.kiln), args.compile_timeout)
            except subprocess.TimeoutExpired:
                print(f"{name}: the {b} backend took over {args.compile_timeout:.0f} s to compile the step; left out",
                      flush=True)
        classes = [m for m in module.modules() if isinstance(m, torch.nn.Linear)][-1].out_features
        kiln_batches, torch_batches = KilnBatches(shape, classes), TorchBatches(shape, classes)
        optimizer = torch.optim.SGD(module.parameters(), lr=LR, momentum=MOMENTUM)
        for threads in map(int, args.threads.split(",")):
            torch.set_num_threads(threads)
            for kiln in steps.values():
                kiln.set_threads(threads)
                kiln.time(kiln_batches, 3)
            torch_times(module, optimizer, torch_batches, 3)
            k, t = {b: [] for b in steps}, []
            per_round = max(1, args.runs // args.rounds)
            for _ in range(args.rounds):
                for b, kiln in steps.items():
                    k[b] += kiln.time(kiln_batches, per_round)
                t += torch_times(module, optimizer, torch_batches, per_round)
            km, tm = {b: statistics.median(v) for b, v in k.items()}, statistics.median(t)
            print(f"{name:16s} {threads:7d}  " + "".join(f"{km[b]:16.2f}" if b in km else f"{'n/a':>16s}" for b in backends)
                  + f"  {tm:13.2f}" + "".join(f"{km[b] / tm:14.2f}" if b in km else f"{'n/a':>14s}" for b in backends),
                  flush=True)


if __name__ == "__main__":
    main()
