"""Training end to end: `kiln compile --train` + `kiln train` against PyTorch given the same initial
weights and batches. Parameters (and batch-norm running statistics) after two steps must match
PyTorch's to relative L2 1e-4, for every optimizer, on LeNet-5 and on a small residual block
with batch norm (running statistics included); a save -> load -> continue run must repeat an
uninterrupted one exactly; errors name the layer at fault. Whole networks exported from PyTorch
to ONNX (ConvNeXt, MobileNetV3 and ShuffleNet blocks, a U-Net, attention over a feature map)
train as PyTorch does, parameter changes included (docs/training.md, Tests). Usage:
test_training.py [EXAMPLES_DIR] [--backend halide|mlir] (the backend that compiles every
library; ctest runs both)."""
import argparse
import json
import math
import os
import re
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from kiln_testing import assert_close, fresh_seed, main, rel_l2, run_kiln, scratch_dir, write_safetensors

_parser = argparse.ArgumentParser()
_parser.add_argument("examples", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
_parser.add_argument("--backend", choices=["halide", "mlir"], default="halide")
_args = _parser.parse_args()
EXAMPLES, BACKEND = _args.examples, _args.backend
BATCH = 4
TOL = 1e-4
UPDATE_TOL = 1e-3
LR = {"sgd": 0.05, "momentum": 0.05, "nesterov": 0.05, "rmsprop": 0.002, "adam": 0.003}
rng = np.random.default_rng(fresh_seed())


class LeNet5(nn.Module):
    """examples/lenet5/lenet5.kiln, attribute names = Kiln layer names."""

    def __init__(self):
        super().__init__()
        self.c1, self.c3, self.c5 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5), nn.Conv2d(16, 120, 5)
        self.f6, self.out = nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.c3(x)), 2)
        x = torch.flatten(torch.tanh(self.c5(x)), 1)
        return self.out(torch.tanh(self.f6(x)))


RESBLOCK = """input x: 4x3x9x9
c1 = conv2d(x) filters=8 kernel=3 padding=same bias=false
bn1 = batch_norm(c1) activation=relu
c2 = conv2d(bn1) filters=8 kernel=3 padding=same bias=false
bn2 = batch_norm(c2)
sc = conv2d(x) filters=8 kernel=1 bias=false
s = add(bn2, sc) activation=relu
p = max_pool2d(s) kernel=3 stride=2
g = global_avg_pool(p)
f = flatten(g)
out = dense(f) units=5
output out
"""


class ResBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.c2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.sc, self.out = nn.Conv2d(3, 8, 1, bias=False), nn.Linear(8, 5)

    def forward(self, x):
        y = self.bn2(self.c2(F.relu(self.bn1(self.c1(x)))))
        s = F.relu(y + self.sc(x))
        return self.out(torch.flatten(F.adaptive_avg_pool2d(F.max_pool2d(s, 3, 2), 1), 1))


def torch_optimizer(name, params, lr):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name in ("momentum", "nesterov"):
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=name == "nesterov")
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.99, eps=1e-8)
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        assert info["dtype"] == "F32", f"{name}: dtype {info['dtype']}"
        tensors[name] = np.frombuffer(data[8 + n + begin:8 + n + end], "<f4").reshape(info["shape"])
    return tensors, meta


def losses_of(output):
    """Per-epoch mean losses from `kiln train`'s plain (non-TTY) output."""
    return [float(v) for v in re.findall(r"epoch \d+/\d+.*?loss ([0-9.eE+-]+)", output)]


def random_batches(work, input_shape, output_shape, loss, steps):
    """`steps` batches of inputs (input_shape per sample) and labels (class indices below
    output_shape[0], or mse targets of output_shape), also saved as work/x.npy and work/y.npy."""
    x = rng.standard_normal((BATCH * steps,) + tuple(input_shape)).astype(np.float32)
    if loss == "mse":
        y = rng.standard_normal((BATCH * steps,) + tuple(output_shape)).astype(np.float32)
    else:
        y = rng.integers(0, output_shape[0], BATCH * steps).astype(np.int64)
    np.save(os.path.join(work, "x.npy"), x)
    np.save(os.path.join(work, "y.npy"), y)
    return x, y


