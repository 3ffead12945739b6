"""The MLIR backend (kiln compile --backend mlir) end to end: LeNet-5 and single-op models (every
op the Halide backend runs at inference; the ops without a text-format layer, and the training ops,
as nn IR in a .mlir @forward), the library against the reference interpreter (seeded weights,
fresh random inputs, odd sizes, ranks 1 to 6, rel L2 <= 1e-5). The seed networks under this
backend are tests/models/test_models.py --backend mlir."""
import os
import subprocess
import sys
import time

import numpy as np

from kiln_testing import KILN, assert_close, fresh_seed, main, run_kiln, scratch_dir

EXAMPLES = sys.argv[1]
SEED = fresh_seed()
rng = np.random.default_rng(SEED)


def compare(model, inputs, what, batch=None):
    """Compiles `model` with --backend mlir, runs it and the reference on the same inputs (arrays, or
    shapes filled with standard normal values), compares."""
    work = scratch_dir()
    bindings = []
    for i, data in enumerate(inputs):
        path = os.path.join(work, f"in{i}.npy")
        np.save(path, (data if isinstance(data, np.ndarray) else rng.standard_normal(data)).astype(np.float32))
        bindings += ["-i", path if len(inputs) == 1 else f"in{i}={path}"]
    extra = ["--batch", batch] if batch else []
    run_kiln("compile", model, "-o", work, "--name", "net", "--backend", "mlir", "--seed", SEED % 1000, *extra)
    run_kiln("run", os.path.join(work, "libnet.so"), *bindings, "-o", os.path.join(work, "lib.npy"))
    run_kiln("run", "--reference", model, "--seed", SEED % 1000, *extra, *bindings, "-o", os.path.join(work, "ref.npy"))
    assert_close(np.load(os.path.join(work, "lib.npy")), np.load(os.path.join(work, "ref.npy")), 1e-5, what)


def check_op(name, input_shapes, layer_lines):
    work = scratch_dir()
    lines = [f"input in{i}: {'x'.join(map(str, s))}" for i, s in enumerate(input_shapes)]
    model = os.path.join(work, f"{name}.kiln")
    with open(model, "w") as f:
        f.write("\n".join(lines + layer_lines + ["output y"]) + "\n")
    compare(model, input_shapes, f"{name} mlir library vs reference")


def test_lenet5_classic():
    compare(os.path.join(EXAMPLES, "lenet5", "lenet5.kiln"), [(1, 1, 32, 32)], "lenet5 (mlir)")


def test_lenet5_modern_batch3():
    compare(os.path.join(EXAMPLES, "lenet5", "lenet5_modern.kiln"), [(3, 1, 32, 32)], "lenet5_modern batch 3 (mlir)",
            batch=3)


def test_convolutions():
    check_op("conv_s2", [(2, 3, 11, 13)], ["y = conv2d(in0) filters=5 kernel=3 stride=2 padding=1,0,2,1"])
    check_op("conv_dil", [(1, 4, 13, 11)], ["y = conv2d(in0) filters=6 kernel=3x5 dilation=2 groups=2 padding=2"])
    check_op("conv_dw", [(3, 4, 10, 9)], ["y = conv2d(in0) filters=4 kernel=7 stride=3 groups=4 padding=same"])
    check_op("conv_1x1", [(2, 5, 9, 7)], ["y = conv2d(in0) filters=7 kernel=1 bias=false"])
    check_op("conv_relu_64", [(1, 16, 28, 28)], ["y = conv2d(in0) filters=64 kernel=3 padding=1 activation=relu"])


def test_pooling():
    check_op("maxpool", [(2, 3, 11, 9)], ["y = max_pool2d(in0) kernel=3 stride=2 padding=1"])
    check_op("avgpool_incl", [(1, 3, 9, 11)], ["y = avg_pool2d(in0) kernel=3 stride=2 padding=1 count_include_pad=true"])
    check_op("avgpool_excl", [(2, 2, 7, 7)], ["y = avg_pool2d(in0) kernel=3 stride=2 padding=1"])
    check_op("gap", [(3, 5, 7, 9)], ["y = global_avg_pool(in0)"])
    check_op("maxpool_ceil", [(2, 3, 7, 10)], ["y = max_pool2d(in0) kernel=2 stride=2 ceil_mode=true"])
    check_op("avgpool_ceil", [(3, 2, 9, 8)], ["y = avg_pool2d(in0) kernel=3 stride=2 padding=1 ceil_mode=true"])
    check_op("avgpool_ceil_incl", [(1, 2, 8, 11)],
             ["y = avg_pool2d(in0) kernel=3 stride=2 padding=1 ceil_mode=true count_include_pad=true"])


