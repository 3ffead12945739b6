"""ONNX conformance: runs ONNX's own backend node tests (Debian's libonnx-testdata) for every op
Kiln claims to import, with `kiln run --reference` and with a compiled library, and compares each
output with the test's expected tensor (relative L2 <= 1e-4). Prints passes per op; exits non-zero
if any claimed test fails. Tests listed in SKIPPED are not run (docs/onnx.md gives the same list
and reasons); a skipped test that would pass is reported so the list can shrink.

  KILN=build/bin/kiln /usr/bin/python3 tests/onnx/conformance/run_conformance.py [--library subset|all|none]
                                                                                  [--only TEST] [-v]

ONNX node tests give every operand as a graph input. Kiln compiles weights, shapes and scales into
the library, so the operands listed in CLAIMED_OPS as constant become initializers holding the
test's values (what an exporter writes); the other inputs stay model inputs.
--library subset (the default) compiles only the first test of each op (compiling costs ~1 s per
test); --library all compiles every test (ctest onnx_conformance_full, label slow)."""
import argparse
import collections
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

KILN = os.environ.get("KILN", "kiln")
TESTDATA = os.environ.get("ONNX_TESTDATA", "/usr/share/libonnx-testdata/data/node")
TOL = 1e-4

# The ONNX ops Kiln imports (frontends/onnx/OnnxImporter.cpp kSupportedOps, docs/onnx.md), each
# with the input indices that must be constants (initializers) for Kiln.
CLAIMED_OPS = {
    "Add": [], "AveragePool": [], "BatchNormalization": [1, 2, 3, 4], "Clip": [1, 2], "Concat": [],
    "Constant": [], "Conv": [1, 2], "ConvTranspose": [1, 2], "Div": [], "Dropout": [1, 2], "Flatten": [],
    "Gemm": [1, 2], "GlobalAveragePool": [], "GlobalMaxPool": [], "HardSigmoid": [], "HardSwish": [],
    "Identity": [], "LRN": [], "LeakyRelu": [], "LogSoftmax": [], "MatMul": [1], "Max": [], "MaxPool": [],
    "Mean": [], "Min": [], "Mul": [], "Pad": [1, 2], "Relu": [], "Reshape": [1], "Resize": [1, 2, 3],
    "Sigmoid": [], "Softmax": [], "Squeeze": [1], "Sub": [], "Sum": [], "Tanh": [], "Unsqueeze": [1],
    "Upsample": [1],
}

# Node tests of claimed ops that Kiln does not run, and why (docs/onnx.md has the same table).
NOT_FLOAT = "non-float32 tensors (Kiln compiles float32 models)"
ONE_D = "1-D or 3-D window (Kiln's convolutions and pools are 2-D)"
SKIPPED = {
    **{t: NOT_FLOAT for t in [
        "add_uint8", "sub_uint8", "mul_uint8", "div_uint8", "maxpool_2d_uint8", "clip_default_int8_inbounds",
        "clip_default_int8_max", "clip_default_int8_min", "max_float16", "max_float64", "max_int16", "max_int32",
        "max_int64", "max_int8", "max_uint16", "max_uint32", "max_uint64", "max_uint8", "min_float16",
        "min_float64", "min_int16", "min_int32", "min_int64", "min_int8", "min_uint16", "min_uint32", "min_uint64",
        "min_uint8"]},
    **{t: ONE_D for t in [
        "averagepool_1d_default", "averagepool_3d_default", "maxpool_1d_default", "maxpool_3d_default",
        "convtranspose_1d", "convtranspose_3d"]},
    "constant": "the output is a constant (Kiln compiles outputs computed from the inputs)",
    "identity_opt": "optional-typed input (Kiln takes tensors)",
    "identity_sequence": "sequence-typed input (Kiln takes tensors)",
    "maxpool_2d_dilations": "dilated pooling (no nn op)",
    "maxpool_with_argmax_2d_precomputed_pads": "the Indices output is used (Kiln computes only the values)",
    "maxpool_with_argmax_2d_precomputed_strides": "the Indices output is used (Kiln computes only the values)",
    "batchnorm_epsilon_training_mode": "training_mode=1 (Kiln compiles inference)",
    "batchnorm_example_training_mode": "training_mode=1 (Kiln compiles inference)",
    "dropout_default_mask": "the mask output is used (Kiln compiles inference)",
    "dropout_default_mask_ratio": "the mask output is used (Kiln compiles inference)",
    "training_dropout": "training_mode=1 (Kiln compiles inference)",
    "training_dropout_default": "training_mode=1 (Kiln compiles inference)",
    "training_dropout_default_mask": "training_mode=1 (Kiln compiles inference)",
    "training_dropout_mask": "training_mode=1 (Kiln compiles inference)",
    "training_dropout_zero_ratio": "training_mode=1 (Kiln compiles inference)",
    "training_dropout_zero_ratio_mask": "training_mode=1 (Kiln compiles inference)",
    "gemm_transposeA": "transA=1 (Gemm becomes a dense layer on A [N, K])",
    "gemm_all_attributes": "transA=1 (Gemm becomes a dense layer on A [N, K])",
    "gemm_default_matrix_bias": "bias C of shape [N, M] (the dense bias is one value per unit)",
    "matmul_3d": "batched MatMul (MatMul becomes a dense layer on a 2-D A)",
    "matmul_4d": "batched MatMul (MatMul becomes a dense layer on a 2-D A)",
    "edge_pad": "Pad mode 'edge' (Kiln pads with a constant)",
    "reflect_pad": "Pad mode 'reflect' (Kiln pads with a constant)",
    "reshape_allowzero_reordered": "a zero-size dimension (Kiln's tensors have positive dimensions)",
    "concat_1d_axis_0": None, "concat_1d_axis_negative_1": None,  # filled in below if they fail
}
SKIPPED = {k: v for k, v in SKIPPED.items() if v}
SKIPPED["resize_tf_crop_and_resize"] = "coordinate_transformation_mode tf_crop_and_resize (a region of interest)"


