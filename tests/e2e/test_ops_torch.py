"""Every nn op, written in the text format, run by the reference interpreter and by a compiled
library, against PyTorch on odd shapes (stride > 1, asymmetric padding, dilation, groups, batch > 1)."""
import os

import numpy as np
import torch
import torch.nn.functional as F

from kiln_testing import assert_close, fresh_seed, main, run_kiln, scratch_dir, write_safetensors

SEED = fresh_seed()
rng = np.random.default_rng(SEED)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def check(name, input_shapes, layer_lines, params, torch_fn, compile_args=()):
    """Writes a one-layer model, runs reference and library (compiled with compile_args), compares
    both with torch_fn(*inputs)."""
    work = scratch_dir()
    inputs = {f"in{i}": randn(*s) for i, s in enumerate(input_shapes)}
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
    assert_close(np.load(os.path.join(work, "ref.npy")), expected, 1e-5, f"{name} reference vs PyTorch")
    run_kiln("compile", model, "-o", work, "--name", "op", "--weights", weights, *compile_args)
    run_kiln("run", os.path.join(work, "libop.so"), *bindings, "-o", os.path.join(work, "lib.npy"))
    assert_close(np.load(os.path.join(work, "lib.npy")), expected, 1e-5, f"{name} library vs PyTorch")


def t(array):
    return torch.from_numpy(array)


def test_conv_stride2_asymmetric_padding_batch2():
    w, b = randn(5, 3, 3, 3), randn(5)
    check("conv_s2", [(2, 3, 11, 13)], ["y = conv2d(in0) filters=5 kernel=3 stride=2 padding=1,0,2,1"],
          {"y.weight": w, "y.bias": b},
          lambda x: F.conv2d(F.pad(x, (0, 1, 1, 2)), t(w), t(b), stride=2))


def test_conv3x3_winograd_on_and_off_odd_batch2():
    w, b = randn(24, 16, 3, 3), randn(24)
    for mode in ("on", "off"):
        check(f"conv_winograd_{mode}", [(2, 16, 13, 11)], ["y = conv2d(in0) filters=24 kernel=3 padding=1,0,1,1"],
              {"y.weight": w, "y.bias": b},
              lambda x: F.conv2d(F.pad(x, (0, 1, 1, 1)), t(w), t(b)), compile_args=("--winograd", mode))


def test_conv_dilation2_groups2_rect_kernel():
    w, b = randn(6, 2, 3, 5), randn(6)
    check("conv_dil", [(1, 4, 13, 11)], ["y = conv2d(in0) filters=6 kernel=3x5 dilation=2 groups=2 padding=2"],
          {"y.weight": w, "y.bias": b},
          lambda x: F.conv2d(x, t(w), t(b), padding=2, dilation=2, groups=2))


def test_conv_depthwise_stride3_same():
    w, b = randn(4, 1, 7, 7), randn(4)
    check("conv_dw", [(3, 4, 10, 9)], ["y = conv2d(in0) filters=4 kernel=7 stride=3 groups=4 padding=same"],
          {"y.weight": w, "y.bias": b},
          # TensorFlow SAME: output ceil(in/stride), the extra padding cell at the bottom/right.
          lambda x: F.conv2d(F.pad(x, same_pad(x, 7, 3)), t(w), t(b), stride=3, groups=4))


def same_pad(x, k, s):
    pads = []
    for size in (x.shape[3], x.shape[2]):
        out = -(-size // s)
        total = max(0, (out - 1) * s + k - size)
        pads += [total // 2, total - total // 2]
    return tuple(pads)


def test_conv_1x1_no_bias():
    w = randn(7, 5, 1, 1)
    check("conv_1x1", [(2, 5, 9, 7)], ["y = conv2d(in0) filters=7 kernel=1 bias=false"], {"y.weight": w},
          lambda x: F.conv2d(x, t(w)))


def test_max_pool_padding_stride():
    check("maxpool", [(2, 3, 11, 9)], ["y = max_pool2d(in0) kernel=3 stride=2 padding=1"], {},
          lambda x: F.max_pool2d(x, 3, 2, padding=1))


def test_avg_pool_count_include_pad():
    check("avgpool_incl", [(1, 3, 9, 11)], ["y = avg_pool2d(in0) kernel=3 stride=2 padding=1 count_include_pad=true"],
          {}, lambda x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=True))


def test_avg_pool_exclude_pad():
    check("avgpool_excl", [(2, 2, 7, 7)], ["y = avg_pool2d(in0) kernel=3 stride=2 padding=1"], {},
          lambda x: F.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False))


def test_global_avg_pool():
    check("gap", [(3, 5, 7, 9)], ["y = global_avg_pool(in0)"], {}, lambda x: F.adaptive_avg_pool2d(x, 1))


def test_batch_norm():
    g, b, m, v = randn(5), randn(5), randn(5), rng.uniform(0.5, 2.0, 5).astype(np.float32)
    check("bn", [(2, 5, 7, 3)], ["y = batch_norm(in0) epsilon=0.001"],
          {"y.weight": g, "y.bias": b, "y.running_mean": m, "y.running_var": v},
          lambda x: F.batch_norm(x, t(m), t(v), t(g), t(b), training=False, eps=1e-3))


def test_activations():
    check("relu", [(2, 3, 5, 7)], ["y = relu(in0)"], {}, F.relu)
    check("tanh", [(1, 3, 5, 7)], ["y = tanh(in0)"], {}, torch.tanh)
    check("sigmoid", [(2, 17)], ["y = sigmoid(in0)"], {}, torch.sigmoid)
    check("leaky", [(1, 2, 3, 5)], ["y = leaky_relu(in0) alpha=0.2"], {}, lambda x: F.leaky_relu(x, 0.2))


def test_dense_softmax_flatten_dropout():
    w, b = randn(11, 60), randn(11)
    check("dense", [(3, 3, 4, 5)],
          ["f = flatten(in0)", "d = dropout(f) rate=0.5", "y = dense(d) units=11 activation=softmax"],
          {"y.weight": w, "y.bias": b}, lambda x: F.softmax(F.linear(torch.flatten(x, 1), t(w), t(b)), 1))


def test_add_concat():
    check("add", [(2, 3, 5, 7), (2, 3, 5, 7)], ["y = add(in0, in1)"], {}, torch.add)
    check("concat", [(2, 3, 5, 7), (2, 4, 5, 7)], ["y = concat(in0, in1) axis=1"], {},
          lambda a, b: torch.cat([a, b], 1))


main([test_conv_stride2_asymmetric_padding_batch2, test_conv3x3_winograd_on_and_off_odd_batch2,
      test_conv_dilation2_groups2_rect_kernel,
      test_conv_depthwise_stride3_same, test_conv_1x1_no_bias, test_max_pool_padding_stride,
      test_avg_pool_count_include_pad, test_avg_pool_exclude_pad, test_global_avg_pool, test_batch_norm,
      test_activations, test_dense_softmax_flatten_dropout, test_add_concat])
