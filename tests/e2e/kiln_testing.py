"""Helpers shared by Kiln's end-to-end tests: run the kiln tool, write safetensors, compare tensors."""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

KILN = os.environ.get("KILN", "kiln")


def fresh_seed():
    """A new seed per run (printed, so a failure can be replayed with KILN_TEST_SEED)."""
    seed = int(os.environ.get("KILN_TEST_SEED", int.from_bytes(os.urandom(4), "little")))
    print(f"seed {seed} (set KILN_TEST_SEED={seed} to replay)", flush=True)
    return seed


def run_kiln(*args, expect_ok=True):
    """Runs kiln with args; returns the CompletedProcess. Fails loudly if the exit code is unexpected."""
    proc = subprocess.run([KILN, *map(str, args)], capture_output=True, text=True)
    if expect_ok and proc.returncode != 0:
        raise AssertionError(f"kiln {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    if not expect_ok and proc.returncode == 0:
        raise AssertionError(f"kiln {' '.join(map(str, args))} succeeded but should have failed:\n{proc.stdout}")
    return proc


def write_safetensors(path, tensors):
    """Writes a dict name -> float32 array as a safetensors file (no safetensors package needed)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def rel_l2(actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    return float(np.linalg.norm(actual - expected) / max(np.linalg.norm(expected), 1e-30))


def assert_close(actual, expected, tol, what):
    err = rel_l2(actual, expected)
    print(f"{what}: rel L2 {err:.2e} (tolerance {tol:.0e})", flush=True)
    if not err <= tol:
        raise AssertionError(f"{what}: relative L2 error {err:.3e} > {tol:.0e}")


def scratch_dir():
    return tempfile.mkdtemp(prefix="kiln-test-")


def check_layers(name, input_shapes, layer_lines, params, torch_fn, rng, tol=1e-5):
    """Writes a model of `layer_lines` (defining y) over random inputs in0, in1, ... of
    `input_shapes`, runs it with the reference interpreter and as a compiled library, and compares
    both with torch_fn(*inputs) (torch tensors). `params` maps parameter names to arrays."""
    import torch  # only the PyTorch comparisons need it

    work = scratch_dir()
    inputs = {f"in{i}": rng.standard_normal(s).astype(np.float32) for i, s in enumerate(input_shapes)}
    lines = [f"input {n}: {'x'.join(map(str, a.shape))}" for n, a in inputs.items()]
    lines += layer_lines + ["output y"]
    model = os.path.join(work, f"{name}.kiln")
    with open(model, "w") as f:
        f.write("\n".join(lines) + "\n")
    weights = os.path.join(work, "w.safetensors")
    write_safetensors(weights, params)
    bindings = []
    for n, a in inputs.items():
        np.save(os.path.join(work, n + ".npy"), a)
        bindings += ["-i", f"{n}={os.path.join(work, n + '.npy')}"]
    with torch.no_grad():
        expected = torch_fn(*[torch.from_numpy(a) for a in inputs.values()]).numpy()
    run_kiln("run", "--reference", model, "--weights", weights, *bindings, "-o", os.path.join(work, "ref.npy"))
    assert_close(np.load(os.path.join(work, "ref.npy")), expected, tol, f"{name} reference vs PyTorch")
    run_kiln("compile", model, "-o", work, "--name", "op", "--weights", weights)
    run_kiln("run", os.path.join(work, "libop.so"), *bindings, "-o", os.path.join(work, "lib.npy"))
    assert_close(np.load(os.path.join(work, "lib.npy")), expected, tol, f"{name} library vs PyTorch")


def main(tests):
    """Runs test functions in order; prints 'N passed, N failed' and exits non-zero on any failure."""
    passed = failed = 0
    for test in tests:
        try:
            test()
            passed += 1
            print(f"PASS {test.__name__}", flush=True)
        except Exception as e:  # report every failure, keep going
            failed += 1
            print(f"FAIL {test.__name__}: {e}", flush=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
