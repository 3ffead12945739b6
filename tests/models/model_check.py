"""Checks one PyTorch network against Kiln end to end (export to ONNX, `kiln compile`, `kiln run`,
compare with PyTorch by relative L2) and, when it fails, says why in a form that groups: the stage,
the kiln error lines with their nodes, and cause keys ("unsupported ONNX op Transpose", "compile
error: <message with names and numbers masked>", "wrong result: library differs from the
reference interpreter"). Shared by test_models.py, test_zoo.py and test_random_cnn.py."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn

from kiln_testing import KILN, rel_l2, scratch_dir

TOL = 1e-4


class CheckFailure(Exception):
    """A network that did not match. stage: export, compile, run or result; detail: the whole
    message; causes: grouping key -> its own part of the message (several keys when a model needs
    several unsupported ops), or one key whose part is the detail."""

    def __init__(self, stage, causes, detail):
        super().__init__(stage, detail)
        self.stage, self.detail = stage, detail
        self.causes = causes if isinstance(causes, dict) else {c: detail for c in causes}

    def __str__(self):
        return f"{self.stage}: {self.detail}"


# ----------------------------------------------------------------------------- weights

def perturb(model, seed):
    """Makes every layer matter: batch-norm running statistics drawn at random, and every
    parameter that its initialiser left constant (BN/LN/GN scale 1 and shift 0, zero biases,
    ConvNeXt's layer scale 1e-6, PReLU's 0.25) moved to c + U(-0.5, 0.5) * max(|c|, 0.5)."""
    g = torch.Generator().manual_seed(seed)

    def uniform(t, lo, hi):
        t.copy_(torch.rand(t.shape, generator=g) * (hi - lo) + lo)

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                uniform(m.running_mean, -0.5, 0.5)
                uniform(m.running_var, 0.5, 2.0)
        for p in model.parameters():
            c = p.flatten()[0].item() if p.numel() > 0 else None
            if c is not None and bool((p == c).all()):
                spread = max(abs(c), 0.5)
                uniform(p, c - 0.5 * spread, c + 0.5 * spread)


# ----------------------------------------------------------------------------- kiln

ERROR_LINE = re.compile(r"^(?:(?P<file>[^:\n]*): )?(?:'(?P<node>[^'\n]*)': )?error: (?P<message>.*)$", re.M)
UNSUPPORTED = re.compile(r"(\w+) \(used by [^)]*\)")


def mask(message):
    """The grouping key of an error message: quoted names and numbers masked."""
    return re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'…'", message))


def failure_from(stage, proc):
    """The CheckFailure for a kiln process that failed: its error lines, the node they name."""
    text = proc.stdout + proc.stderr
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        tail = text.strip().splitlines()[-3:]
        return CheckFailure(stage, [f"kiln {stage} crashed ({name})"], f"kiln {stage} crashed ({name}): " + " | ".join(tail))
    errors = list(ERROR_LINE.finditer(text))
    if not errors:
        tail = text.strip().splitlines()[-1:] or ["(no output)"]
        return CheckFailure(stage, [f"kiln {stage} failed without an error line"], f"kiln {stage} exit {proc.returncode}: {tail[0]}")
    causes, lines = {}, []
    for e in errors:
        lines.append(f"node '{e['node']}': {e['message']}" if e["node"] else e["message"])
        ops = list(UNSUPPORTED.finditer(e["message"])) if "does not support" in e["message"] else []
        for op in ops:
            causes.setdefault(f"unsupported ONNX op {op[1]}", op[0])
        if not ops:
            causes.setdefault(f"{stage} error: {mask(e['message'])}", lines[-1])
    return CheckFailure(stage, causes, "\n  ".join(lines))


def kiln(stage, *args, timeout=None):
    try:
        proc = subprocess.run([KILN, stage, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CheckFailure(stage, [f"kiln {stage} timed out"], f"kiln {stage} took more than {timeout} s")
    if proc.returncode != 0:
        raise failure_from(stage, proc)
    return proc


def export(model, x, path, **options):
    """torch.onnx.export at opset 13 with input 'x' and output 'y'; options as torch takes them
    (the default is what a user gets: BN folded into the convs where it follows one)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, x, path, input_names=["x"], output_names=["y"], opset_version=13, **options)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        raise CheckFailure("export", [f"torch.onnx.export: {type(e).__name__}: {mask(first)}"],
                           f"torch.onnx.export: {type(e).__name__}: {first}")


def compile_and_run(onnx_file, x, name, backend, work, timeout=None):
    """Compiles onnx_file with the backend into work/lib, runs it on x; returns the output and
    the compile and run times."""
    t0 = time.monotonic()
    kiln("compile", onnx_file, "-o", os.path.join(work, "lib"), "--name", name, "--backend", backend, timeout=timeout)
    t1 = time.monotonic()
    x_file, y_file = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
    np.save(x_file, x)
    kiln("run", os.path.join(work, "lib", f"lib{name}.so"), "-i", x_file, "-o", y_file, timeout=timeout)
    return np.load(y_file), t1 - t0, time.monotonic() - t1


