"""ONNX conformance: runs ONNX's own backend node tests (Debian's libonnx-testdata) whose ops are all
in Kiln's CNN op set (CNN_OPS, docs/onnx.md), with `kiln run --reference` and a compiled library, and compares each output with the test's expected tensor
(relative L2 <= 1e-4). Only float32 tests count (every graph input and output float32). Prints
passes per op; exits non-zero if a test fails that is not in SKIPPED (docs/onnx.md gives the same
list and reasons); a skipped test that would pass is reported so the list can shrink.

  KILN=build/bin/kiln /usr/bin/python3 tests/onnx/conformance/run_conformance.py [--library subset|all|none]
                                                                                  [--only TEST] [-v]

ONNX node tests give every operand as a graph input. Weights (Conv and Gemm weights, batch-norm
statistics, PRelu slopes, Clip bounds, MatMul operands) stay graph inputs: Kiln takes them as run-time
inputs. Shapes, axes, pads, scales and split sizes (SHAPE_INPUTS) become initializers holding the
test's values, as an exporter writes them. --library subset (the default) compiles the first test
of each op whose nn ops the Halide backend lowers (a test whose library stops at an op the backend
does not lower yet runs through the reference only; compiling costs ~1 s per test); --library all
compiles every test (ctest onnx_conformance_full, label slow)."""
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

# Kiln's CNN op set: every op type of frontends/onnx/OpTable.cpp (docs/onnx.md lists their forms).
CNN_OPS = {
    "Constant", "Identity", "Dropout", "Cast", "Shape", "Size", "Range", "ConstantOfShape", "Equal", "Greater", "Less",
    "GreaterOrEqual", "LessOrEqual", "Not", "And", "Or", "Where", "Conv", "ConvTranspose", "MaxPool", "AveragePool",
    "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "Einsum", "BatchNormalization", "LayerNormalization",
    "InstanceNormalization", "LpNormalization", "LRN", "Softmax", "LogSoftmax", "Relu", "Sigmoid", "Tanh", "LeakyRelu",
    "HardSigmoid", "HardSwish", "Exp", "Log", "Sqrt", "Reciprocal", "Neg", "Abs", "Erf", "Floor", "Ceil", "Round",
    "Sign", "Elu", "Selu", "Celu", "Softplus", "Softsign", "Mish", "ThresholdedRelu", "Gelu", "Add", "Sub", "Mul",
    "Div", "Max", "Min", "Sum", "Mean", "Pow", "PRelu", "Clip", "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
    "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Gather", "Expand", "Tile",
    "DepthToSpace", "SpaceToDepth", "Resize", "Upsample", "Pad",
}
REDUCE_OPS = {op for op in CNN_OPS if op.startswith("Reduce")}
# Inputs that are shapes, axes, pads, scales or sizes: Kiln compiles them (as an exporter writes them).
SHAPE_INPUTS = {
    "Reshape": [1], "Resize": [1, 2, 3], "Upsample": [1], "Pad": [1, 2, 3], "Squeeze": [1], "Unsqueeze": [1],
    "Slice": [1, 2, 3, 4], "Split": [1], "Expand": [1], "Tile": [1], "Gather": [1], "Dropout": [1, 2],
    **{op: [1] for op in REDUCE_OPS},
}
# Float32 tests of CNN ops that Kiln does not run, and why (docs/onnx.md has the same table).
TRAINING = "training mode (Kiln compiles inference)"
SKIPPED = {
    "constant": "the output is a constant (Kiln compiles outputs computed from the inputs)",
    **{t: TRAINING for t in [
        "batchnorm_epsilon_training_mode", "batchnorm_example_training_mode", "training_dropout",
        "training_dropout_default", "training_dropout_zero_ratio"]},
    **{t: "a zero-size dimension (Kiln's tensors have positive dimensions)" for t in [
        "reshape_allowzero_reordered", "slice_start_out_of_bounds", "split_zero_size_splits"]},
    "range_float_type_positive_delta": "Range of run-time scalars: a data-dependent shape (Kiln folds Range of "
                                       "constants)",
}


def kiln(*args):
    proc = subprocess.run([KILN, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"kiln {args[0]} failed:\n{(proc.stderr or proc.stdout).strip()}")


def rel_l2(actual, expected):
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return float("inf")
    return float(np.linalg.norm(actual - expected) / max(np.linalg.norm(expected), 1e-6))


def shape_input_names(model):
    return {n.input[k] for n in model.graph.node for k in SHAPE_INPUTS.get(n.op_type, [])
            if k < len(n.input) and n.input[k]}


def is_float32(model):
    """Every output, and every input but the shape inputs, is a float32 tensor."""
    shapes = shape_input_names(model)
    return all(v.type.HasField("tensor_type") and v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
               for v in list(model.graph.input) + list(model.graph.output) if v.name not in shapes)


def node_tests():
    """(test name without 'test_', directory, op) for every float32 test whose ops are all CNN ops;
    op is the test's one op, or the first non-Constant op of a multi-node (expanded) test."""
    for directory in sorted(glob.glob(os.path.join(TESTDATA, "test_*"))):
        model = onnx.load(os.path.join(directory, "model.onnx"))
        ops = [n.op_type for n in model.graph.node]
        if is_float32(model) and all(op in CNN_OPS for op in ops):
            main_op = next((op for op in ops if op != "Constant"), ops[0])
            yield os.path.basename(directory)[5:], directory, main_op


def prepare(directory, op, work):
    """Writes model.onnx with the constant operands as initializers; returns per data set the
    input bindings and the expected outputs."""
    model = onnx.load(os.path.join(directory, "model.onnx"))
    sets = []
    for data_dir in sorted(glob.glob(os.path.join(directory, "test_data_set_*"))):
        read = lambda kind: [numpy_helper.to_array(onnx.load_tensor(f))
                             for f in sorted(glob.glob(os.path.join(data_dir, f"{kind}_*.pb")))]
        sets.append((read("input"), read("output")))
    constant_names = shape_input_names(model)
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
            np.save(path, ins[k].reshape(1) if ins[k].ndim == 0 else ins[k])  # Kiln reads a scalar as [1]
            bindings += ["-i", f"{inputs[k].name}={path}"]
        bound.append((bindings, outs))
    return file, [o.name for o in model.graph.output], bound


UNLOWERED = "backend does not support"


def run_test(name, directory, op, library, verbose):
    """Returns (error sentence or None, whether a library was compiled). A library whose nn ops the
    backend does not lower yet (the new ops' lowerings land separately) is not an error."""
    work = tempfile.mkdtemp(prefix=f"kiln-onnx-{name}-")
    compiled = False
    try:
        file, out_names, sets = prepare(directory, op, work)
        if library:
            try:
                kiln("compile", file, "-o", os.path.join(work, "lib"), "--name", "model")
                compiled = True
            except RuntimeError as e:
                if UNLOWERED not in str(e):
                    raise
                library = False
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
                        return f"{what}: output '{n}' rel L2 {err:.2e} > {TOL:.0e}", compiled
        return None, compiled
    except Exception as e:  # report the test, keep going
        return (str(e).strip().splitlines()[-1] if str(e).strip() else repr(e)), compiled
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
        error, compiled = run_test(name, directory, op, library, args.verbose)
        if name in SKIPPED:
            per_op[op][2] += 1
            if error is None:
                print(f"skipped test {name} passes: remove it from SKIPPED ({SKIPPED[name]})")
            continue
        if compiled and error is None:
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