def kiln_train(lib, work):
    """One epoch of `kiln train` over work/x.npy and work/y.npy in order: (the checkpoint's
    tensors, its metadata, the epoch's mean loss)."""
    ck = os.path.join(work, "after.safetensors")
    out = run_kiln("train", lib, "--x", os.path.join(work, "x.npy"), "--y", os.path.join(work, "y.npy"),
                   "--epochs", 1, "--no-shuffle", "--save", ck)
    losses = losses_of(out.stdout + out.stderr)
    assert losses, f"no loss in kiln train's output:\n{out.stdout}{out.stderr}"
    return (*read_safetensors(ck), losses[0])


def torch_train(net, x, y, optimizer, loss, steps):
    """The same steps in PyTorch (net in its current mode); the mean loss."""
    opt = torch_optimizer(optimizer, net.parameters(), LR[optimizer])
    losses = []
    for s in range(steps):
        xb, yb = torch.from_numpy(x[s * BATCH:(s + 1) * BATCH]), torch.from_numpy(y[s * BATCH:(s + 1) * BATCH])
        opt.zero_grad()
        out = net(xb)
        step_loss = F.mse_loss(out, yb) if loss == "mse" else F.cross_entropy(out, yb)
        step_loss.backward()
        opt.step()
        losses.append(step_loss.item())
    return float(np.mean(losses))


def compile_training(work, model, name, weights, optimizer, loss="softmax_cross_entropy", batch=BATCH, extra=()):
    lib = os.path.join(work, name)
    run_kiln("compile", model, "-o", lib, "--name", name, "--batch", batch, "--weights", weights, "--train",
             "--loss", loss, "--optimizer", optimizer, "--lr", LR[optimizer], "--backend", BACKEND, *extra)
    return os.path.join(lib, f"lib{name}.so")


def check_against_torch(net, model_path, optimizer, loss="softmax_cross_entropy", steps=2, extra=()):
    """Trains `net` (PyTorch, train mode) and the Kiln library (compiled with the `extra` options)
    for `steps` batches; compares."""
    work = scratch_dir()
    torch.manual_seed(int(rng.integers(1 << 30)))
    net.train()
    for m in net.modules():  # non-trivial batch-norm affine parameters
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items() if "num_batches" not in k}
    weights = os.path.join(work, "init.safetensors")
    write_safetensors(weights, state)
    x, y = random_batches(work, _input_shape(net), (net.out.out_features,), loss, steps)
    lib = compile_training(work, model_path, "net", weights, optimizer, loss, extra=extra)
    got, meta, kiln_loss = kiln_train(lib, work)
    torch_loss = torch_train(net, x, y, optimizer, loss, steps)
    what = f"{type(net).__name__} {optimizer} {loss} ({BACKEND} {' '.join(map(str, extra))})"
    for k, v in net.state_dict().items():
        if "num_batches" in k:
            continue
        assert k in got, f"{what}: checkpoint lacks '{k}' (has {sorted(got)})"
        assert_close(got[k], v.numpy(), TOL, f"{what}: {k} after {steps} steps")
    assert_close(kiln_loss, torch_loss, TOL, f"{what}: epoch mean loss")
    assert int(meta.get("kiln.step", -1)) == steps, f"{what}: checkpoint step {meta.get('kiln.step')}"


def _input_shape(net):
    return (1, 32, 32) if isinstance(net, LeNet5) else (3, 9, 9)


def lenet5_path():
    return os.path.join(EXAMPLES, "lenet5", "lenet5.kiln")


def resblock_path():
    path = os.path.join(scratch_dir(), "resblock.kiln")
    with open(path, "w") as f:
        f.write(RESBLOCK)
    return path


def make_optimizer_test(net_fn, path_fn, optimizer, loss="softmax_cross_entropy"):
    def test():
        check_against_torch(net_fn(), path_fn(), optimizer, loss)
    test.__name__ = f"test_{net_fn.__name__.lower()}_{optimizer}_{loss}"
    return test


def test_step_in_pipelines():
    """The Halide step compiled as one pipeline per fused group (the most cuts) and as one pipeline."""
    if BACKEND != "halide":
        return
    check_against_torch(ResBlock(), resblock_path(), "adam", extra=("--pipeline-ops", 1))
    check_against_torch(LeNet5(), lenet5_path(), "nesterov", extra=("--pipeline-ops", 0))