def test_elementwise():
    check_op("bn", [(2, 5, 7, 3)], ["y = batch_norm(in0) epsilon=0.001"])
    check_op("relu", [(2, 3, 5, 7)], ["y = relu(in0)"])
    check_op("tanh", [(1, 3, 5, 7)], ["y = tanh(in0)"])
    check_op("sigmoid", [(2, 17)], ["y = sigmoid(in0)"])
    check_op("leaky", [(1, 2, 3, 5)], ["y = leaky_relu(in0) alpha=0.2"])
    check_op("add", [(2, 3, 5, 7), (2, 3, 5, 7)], ["y = add(in0, in1)"])


def test_dense_softmax_flatten_dropout_concat():
    check_op("dense", [(3, 3, 4, 5)],
             ["f = flatten(in0)", "d = dropout(f) rate=0.5", "y = dense(d) units=11 activation=softmax"])
    check_op("concat", [(2, 3, 5, 7), (2, 4, 5, 7)], ["y = concat(in0, in1) axis=1"])


def test_conv_transpose():
    check_op("convT_s2", [(2, 5, 5, 7)], ["y = conv_transpose2d(in0) filters=3 kernel=3 stride=2 padding=1 output_padding=1"])
    check_op("convT_grouped", [(1, 4, 6, 5)],
             ["y = conv_transpose2d(in0) filters=6 kernel=3x2 stride=3x2 dilation=2 groups=2 padding=2,0,1,1 bias=false"])
    check_op("convT_unet", [(3, 32, 5, 3)], ["y = conv_transpose2d(in0) filters=16 kernel=2 stride=2 activation=relu"])


def test_resize():
    check_op("resize_nearest", [(2, 3, 5, 7)], ["y = resize(in0) scale=2"])
    check_op("resize_nearest_size", [(1, 2, 4, 5)], ["y = resize(in0) mode=nearest size=9x7"])
    check_op("resize_bilinear", [(2, 3, 5, 7)], ["y = resize(in0) mode=bilinear scale=2"])
    check_op("resize_bilinear_size", [(3, 2, 5, 7)], ["y = resize(in0) mode=bilinear size=9x16"])
    check_op("resize_bilinear_corners", [(2, 2, 5, 7)], ["y = resize(in0) mode=bilinear size=11x13 align_corners=true"])


def test_lrn_log_softmax_global_max_pool():
    check_op("lrn", [(2, 7, 5, 3)], ["y = lrn(in0) size=5 alpha=0.001 beta=0.75 bias=2"])
    check_op("lrn_even", [(1, 6, 3, 9)], ["y = lrn(in0) size=4 alpha=0.01 beta=0.5"])
    check_op("log_softmax", [(3, 11)], ["y = log_softmax(in0)"])
    check_op("log_softmax_nchw", [(2, 5, 3, 4)], ["y = log_softmax(in0) axis=1"])
    check_op("global_max_pool", [(3, 5, 7, 9)], ["y = global_max_pool(in0)"])


def test_pad_reshape():
    check_op("pad", [(2, 3, 5, 4)], ["y = pad(in0) pads=0,0,1,2,0,0,2,1 value=0.5"])
    check_op("pad_conv", [(3, 2, 7, 5)], ["p = pad(in0) pads=0,1,0,3,0,0,2,0", "y = conv2d(p) filters=4 kernel=3"])
    check_op("reshape", [(2, 3, 5, 7)], ["y = reshape(in0) shape=2x105"])
    check_op("reshape_4d", [(2, 3, 5, 7)], ["r = reshape(in0) shape=7x5x3x2", "y = relu(r)"])


RESNET_BLOCK = """input x: 2x64x32x32
c1 = conv2d(x) filters=64 kernel=3 padding=1 activation=relu
c2 = conv2d(c1) filters=64 kernel=3 padding=1
s = add(c2, x)
r = relu(s)
p = max_pool2d(r) kernel=2 stride=2
y = conv2d(p) filters=32 kernel=1
output y
"""


