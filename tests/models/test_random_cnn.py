"""Random CNN architectures (random_cnn.py) end to end: each seed's net is exported from PyTorch
(opset 13), compiled by kiln, run and compared with PyTorch (relative L2 <= 1e-4), like the zoo.
A wrong result is narrowed down to the first block whose output is already wrong (the net cut
after each block in turn is checked); a compile error names its node and the block kind holding
it. The end is a table of failures by cause, with the seeds that reproduce each.

  KILN=build/bin/kiln PYTHONPATH=tests/e2e /usr/bin/python3 tests/models/test_random_cnn.py [--backend mlir] 1-30 57
  ... test_random_cnn.py --fresh 200        200 new seeds (random; each one printed)
  ... test_random_cnn.py --show 57          the architecture of seed 57, nothing compiled
KILN_KEEP=1 keeps the scratch directories."""
import os
import re
import sys

import torch

from model_check import CheckFailure, check, print_summary, run_network
from random_cnn import generate


def block_kind(net, node):
    """The kind of the block that holds an ONNX node ('/blocks.3/...' -> block 3), or ''."""
    m = re.match(r"/blocks\.(\d+)/", node or "")
    if m:
        return net.description[int(m[1]) + 1].split(":", 1)[0]
    return "head" if (node or "").startswith("/head/") else ""


def first_wrong_block(net, x, backend, work):
    """1 + the index of the first block whose output (the net cut there) fails, or 0 for the head."""
    for k in range(1, len(net.blocks) + 1):
        try:
            check(net.prefix(k), x, f"prefix{k}", backend, os.path.join(work, f"prefix{k}"), **net.export_options)
        except CheckFailure:
            return k
    return 0


def run(seed, backend):
    """Checks one seed's net; returns the CheckFailure or None, printing the outcome."""
    net = generate(seed)
    x = torch.randn(*net.input_shape, generator=torch.Generator().manual_seed(seed))

    def explain(failure, work):
        if failure.stage == "result":
            k = first_wrong_block(net, x, backend, work)
            kind = net.description[k].split(":", 1)[0] if k else "the head"
            failure.causes = {f"{cause} (first at {kind})": d for cause, d in failure.causes.items()}
            failure.detail += f"\n  first wrong output: " + (f"block {k - 1}, {kind}" if k else kind)
        else:
            kinds = sorted({block_kind(net, n) for n in re.findall(r"'(/[^']*)'", failure.detail)} - {""})
            if kinds:
                failure.detail += f"\n  in block kinds: {', '.join(kinds)}"
        failure.detail += "\n  net:\n    " + "\n    ".join(net.description)

    return run_network(f"random{seed}", net, x, backend, explain=explain, **net.export_options)


def seeds_of(args):
    seeds = []
    for a in args:
        lo, _, hi = a.partition("-")
        seeds += range(int(lo), int(hi or lo) + 1)
    return seeds


if __name__ == "__main__":
    args = sys.argv[1:]
    backend = "halide"
    if args[:1] == ["--backend"] and len(args) >= 2 and args[1] in ("halide", "mlir"):
        backend, args = args[1], args[2:]
    if args[:1] == ["--show"] and len(args) == 2:
        print("\n".join(generate(int(args[1])).description))
        sys.exit(0)
    if args[:1] == ["--fresh"] and len(args) == 2:
        seeds = [int.from_bytes(os.urandom(3), "little") for _ in range(int(args[1]))]
    elif args and all(re.fullmatch(r"\d+(-\d+)?", a) for a in args):
        seeds = seeds_of(args)
    else:
        sys.exit(f"usage: {sys.argv[0]} [--backend halide|mlir] (SEED|FIRST-LAST ... | --fresh N | --show SEED)")
    failures = {s: f for s in seeds if (f := run(s, backend))}
    print_summary(failures, total=len(seeds))
    sys.exit(1 if failures else 0)
