"""The MLIR backend (kiln compile --backend mlir) end to end: LeNet-5 and single-op models (every
op the Halide backend runs at inference), the library against the reference interpreter (seeded
weights, fresh random inputs, odd sizes, rel L2 <= 1e-5). The seed networks under this backend
are tests/models/test_models.py --backend mlir."""
import os
import subprocess
import sys
import time

import numpy as np

from kiln_testing import KILN, assert_close, fresh_seed, main, run_kiln, scratch_dir

EXAMPLES = sys.argv[1]
SEED = fresh_seed()
rng = np.random.default_rng(SEED)


def compare(model, input_shapes, what, batch=None):
    """Compiles `model` with --backend mlir, runs it and the reference on the same inputs, compares."""
    work = scratch_dir()
    bindings = []
    for i, shape in enumerate(input_shapes):
        path = os.path.join(work, f"in{i}.npy")
        np.save(path, rng.standard_normal(shape).astype(np.float32))
        bindings += ["-i", path if len(input_shapes) == 1 else f"in{i}={path}"]
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


main([test_lenet5_classic, test_lenet5_modern_batch3, test_convolutions, test_pooling, test_elementwise,
      test_dense_softmax_flatten_dropout_concat, test_conv_transpose, test_resize, test_lrn_log_softmax_global_max_pool,
      test_pad_reshape, test_threads])