def compare(actual, expected, onnx_file, work, tol=TOL):
    """Returns the relative L2 error; beyond tol, runs the reference interpreter on the same ONNX
    file to say whether the library (backend) or the import (or the reference) is wrong."""
    if actual.shape != expected.shape:
        raise CheckFailure("result", ["wrong output shape"], f"output shape {actual.shape}, PyTorch {expected.shape}")
    err = rel_l2(actual, expected)
    if err <= tol:
        return err
    ref_file = os.path.join(work, "ref.npy")
    try:
        kiln("run", "--reference", onnx_file, "-i", os.path.join(work, "x.npy"), "-o", ref_file)
        ref_err = rel_l2(np.load(ref_file), expected)
    except (CheckFailure, AssertionError) as e:
        raise CheckFailure("result", ["wrong result (reference interpreter failed too)"],
                           f"rel L2 {err:.2e} > {tol:.0e}; the reference interpreter failed: {e}")
    if ref_err <= tol:
        raise CheckFailure("result", ["wrong result: library differs from the reference interpreter"],
                           f"rel L2 {err:.2e} > {tol:.0e}; the reference interpreter matches PyTorch ({ref_err:.2e}): the backend is wrong")
    raise CheckFailure("result", ["wrong result: reference interpreter differs from PyTorch too"],
                       f"rel L2 {err:.2e} > {tol:.0e}; the reference interpreter is off too ({ref_err:.2e}): the import (or the reference) is wrong")


def check(model, x, name, backend, work, tol=TOL, timeout=None, **export_options):
    """The whole check of an eval-mode model on input x (a tensor) in scratch directory work.
    Returns (rel L2, timings dict); raises CheckFailure."""
    with torch.no_grad():
        expected = model(x).numpy()
    os.makedirs(work, exist_ok=True)
    onnx_file = os.path.join(work, name + ".onnx")
    t0 = time.monotonic()
    export(model, x, onnx_file, **export_options)
    t_export = time.monotonic() - t0
    actual, t_compile, t_run = compile_and_run(onnx_file, x.numpy(), name, backend, work, timeout)
    err = compare(actual, expected, onnx_file, work, tol)
    return err, {"export": t_export, "compile": t_compile, "run": t_run}


def run_network(name, model, x, backend, after=None, explain=None, **export_options):
    """check() in a scratch directory, printing PASS or FAIL with the timings or the failure;
    after(work) adds checks on the exported file, explain(failure, work) refines a failure
    (the directory still exists). Returns the CheckFailure or None."""
    work = scratch_dir()
    label = f"{name} ({backend}, input {'x'.join(map(str, x.shape))})"
    try:
        err, times = check(model, x, name, backend, work, **export_options)
        if after:
            after(work)
        print(f"PASS {label}: rel L2 {err:.2e}; export {times['export']:.1f} s, compile {times['compile']:.1f} s, "
              f"run {times['run']:.1f} s", flush=True)
        return None
    except CheckFailure as failure:
        if explain:
            explain(failure, work)
        print(f"FAIL {label}: {failure}", flush=True)
        return failure
    finally:
        if not os.environ.get("KILN_KEEP"):  # the libraries of big nets hold hundreds of MB
            shutil.rmtree(work)


def main(networks, run):
    """The command line of test_models.py and test_zoo.py: [--backend halide|mlir] followed by
    network names, 'all' or '--list'; run(name, backend) returns a CheckFailure or None."""
    args = sys.argv[1:]
    backend = "halide"
    if args[:1] == ["--backend"] and len(args) >= 2 and args[1] in ("halide", "mlir"):
        backend, args = args[1], args[2:]
    if not args or any(a not in [*networks, "all", "--list"] for a in args):
        sys.exit(f"usage: {sys.argv[0]} [--backend halide|mlir] {{{'|'.join(networks)}|all|--list}} ...")
    if args == ["--list"]:
        print("\n".join(networks))
        sys.exit(0)
    names = list(networks) if args == ["all"] else args
    failures = {n: f for n in names if (f := run(n, backend))}
    if len(names) > 1:
        print_summary(failures, total=len(names))
    sys.exit(1 if failures else 0)


def print_summary(failures, total=None):
    """Prints the failures grouped by cause, most frequent first: how many, which (the labels
    reproduce them: network names or seeds), and the first one's detail. failures: label ->
    CheckFailure. A failure with several causes (unsupported ops) counts under each."""
    by_cause = {}
    for label, failure in failures.items():
        for cause in failure.causes:
            by_cause.setdefault(cause, []).append((label, failure))
    print(f"\n{len(failures)} failed" + (f" of {total}" if total is not None else "") + f"; by cause ({len(by_cause)}):")
    print("| cause | count | failing (reproduce with) | first detail |\n|---|---|---|---|")
    for cause, hits in sorted(by_cause.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        labels = ", ".join(str(label) for label, _ in hits[:8]) + (" ..." if len(hits) > 8 else "")
        cells = [cause, str(len(hits)), labels, hits[0][1].causes[cause].splitlines()[0][:240]]
        print("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