def busy_threads(command):
    """Runs `command` and returns how many of its threads used at least 50 ms of CPU, polling
    /proc/<pid>/task/*/stat (utime + stime, in clock ticks) until it exits."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ticks = {}
    while proc.poll() is None:
        try:
            for tid in os.listdir(f"/proc/{proc.pid}/task"):
                with open(f"/proc/{proc.pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks[tid] = max(ticks.get(tid, 0), int(fields[11]) + int(fields[12]))
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            pass  # the process or a thread ended between listing and reading
        time.sleep(0.02)
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({proc.returncode}):\n{out}{err}")
    print(out.strip(), flush=True)
    return sum(1 for t in ticks.values() if t >= 0.05 * os.sysconf("SC_CLK_TCK"))


def test_threads():
    """A ResNet block at 1 and 2 threads: both match the reference and each other bit for bit
    (OpenMP's static schedule gives every tile the same code whatever the thread count); 2 threads
    really run on two threads, 1 thread on one."""
    work = scratch_dir()
    model = os.path.join(work, "block.kiln")
    with open(model, "w") as f:
        f.write(RESNET_BLOCK)
    x = os.path.join(work, "x.npy")
    np.save(x, rng.standard_normal((2, 64, 32, 32)).astype(np.float32))
    run_kiln("compile", model, "-o", work, "--name", "block", "--backend", "mlir", "--seed", SEED % 1000)
    run_kiln("run", "--reference", model, "--seed", SEED % 1000, "-i", x, "-o", os.path.join(work, "ref.npy"))
    reference = np.load(os.path.join(work, "ref.npy"))
    library = os.path.join(work, "libblock.so")
    outputs = {}
    for threads in (1, 2):
        out = os.path.join(work, f"t{threads}.npy")
        run_kiln("run", library, "-i", x, "-o", out, "--threads", threads)
        outputs[threads] = np.load(out)
        assert_close(outputs[threads], reference, 1e-5, f"resnet block (mlir) at {threads} thread(s) vs reference")
    assert np.array_equal(outputs[1], outputs[2]), "1 and 2 threads give different results"
    for threads, expected in ((1, lambda n: n == 1), (2, lambda n: n >= 2)):
        busy = busy_threads([KILN, "run", library, "-i", x, "--threads", str(threads),
                             "--repeat", "200"])
        print(f"--threads {threads}: {busy} thread(s) used >= 50 ms of CPU", flush=True)
        assert expected(busy), f"--threads {threads} ran on {busy} busy thread(s)"


def tensor_type(shape):
    return f"tensor<{'x'.join(map(str, shape))}xf32>"


def check_nn(name, inputs, lines, result_shape):
    """nn IR: a @forward over inputs %in0, %in1, ... (arrays or shapes, see compare) whose `lines`
    define %y of `result_shape`; the library against the reference."""
    shapes = [data.shape if isinstance(data, np.ndarray) else data for data in inputs]
    args = ", ".join(f'%in{i}: {tensor_type(s)} {{nn.name = "in{i}"}}' for i, s in enumerate(shapes))
    model = os.path.join(scratch_dir(), f"{name}.mlir")
    with open(model, "w") as f:
        f.write(f"func.func @forward({args}) -> {tensor_type(result_shape)} {{\n"
                + "\n".join("  " + line for line in lines)
                + f"\n  return %y : {tensor_type(result_shape)}\n}}\n")
    compare(model, inputs, f"{name} mlir library vs reference")


def check_nn_op(name, inputs, op_text, result_shape):
    """check_nn of one op `%y = <op_text> : (input types) -> result type`."""
    shapes = [data.shape if isinstance(data, np.ndarray) else data for data in inputs]
    signature = f"({', '.join(map(tensor_type, shapes))}) -> {tensor_type(result_shape)}"
    check_nn(name, inputs, [f"%y = {op_text} : {signature}"], result_shape)


UNARY_FUNCTIONS = ["exp", "log", "sqrt", "abs", "erf", "floor", "ceil", "neg", "reciprocal", "round", "sign", "step",
                   "pow", "elu", "selu", "celu", "softplus", "softsign", "mish", "gelu", "gelu_tanh",
                   "thresholded_relu", "silu", "affine"]
RANKS_1_TO_6 = [(7,), (3, 5), (2, 3, 5), (2, 3, 4, 5), (1, 2, 3, 2, 3), (2, 1, 3, 2, 2, 3)]


def unary_input(fn, shape):
    """Inputs inside fn's domain: positive for log, sqrt, pow (alpha 0.7) and reciprocal, whole and
    half numbers for round (halves go to even), standard normal otherwise."""
    if fn in ("log", "sqrt", "pow", "reciprocal"):
        return np.abs(rng.standard_normal(shape)) + 0.1
    if fn == "round":
        return rng.integers(-8, 8, shape) / 2
    return rng.standard_normal(shape)


def unary_attributes(fn):
    return f'{{fn = "{fn}", alpha = 0.7 : f32, beta = 1.3 : f32}}'


def test_unary():
    """Every nn.unary function, ranks 1 to 6 in turn; pow also with an integer exponent of
    negative numbers (libm's powf, not exp(y log x))."""
    for i, fn in enumerate(UNARY_FUNCTIONS):
        shape = RANKS_1_TO_6[i % len(RANKS_1_TO_6)]
        check_nn(f"unary_{fn}", [unary_input(fn, shape)], [f"%y = nn.unary %in0 {unary_attributes(fn)} : {tensor_type(shape)}"],
                 shape)
    check_nn("unary_pow_cube", [(3, 5, 7)], ['%y = nn.unary %in0 {fn = "pow", alpha = 3.0 : f32} : tensor<3x5x7xf32>'],
             (3, 5, 7))


def test_pow_prelu():
    positive = np.abs(rng.standard_normal((2, 3, 5, 7))) + 0.1
    check_nn_op("pow_broadcast", [positive, (3, 1, 7)], "nn.pow %in0, %in1", (2, 3, 5, 7))
    check_nn_op("pow_integer_exponents", [(3, 5, 7), rng.integers(-3, 4, (5, 1)).astype(np.float32)],
                "nn.pow %in0, %in1", (3, 5, 7))
    check_nn_op("prelu_channels", [(2, 3, 5, 7), (3, 1, 1)], "nn.prelu %in0, %in1", (2, 3, 5, 7))
    check_nn_op("prelu_scalar_slope", [(3, 11), (1,)], "nn.prelu %in0, %in1", (3, 11))


def test_transpose_slice_broadcast():
    check_nn_op("transpose_nhwc", [(2, 3, 5, 7)], "nn.transpose %in0 {perm = array<i64: 0, 2, 3, 1>}", (2, 5, 7, 3))
    check_nn_op("transpose_rank6", [(2, 3, 1, 5, 2, 3)], "nn.transpose %in0 {perm = array<i64: 5, 2, 0, 4, 1, 3>}",
                (3, 1, 2, 2, 3, 5))
    check_nn_op("transpose_rank2", [(5, 9)], "nn.transpose %in0 {perm = array<i64: 1, 0>}", (9, 5))
    check_nn_op("slice_steps", [(3, 7, 9)], "nn.slice %in0 {starts = array<i64: 1, 2, 0>, steps = array<i64: 1, 2, 3>}",
                (2, 3, 3))
    check_nn_op("slice_negative_steps", [(3, 7, 9)],
                "nn.slice %in0 {starts = array<i64: 2, 6, 8>, steps = array<i64: -1, -2, -3>}", (3, 3, 3))
    check_nn_op("slice_flip_mixed", [(2, 5, 6, 3)],
                "nn.slice %in0 {starts = array<i64: 1, 4, 1, 0>, steps = array<i64: 1, -1, 2, 1>}", (1, 5, 3, 3))
    check_nn_op("slice_flip_rank1", [(11,)], "nn.slice %in0 {starts = array<i64: 10>, steps = array<i64: -1>}", (11,))
    check_nn("slice_steps_then_exp", [(2, 64, 40)], [
        "%s = nn.slice %in0 {starts = array<i64: 0, 1, 3>, steps = array<i64: 1, 2, 2>} "
        ": (tensor<2x64x40xf32>) -> tensor<2x32x16xf32>",
        '%y = nn.unary %s {fn = "exp"} : tensor<2x32x16xf32>'], (2, 32, 16))
    check_nn_op("broadcast_rank5", [(3, 1, 5)], "nn.broadcast %in0", (2, 4, 3, 7, 5))
    check_nn_op("broadcast_scalar", [(1,)], "nn.broadcast %in0", (3, 4))


REDUCE_KINDS = ["sum", "mean", "max", "min", "prod", "sum_square", "l1", "l2", "log_sum", "log_sum_exp", "arg_max",
                "arg_min"]


def reduce_case(kind):
    """(input, axes): arg_* reduce one axis; log_sum takes positive inputs; prod values near 1."""
    if kind.startswith("arg"):
        return (3, 7, 5, 2), [2]
    if kind in ("log_sum", "prod"):
        return np.abs(rng.standard_normal((3, 7, 5, 2))) * 0.5 + 0.75, [0, 2]
    return (3, 7, 5, 2), [0, 2]


def reduced_shape(shape, axes):
    return tuple(1 if d in axes else n for d, n in enumerate(shape))


def reduce_text(op, kind, axes):
    return f'{op} {{kind = "{kind}", axes = array<i64: {", ".join(map(str, axes))}>}}'


def test_reduce():
    """Every kind over two of four axes (batch 3), sums over a rank-1 and all of a rank-3 tensor,
    reductions long enough for the schedule to tile them, arg_max / arg_min with ties (the first
    extreme wins)."""
    for kind in REDUCE_KINDS:
        data, axes = reduce_case(kind)
        shape = data.shape if isinstance(data, np.ndarray) else data
        check_nn_op(f"reduce_{kind}", [data], reduce_text("nn.reduce %in0", kind, axes), reduced_shape(shape, axes))
    # Few outputs: positive inputs, so that no sum cancels to a value f32 rounding swamps.
    positive = lambda shape: np.abs(rng.standard_normal(shape)) + 0.1
    check_nn_op("reduce_rank1", [positive((13,))], reduce_text("nn.reduce %in0", "mean", [0]), (1,))
    check_nn_op("reduce_all", [positive((3, 7, 5))], reduce_text("nn.reduce %in0", "sum", [0, 1, 2]), (1, 1, 1))
    check_nn_op("reduce_sum_tiled", [positive((4, 67, 33))], reduce_text("nn.reduce %in0", "sum", [1, 2]), (4, 1, 1))
    check_nn_op("reduce_arg_min_tiled", [(4, 33, 67)], reduce_text("nn.reduce %in0", "arg_min", [2]), (4, 33, 1))
    ties = rng.integers(0, 3, (4, 9)).astype(np.float32)
    for kind in ("arg_max", "arg_min"):
        check_nn_op(f"reduce_{kind}_ties", [ties], reduce_text("nn.reduce %in0", kind, [1]), (4, 1))


def test_matmul():
    """2-D; a batched lhs times a 2-D rhs (or [1, K, N]); equal batches; batches broadcast both ways;
    sizes that the schedule tiles (K 64, N 48)."""
    cases = [((5, 7), (7, 3)), ((2, 3, 5, 7), (7, 3)), ((5, 7), (1, 7, 3)), ((4, 5, 7), (4, 7, 6)),
             ((2, 1, 5, 7), (3, 7, 4)), ((5, 7), (3, 7, 4)), ((2, 3, 17, 64), (2, 3, 64, 48)),
             ((2, 1, 3, 1, 5, 7), (2, 1, 4, 7, 3))]
    for lhs, rhs in cases:
        batch = np.broadcast_shapes(lhs[:-2], rhs[:-2])
        check_nn_op(f"matmul_{'x'.join(map(str, lhs))}_{'x'.join(map(str, rhs))}", [lhs, rhs], "nn.matmul %in0, %in1",
                    (*batch, lhs[-2], rhs[-1]))


def test_unary_fused_after_conv_and_matmul():
    """nn.unary consumers of a conv2d (batch 2, stride 2, odd sizes) and of a batched matmul: the
    schedule fuses them into the anchor's tiles (tests/lit/compiler/linalg/schedule_matmul_unary.mlir)."""
    check_nn("conv_gelu", [(2, 16, 15, 13)], [
        '%w = nn.param "c.weight" : tensor<32x16x3x3xf32>',
        '%b = nn.param "c.bias" : tensor<32xf32>',
        "%c = nn.conv2d %in0, %w, %b {dilations = array<i64: 1, 1>, groups = 1 : i64, "
        "padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} "
        ": (tensor<2x16x15x13xf32>, tensor<32x16x3x3xf32>, tensor<32xf32>) -> tensor<2x32x8x7xf32>",
        '%e = nn.unary %c {fn = "elu", alpha = 0.5 : f32} : tensor<2x32x8x7xf32>',
        '%y = nn.unary %e {fn = "gelu"} : tensor<2x32x8x7xf32>'], (2, 32, 8, 7))
    check_nn("matmul_mish", [(3, 9, 16), (3, 16, 32)], [
        "%m = nn.matmul %in0, %in1 : (tensor<3x9x16xf32>, tensor<3x16x32xf32>) -> tensor<3x9x32xf32>",
        '%y = nn.unary %m {fn = "mish"} : tensor<3x9x32xf32>'], (3, 9, 32))


def test_training_ops():
    """The gradient ops in @forward (inputs x and dy, output dx): unary_grad of every function,
    reduce_grad of every kind (y from nn.reduce of x, so max / min ties are real), slice_grad with
    positive and negative steps, small and large enough to be vectorised."""
    for i, fn in enumerate(UNARY_FUNCTIONS):
        shape = RANKS_1_TO_6[i % len(RANKS_1_TO_6)]
        check_nn_op(f"unary_grad_{fn}", [unary_input(fn, shape), shape],
                    f"nn.unary_grad %in0, %in1 {unary_attributes(fn)}", shape)
    cases = [(kind, kind, *reduce_case(kind)) for kind in REDUCE_KINDS]
    cases.append(("max_ties", "max", rng.integers(0, 3, (4, 6, 5)).astype(np.float32), [1]))
    for name, kind, data, axes in cases:
        shape = data.shape if isinstance(data, np.ndarray) else data
        reduced = reduced_shape(shape, axes)
        check_nn(f"reduce_grad_{name}", [data, reduced], [
            f"%r = {reduce_text('nn.reduce %in0', kind, axes)} : ({tensor_type(shape)}) -> {tensor_type(reduced)}",
            f"%y = {reduce_text('nn.reduce_grad %in0, %r, %in1', kind, axes)} "
            f": ({tensor_type(shape)}, {tensor_type(reduced)}, {tensor_type(reduced)}) -> {tensor_type(shape)}"], shape)
    check_nn_op("slice_grad_steps", [(2, 3, 3)],
                "nn.slice_grad %in0 {starts = array<i64: 1, 2, 0>, steps = array<i64: 1, 2, 3>}", (3, 7, 9))
    check_nn_op("slice_grad_negative_steps", [(3, 3, 3)],
                "nn.slice_grad %in0 {starts = array<i64: 2, 6, 8>, steps = array<i64: -1, -2, -3>}", (3, 7, 9))
    check_nn_op("slice_grad_vectorised", [(2, 32, 20)],
                "nn.slice_grad %in0 {starts = array<i64: 0, 63, 1>, steps = array<i64: 1, -2, 2>}", (2, 64, 40))


def test_gathers_from_slices():
    """Ops that gather (slice_grad, resize) reading a slice of their input: the slice is a strided
    view once bufferized, which the vectorised gathers must index as such (torch.chunk's gradient
    read another batch element's channels: ConvertNNToLinalg.cpp, readSlicesFromTheirSource)."""
    check_nn("slice_grad_of_a_slice", [(3, 6, 3, 5)], [
        "%s = nn.slice %in0 {starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} "
        ": (tensor<3x6x3x5xf32>) -> tensor<3x3x3x5xf32>",
        "%y = nn.slice_grad %s {starts = array<i64: 0, 3, 0, 0>, steps = array<i64: 1, 1, 1, 1>} "
        ": (tensor<3x3x3x5xf32>) -> tensor<3x6x3x5xf32>"], (3, 6, 3, 5))
    check_nn("resize_of_a_slice", [(2, 7, 5, 9)], [
        "%s = nn.slice %in0 {starts = array<i64: 0, 1, 1, 0>, steps = array<i64: 1, 2, 1, 2>} "
        ": (tensor<2x7x5x9xf32>) -> tensor<2x3x4x5xf32>",
        '%y = nn.resize %s {mode = "bilinear", size = array<i64: 9, 11>} : (tensor<2x3x4x5xf32>) -> tensor<2x3x9x11xf32>'],
             (2, 3, 9, 11))


main([test_lenet5_classic, test_lenet5_modern_batch3, test_convolutions, test_pooling, test_elementwise,
      test_dense_softmax_flatten_dropout_concat, test_conv_transpose, test_resize, test_lrn_log_softmax_global_max_pool,
      test_pad_reshape, test_threads, test_unary, test_pow_prelu, test_transpose_slice_broadcast, test_reduce,
      test_matmul, test_unary_fused_after_conv_and_matmul, test_training_ops, test_gathers_from_slices])