def test_save_load_continue():
    """Two epochs straight == one epoch, save, load into a fresh process, one more epoch."""
    work = scratch_dir()
    x = rng.standard_normal((3 * BATCH, 1, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, 3 * BATCH).astype(np.int32)
    np.save(os.path.join(work, "x.npy"), x)
    np.save(os.path.join(work, "y.npy"), y)
    net = LeNet5()
    write_safetensors(os.path.join(work, "w.safetensors"), {k: v.detach().numpy() for k, v in net.state_dict().items()})
    lib = compile_training(work, lenet5_path(), "net", os.path.join(work, "w.safetensors"), "adam")
    data = ["--x", os.path.join(work, "x.npy"), "--y", os.path.join(work, "y.npy"), "--no-shuffle"]
    straight = run_kiln("train", lib, *data, "--epochs", 2, "--save", os.path.join(work, "straight.safetensors"))
    run_kiln("train", lib, *data, "--epochs", 1, "--save", os.path.join(work, "half.safetensors"))
    resumed = run_kiln("train", lib, *data, "--epochs", 1, "--load", os.path.join(work, "half.safetensors"),
                       "--save", os.path.join(work, "resumed.safetensors"))
    a, b = losses_of(straight.stdout + straight.stderr), losses_of(resumed.stdout + resumed.stderr)
    assert len(a) == 2 and len(b) == 1 and a[1] == b[0], f"losses {a} vs resumed {b}"
    full, meta_full = read_safetensors(os.path.join(work, "straight.safetensors"))
    res, meta_res = read_safetensors(os.path.join(work, "resumed.safetensors"))
    assert sorted(full) == sorted(res) and meta_full.get("kiln.step") == meta_res.get("kiln.step") == "6"
    for k in full:
        assert np.array_equal(full[k], res[k]), f"'{k}' differs after resume"
    assert any(k.startswith("optimizer.") for k in full), "optimizer state not in the checkpoint"


def test_dropout_trains():
    """A net with dropout trains (loss falls on a fixed batch) and two runs give the same result."""
    work = scratch_dir()
    model = os.path.join(work, "drop.kiln")
    with open(model, "w") as f:
        f.write("input x: 8x16\nh = dense(x) units=32 activation=relu\nd = dropout(h) rate=0.3\n"
                "out = dense(d) units=4\noutput out\n")
    x = rng.standard_normal((8, 16)).astype(np.float32)
    np.save(os.path.join(work, "x.npy"), x)
    np.save(os.path.join(work, "y.npy"), rng.integers(0, 4, 8).astype(np.int64))
    lib = os.path.join(work, "lib")
    run_kiln("compile", model, "-o", lib, "--name", "drop", "--train", "--optimizer", "momentum", "--lr", 0.05,
             "--backend", BACKEND)
    args = ["train", os.path.join(lib, "libdrop.so"), "--x", os.path.join(work, "x.npy"), "--y",
            os.path.join(work, "y.npy"), "--epochs", 30]
    outputs = [run_kiln(*args, "--save", os.path.join(work, f"{run}.safetensors")) for run in "ab"]
    first, again = (losses_of(p.stdout + p.stderr) for p in outputs)
    assert first == again, "dropout training is not deterministic"
    assert first[-1] < 0.5 * first[0], f"loss did not fall: {first[0]} -> {first[-1]}"


def test_untrainable_layer_is_named():
    # Every forward op trains; a training op (resize_grad) in nn IR's @forward has no rule.
    work = scratch_dir()
    model = os.path.join(work, "grad.mlir")
    with open(model, "w") as f:
        f.write('func.func @forward(%x: tensor<2x4x5x5xf32> {nn.name = "x"}) -> (tensor<2x100xf32> {nn.name = "y"}) {\n'
                '  %w = nn.param "c.weight" : tensor<4x4x1x1xf32>\n'
                '  %c = nn.conv2d %x, %w {strides = array<i64: 1, 1>, padding = array<i64: 0, 0, 0, 0>, '
                'dilations = array<i64: 1, 1>, groups = 1 : i64} '
                ': (tensor<2x4x5x5xf32>, tensor<4x4x1x1xf32>) -> tensor<2x4x5x5xf32>\n'
                '  %n = nn.resize_grad %c {mode = "nearest"} : (tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xf32>\n'
                '  %f = nn.flatten %n : (tensor<2x4x5x5xf32>) -> tensor<2x100xf32>\n'
                '  return %f : tensor<2x100xf32>\n}\n')
    proc = run_kiln("compile", model, "-o", os.path.join(work, "out"), "--train", "--loss", "mse", "--backend",
                    BACKEND, expect_ok=False)
    assert "grad.mlir:4:" in proc.stderr and "cannot train through nn.resize_grad" in proc.stderr, proc.stderr
    assert not os.path.exists(os.path.join(work, "out", "libgrad.so"))


# ----------------------------------------------------------------------------- ONNX networks
# Whole networks as users bring them: exported from PyTorch to ONNX (default options, batch-norm
# nodes kept), `kiln compile --train`, a few steps compared with PyTorch's.


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block: depthwise 7x7, permute to NHWC, LayerNorm over channels, Linear (a MatMul
    on a 4-D tensor), GELU, Linear, layer scale, permute back, residual."""

    def __init__(self, c=6):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, stride=2)
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pw1, self.pw2 = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(torch.rand(c) + 0.5)
        self.out = nn.Linear(c, 5)

    def forward(self, x):
        x = self.stem(x)
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw2(F.gelu(self.pw1(self.norm(y))))
        x = x + (self.gamma * y).permute(0, 3, 1, 2)
        return self.out(x.mean((2, 3)))


class MobileNetV3Block(nn.Module):
    """MobileNetV3's inverted residual: hardswish, depthwise stride 2, squeeze-excite (mean over
    H, W, Linear, ReLU, Linear, hardsigmoid, mul), PReLU; ELU, SELU, Mish, SiLU and Softplus
    around it; an x.view(x.size(0), -1) head."""

    def __init__(self):
        super().__init__()
        self.stem, self.bn = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8)
        self.expand = nn.Conv2d(8, 12, 1)
        self.dw = nn.Conv2d(12, 12, 5, stride=2, padding=2, groups=12)
        self.se1, self.se2 = nn.Linear(12, 5), nn.Linear(5, 12)
        self.project, self.prelu = nn.Conv2d(12, 8, 1), nn.PReLU(8)
        self.fc, self.out = nn.Linear(8 * 4 * 3, 12), nn.Linear(12, 5)

    def forward(self, x):
        x = F.hardswish(self.bn(self.stem(x)))
        y = F.hardswish(self.dw(F.elu(self.expand(x))))
        s = F.hardsigmoid(self.se2(F.relu(self.se1(y.mean((2, 3))))))
        y = self.prelu(self.project(y * s[:, :, None, None]))
        h = F.selu(self.fc(y.view(y.size(0), -1)))
        return self.out(F.mish(h) + F.silu(h) - F.softplus(h))


def channel_shuffle(x, groups):
    n, c, h, w = x.size()
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


class ShuffleBlock(nn.Module):
    """ShuffleNetV2's units: a stride-2 unit (two branches, cat, channel shuffle), a stride-1 unit
    (chunk, one branch, cat, shuffle), an uneven torch.split, an x.view(x.size(0), -1) head."""

    def __init__(self, c=6):
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.left = nn.Sequential(nn.Conv2d(c, c, 3, 2, 1, groups=c, bias=False), nn.BatchNorm2d(c), nn.Conv2d(c, c, 1),
                                  nn.ReLU())
        self.right = nn.Sequential(nn.Conv2d(c, c, 1), nn.ReLU(), nn.Conv2d(c, c, 3, 2, 1, groups=c, bias=False),
                                   nn.BatchNorm2d(c), nn.Conv2d(c, c, 1), nn.ReLU())
        self.branch = nn.Sequential(nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                                    nn.Conv2d(c, c, 3, 1, 1, groups=c), nn.Conv2d(c, c, 1), nn.ReLU())
        self.out = nn.Linear(2 * c + 5, 5)

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = channel_shuffle(torch.cat([self.left(x), self.right(x)], 1), 2)
        a, b = x.chunk(2, dim=1)
        x = channel_shuffle(torch.cat([a, self.branch(b)], 1), 2)
        first, rest = torch.split(x, [5, x.size(1) - 5], dim=1)
        x = F.adaptive_avg_pool2d(torch.cat([first, torch.tanh(rest), first * first], 1), 1)
        return self.out(x.view(x.size(0), -1))


class SmallUNet(nn.Module):
    """A U-Net: strided-conv encoder, ConvTranspose2d and bilinear F.interpolate decoders (to the
    skip's size, and x2 with align_corners then cropped), skip connections by cat; a dense output."""

    def __init__(self):
        super().__init__()
        self.enc1, self.down1 = nn.Conv2d(3, 6, 3, padding=1), nn.Conv2d(6, 8, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.up1 = nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1)
        self.dec2, self.dec1 = nn.Conv2d(16, 8, 3, padding=1), nn.Conv2d(20, 3, 3, padding=1)

    def forward(self, x):
        e1 = F.relu(self.enc1(x))
        e2 = F.relu(self.down1(e1))
        e3 = F.leaky_relu(self.down2(e2), 0.1)
        up3 = F.interpolate(e3, scale_factor=2, mode="bilinear", align_corners=True)[:, :, :e2.size(2), :e2.size(3)]
        d2 = F.relu(self.dec2(torch.cat([e2, up3], 1)))
        up2 = F.interpolate(d2, size=e1.shape[2:], mode="bilinear", align_corners=False)
        return self.dec1(torch.cat([e1, self.up1(d2), up2], 1))


class FeatureMapAttention(nn.Module):
    """Multi-head self-attention over a flattened feature map: tokens = flatten(2).transpose,
    Linear to q, k, v (chunk), heads by reshape and transpose, softmax(q k^T / sqrt(d)) v as
    batched matmuls, projection, residual, back to [N, C, H, W]."""

    def __init__(self, c=8, heads=2):
        super().__init__()
        self.heads = heads
        self.stem = nn.Conv2d(3, c, 3, stride=2)
        self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
        self.out = nn.Linear(c, 5)

    def forward(self, x):
        f = self.stem(x)
        n, c, h, w = f.shape
        t = f.flatten(2).transpose(1, 2)
        q, k, v = (z.reshape(n, h * w, self.heads, c // self.heads).transpose(1, 2) for z in self.qkv(t).chunk(3, -1))
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(c // self.heads), dim=-1)
        t = t + self.proj((a @ v).transpose(1, 2).reshape(n, h * w, c))
        f = t.transpose(1, 2).reshape(n, c, h, w)
        return self.out(F.relu(f).amax((2, 3)))


def initial_state(net):
    """Randomises what the initialisers leave constant (norm scales and shifts, PReLU slopes,
    batch-norm running statistics), so that a gradient sent to the wrong element shows and every
    tensor is told apart by its values."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if bool((p == p.flatten()[0]).all()):
                p.uniform_(0.5, 1.5) if name.endswith("weight") else p.uniform_(-0.5, 0.5)
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)


def onnx_parameter_names(onnx_file, net):
    """Maps the parameter names Kiln gives an exported model (its ONNX initializer names, plus
    '.transposed' for a MatMul weight) to PyTorch's state_dict keys, by their values (the exporter
    may reshape a tensor: a PReLU slope [C] is an initializer [C, 1, 1])."""
    import onnx
    from onnx import numpy_helper
    state = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    names = {}
    for init in onnx.load(onnx_file).graph.initializer:
        data = numpy_helper.to_array(init)
        for key, value in state.items():
            if value.size == data.size and np.array_equal(value.ravel(), data.ravel()):
                names[init.name] = key
            elif value.ndim == 2 and value.T.shape == data.shape and np.array_equal(value.T, data):
                names[init.name + ".transposed"] = key
    return names


def check_onnx_training(net, input_shape, optimizer, loss="softmax_cross_entropy", steps=2):
    """Exports `net` to ONNX, trains it `steps` batches of BATCH with Kiln and with PyTorch from
    the same initial weights, and compares the mean loss, every parameter after the steps (rel L2
    TOL) and every parameter's change (rel L2 UPDATE_TOL: a wrong gradient shows there even when
    the change is small next to the parameter)."""
    work = scratch_dir()
    torch.manual_seed(int(rng.integers(1 << 30)))
    initial_state(net)
    onnx_file = os.path.join(work, "net.onnx")
    example = torch.randn(BATCH, *input_shape)
    net.eval()  # batch norm exported as BatchNormalization; Kiln trains it with batch statistics
    torch.onnx.export(net, example, onnx_file, input_names=["x"], output_names=["out"],
                      training=torch.onnx.TrainingMode.PRESERVE)
    with torch.no_grad():
        output_shape = net(example).shape[1:]
    net.train()
    x, y = random_batches(work, input_shape, output_shape, loss, steps)
    names = onnx_parameter_names(onnx_file, net)
    initial = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}

    lib = os.path.join(work, "lib")
    run_kiln("compile", onnx_file, "-o", lib, "--name", "net", "--batch", BATCH, "--train", "--loss", loss,
             "--optimizer", optimizer, "--lr", LR[optimizer], "--backend", BACKEND)
    got, _, kiln_loss = kiln_train(os.path.join(lib, "libnet.so"), work)
    torch_loss = torch_train(net, x, y, optimizer, loss, steps)
    what = f"{type(net).__name__} {optimizer} {loss} ({BACKEND})"
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    err = rel_l2(kiln_loss, torch_loss)
    print(f"{what}: mean loss {kiln_loss:.6g}, PyTorch's {torch_loss:.6g}: rel L2 {err:.1e}")
    wrong = [] if err <= TOL else ["the loss"]
    for name, value in got.items():
        if name.startswith("optimizer."):
            continue
        assert name in names, f"{what}: Kiln's parameter '{name}' is no PyTorch parameter (known: {sorted(names)})"
        key = names[name]
        value = value.reshape(state[key].shape)
        value_err = rel_l2(value, state[key])
        # A change below 1e-3 of the parameter counts as 1e-3 of it: a parameter without a gradient
        # (a conv bias before a batch norm) moves by rounding noise only.
        change = max(np.linalg.norm(state[key] - initial[key]), 1e-3 * np.linalg.norm(state[key]))
        update_err = np.linalg.norm(value - state[key]) / change
        print(f"{what}: {name} after {steps} steps: rel L2 {value_err:.1e}, of the change {update_err:.1e}")
        if not (value_err <= TOL and update_err <= UPDATE_TOL):
            wrong.append(name)
    checked = {names[name] for name in got if name in names}
    missing = [k for k in state if "num_batches" not in k and k not in checked]
    assert not missing, f"{what}: PyTorch's {missing} not in Kiln's checkpoint"
    assert not wrong, f"{what}: {', '.join(wrong)} differ from PyTorch's (rel L2 > {TOL:.0e}, change > {UPDATE_TOL:.0e})"


def test_convnext_block():
    check_onnx_training(ConvNeXtBlock(), (3, 15, 13), "adam")


def test_mobilenetv3_block():
    check_onnx_training(MobileNetV3Block(), (3, 13, 11), "sgd")


def test_shuffle_block():
    check_onnx_training(ShuffleBlock(), (3, 11, 9), "momentum")


def test_unet():
    check_onnx_training(SmallUNet(), (3, 9, 11), "sgd", loss="mse")


def test_feature_map_attention():
    # Not adam: the key bias has no gradient (softmax ignores a constant along its axis), and
    # adam's first step turns the rounding noise in it into steps of the full learning rate.
    check_onnx_training(FeatureMapAttention(), (3, 11, 13), "nesterov")


if __name__ == "__main__":
    tests = [make_optimizer_test(LeNet5, lenet5_path, o) for o in ["sgd", "momentum", "nesterov", "rmsprop", "adam"]]
    tests += [make_optimizer_test(ResBlock, resblock_path, o) for o in ["sgd", "momentum", "nesterov", "rmsprop", "adam"]]
    tests += [make_optimizer_test(LeNet5, lenet5_path, "sgd", "mse"), test_step_in_pipelines, test_save_load_continue,
              test_dropout_trains,
              test_untrainable_layer_is_named]
    tests += [test_convnext_block, test_mobilenetv3_block, test_shuffle_block, test_unet, test_feature_map_attention]
    main(tests)