def kiln(*args):
    proc = subprocess.run([KILN, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"kiln {args[0]} failed:\n{(proc.stderr or proc.stdout).strip()}")


def rel_l2(actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    return float(np.linalg.norm(actual - expected) / max(np.linalg.norm(expected), 1e-6))


def node_tests():
    """(test name without 'test_', directory, op type) for every single-node test of a claimed op."""
    for directory in sorted(glob.glob(os.path.join(TESTDATA, "test_*"))):
        model = onnx.load(os.path.join(directory, "model.onnx"))
        if len(model.graph.node) == 1 and model.graph.node[0].op_type in CLAIMED_OPS:
            yield os.path.basename(directory)[5:], directory, model.graph.node[0].op_type


def prepare(directory, op, work):
    """Writes model.onnx with the constant operands as initializers; returns per data set the
    input bindings and the expected outputs."""
    model = onnx.load(os.path.join(directory, "model.onnx"))
    node = model.graph.node[0]
    sets = []
    for data_dir in sorted(glob.glob(os.path.join(directory, "test_data_set_*"))):
        read = lambda kind: [numpy_helper.to_array(onnx.load_tensor(f))
                             for f in sorted(glob.glob(os.path.join(data_dir, f"{kind}_*.pb")))]
        sets.append((read("input"), read("output")))
    constant_names = {node.input[k] for k in CLAIMED_OPS[op] if k < len(node.input) and node.input[k]}
    inputs = list(model.graph.input)
    del model.graph.input[:]
    runtime = []
    for k, info in enumerate(inputs):
        if info.name in constant_names:
            model.graph.initializer.append(numpy_helper.from_array(sets[0][0][k], info.name))
            if model.ir_version < 4:  # before IR 4 every initializer is also a graph input
                model.graph.input.append(info)
        else:
            model.graph.input.append(info)
            runtime.append(k)
    file = os.path.join(work, "model.onnx")
    onnx.save(model, file)
    bound = []
    for s, (ins, outs) in enumerate(sets):
        bindings = []
        for k in runtime:
            path = os.path.join(work, f"in{s}_{k}.npy")
            np.save(path, ins[k])
            bindings += ["-i", f"{inputs[k].name}={path}"]
        bound.append((bindings, outs))
    return file, [o.name for o in model.graph.output], bound


def run_test(name, directory, op, library, verbose):
    """Returns None on success, else a sentence."""
    work = tempfile.mkdtemp(prefix=f"kiln-onnx-{name}-")
    try:
        file, out_names, sets = prepare(directory, op, work)
        if library:
            kiln("compile", file, "-o", os.path.join(work, "lib"), "--name", "model")
        for s, (bindings, expected) in enumerate(sets):
            runners = [("reference", ["--reference", file])]
            if library:
                runners.append(("library", [os.path.join(work, "lib", "libmodel.so")]))
            for what, how in runners:
                outs = [os.path.join(work, f"{what}{s}_{k}.npy") for k in range(len(out_names))]
                kiln("run", *how, *bindings, *[a for n, p in zip(out_names, outs) for a in ("-o", f"{n}={p}")])
                for n, p, e in zip(out_names, outs, expected):
                    err = rel_l2(np.load(p), e)
                    if verbose:
                        print(f"  {name} {what} {n}: rel L2 {err:.2e}")
                    if not err <= TOL:
                        return f"{what}: output '{n}' rel L2 {err:.2e} > {TOL:.0e}"
        return None
    except Exception as e:  # report the test, keep going
        return str(e).strip().splitlines()[-1] if str(e).strip() else repr(e)
    finally:
        subprocess.run(["rm", "-rf", work])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", choices=["subset", "all", "none"], default="subset")
    parser.add_argument("--only", help="run one test (name without test_)")
    parser.add_argument("--check-skipped", action="store_true", help="also run the skipped tests, report any that pass")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    per_op = collections.defaultdict(lambda: [0, 0, 0, 0])  # passed, failed, skipped, compiled
    failures, compiled_ops = [], set()
    for name, directory, op in node_tests():
        if args.only and name != args.only:
            continue
        if name in SKIPPED and not args.check_skipped:
            per_op[op][2] += 1
            continue
        library = args.library == "all" or (args.library == "subset" and op not in compiled_ops)
        error = run_test(name, directory, op, library, args.verbose)
        if name in SKIPPED:
            per_op[op][2] += 1
            if error is None:
                print(f"skipped test {name} passes: remove it from SKIPPED ({SKIPPED[name]})")
            continue
        if library and error is None:
            compiled_ops.add(op)
            per_op[op][3] += 1
        per_op[op][0 if error is None else 1] += 1
        if error:
            failures.append(name)
            print(f"FAIL {name} ({op}): {error}", flush=True)
    print(f"{'op':<20} passed failed skipped compiled")
    for op in sorted(per_op):
        p, f, s, c = per_op[op]
        print(f"{op:<20} {p:>6} {f:>6} {s:>7} {c:>8}")
    total = [sum(v[k] for v in per_op.values()) for k in range(4)]
    print(f"{'total':<20} {total[0]:>6} {total[1]:>6} {total[2]:>7} {total[3]:>8}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
