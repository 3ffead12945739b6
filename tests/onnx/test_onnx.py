"""ONNX frontend tests: small PyTorch models exported with torch.onnx.export at test time (fixed
seeds, odd sizes, stride 2, padding, groups, BN, Gemm, pools, concat, add), run by
`kiln run --reference` and compiled with `kiln compile`, both compared with PyTorch (relative L2 <= 1e-5);
then the import errors: a truncated file, a non-ONNX file, unsupported ops, a dynamic batch, ...;
then the PyTorch idioms of issue 14 (fresh seed per run): shape subgraphs folded, the new ops,
patterns, weights as inputs, 1-D and 3-D conv nets, 3-D and dilated pools, the ceil-mode pools libonnx
sizes differently, opsets 6, 19 and 20, and the per-node errors.

Run: KILN=build/bin/kiln PYTHONPATH=tests/e2e /usr/bin/python3 tests/onnx/test_onnx.py"""
import os
import re

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

from kiln_testing import assert_close, fresh_seed, main, run_kiln, scratch_dir

TOL = 1e-5
WORK = scratch_dir()


def path(name):
    return os.path.join(WORK, name)


def export(model, shape, name, opset=None, dynamic_batch=False, seed=0):
    """Exports model (eval mode) for an input of `shape`; returns (onnx path, input, torch output)."""
    torch.manual_seed(seed)
    x = torch.randn(*shape)
    model.eval()
    file = path(name + ".onnx")
    kwargs = {"opset_version": opset} if opset else {}
    if dynamic_batch:
        kwargs["dynamic_axes"] = {"x": {0: "N"}, "y": {0: "N"}}
    torch.onnx.export(model, x, file, input_names=["x"], output_names=["y"], **kwargs)
    with torch.no_grad():
        y = model(x)
    return file, x.numpy(), y.numpy()


def run_model(file, x, name, *extra):
    """Runs the model with the reference interpreter and as a compiled library; returns both outputs."""
    np.save(path(name + "_x.npy"), x.astype(np.float32))
    run_kiln("run", "--reference", file, "-i", path(name + "_x.npy"), "-o", path(name + "_ref.npy"), *extra)
    run_kiln("compile", file, "-o", path(name), "--name", "model", *extra)
    run_kiln("run", path(name + "/libmodel.so"), "-i", path(name + "_x.npy"), "-o", path(name + "_lib.npy"))
    return np.load(path(name + "_ref.npy")), np.load(path(name + "_lib.npy"))


def assert_both_close(outputs, expected, what):
    reference, library = outputs
    assert_close(reference, expected, TOL, what + " reference")
    assert_close(library, expected, TOL, what + " library")


def compare(model, shape, name, **kwargs):
    torch.manual_seed(1)
    for m in model.modules():  # non-trivial batch-norm statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    file, x, y = export(model, shape, name, **kwargs)
    assert_both_close(run_model(file, x, name), y, name)
    return file


def expect_error(args, *needles):
    out = path("failed-compile")
    proc = run_kiln("compile", *args, "-o", out, expect_ok=False)
    if proc.returncode != 1:
        raise AssertionError(f"kiln crashed (exit code {proc.returncode}):\n{proc.stderr}")
    if os.path.exists(out):
        raise AssertionError("a failed compile left its output directory behind")
    for needle in needles:
        if needle not in proc.stderr:
            raise AssertionError(f"expected {needle!r} in the error, got:\n{proc.stderr}")
    print(proc.stderr.strip().splitlines()[0], flush=True)
    return proc


# ----------------------------------------------------------------------------- models

class ConvNet(nn.Module):
    """Stride 2, asymmetric padding, dilation, groups, depthwise, BN, no-bias conv, activations."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 12, (3, 5), padding=(1, 2), dilation=(2, 1), groups=4, bias=False)
        self.dw = nn.Conv2d(12, 12, 3, padding=1, groups=12)
        self.c3 = nn.Conv2d(12, 6, 1, stride=(2, 1))

    def forward(self, x):
        x = F.relu(self.bn1(self.c1(x)))
        x = F.leaky_relu(self.c2(x), 0.2)
        x = torch.tanh(self.dw(x))
        return torch.sigmoid(self.c3(x))


class PoolNet(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.c = nn.Conv2d(2, 4, 3, padding=1)

    def forward(self, x):
        a = F.max_pool2d(self.c(x), 3, stride=2, padding=1)
        b = F.avg_pool2d(a, 3, stride=1, padding=1, count_include_pad=False)
        c = F.avg_pool2d(a, (3, 2), stride=(1, 2), padding=(1, 0), count_include_pad=False)
        d = F.max_pool2d(torch.cat([b, c], 3), 3, stride=2, ceil_mode=True)  # 9x14 -> 4x6 either way
        return F.adaptive_avg_pool2d(d, 1)


class ResNetish(nn.Module):
    """Add, Concat, Dropout, flatten, Linear (Gemm) and softmax."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Conv2d(3, 6, 3, padding=1)
        self.a = nn.Conv2d(6, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.b = nn.Conv2d(6, 4, 1)
        self.drop = nn.Dropout(0.3)
        self.fc1 = nn.Linear(10 * 5 * 7, 17)
        self.fc2 = nn.Linear(17, 5)

    def forward(self, x):
        x = F.relu(self.stem(x))
        r = F.relu(self.bn(self.a(x)) + x)
        y = torch.cat([r, self.b(r)], 1)
        y = self.drop(torch.flatten(y, 1))
        return F.softmax(self.fc2(F.relu(self.fc1(y))), dim=1)


class ViewNet(nn.Module):
    """x.view(N, -1) (a Reshape by a constant), MatMul + Add bias, addmm with alpha/beta (Gemm transB=0)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.c = nn.Conv2d(1, 3, 3, stride=2)
        self.w = nn.Parameter(torch.randn(27, 11) * 0.2)
        self.b = nn.Parameter(torch.randn(11))
        self.w2 = nn.Parameter(torch.randn(11, 4) * 0.3)
        self.b2 = nn.Parameter(torch.randn(4))

    def forward(self, x):
        y = self.c(x)
        y = y.view(y.size(0), -1)
        y = torch.tanh(y @ self.w + self.b)
        return torch.addmm(self.b2, y, self.w2, beta=0.5, alpha=2.0)


class FreshBN(nn.Module):
    """An untouched BatchNorm: torch shares its equal initial tensors through Identity nodes."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(5)

    def forward(self, x):
        return self.bn(x)


def test_conv_net():
    compare(ConvNet(), (2, 3, 13, 11), "conv_net")


def test_pool_net():
    compare(PoolNet(), (1, 2, 17, 17), "pool_net")


def test_resnetish():
    compare(ResNetish(), (2, 3, 5, 7), "resnetish")


def test_view_matmul_gemm():
    compare(ViewNet(), (3, 1, 7, 7), "view_net")


def test_fresh_batch_norm_identity():
    file, x, y = export(FreshBN(), (1, 5, 3, 3), "fresh_bn")
    assert any(n.op_type == "Identity" for n in onnx.load(file).graph.node), "expected Identity nodes"
    assert_both_close(run_model(file, x, "fresh_bn"), y, "fresh_bn")


def test_softmax_opset11():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 7), nn.Softmax(dim=1))
    compare(model, (2, 3, 2, 2), "softmax11", opset=11)


def test_dynamic_batch():
    torch.manual_seed(0)
    file, _, _ = export(ConvNet(), (1, 3, 9, 9), "dynamic", dynamic_batch=True)
    x = torch.randn(3, 3, 9, 9)
    with torch.no_grad():
        y = ConvNet().eval()(x).numpy()
    assert_both_close(run_model(file, x.numpy(), "dynamic", "--batch", 3), y, "dynamic batch 3")
    expect_error([file], "input 'x' has a dynamic dimension 0 ('N'); pass --batch N")


def edited(model, shape, name, edit):
    """Exports model, applies edit(onnx_model) and forgets the recorded output shape."""
    file, x, _ = export(model, shape, name)
    m = onnx.load(file)
    edit(m)
    for dim in m.graph.output[0].type.tensor_type.shape.dim:
        dim.ClearField("dim_value")
    onnx.save(m, file)
    return file, x


def test_count_include_pad():
    """torch exports count_include_pad=True as Pad + AveragePool, so set the ONNX attribute by hand."""
    pool = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
    file, x = edited(pool, (2, 3, 8, 7), "count_pad",
                     lambda m: set_attr(m.graph.node[-1], "count_include_pad", 1))
    with torch.no_grad():
        y = F.avg_pool2d(torch.from_numpy(x), 3, stride=2, padding=1, count_include_pad=True).numpy()
    assert_both_close(run_model(file, x, "count_pad"), y, "count_include_pad=1")


def same_padding_model(mode, name):
    """A Conv with auto_pad = mode, stride 2 and an even kernel (so the two SAME forms differ)."""
    torch.manual_seed(3)
    conv = nn.Conv2d(2, 3, 4, stride=2)

    def edit(model):
        node = model.graph.node[0]
        for a in list(node.attribute):
            if a.name == "pads":
                node.attribute.remove(a)
        set_attr(node, "auto_pad", mode)

    file, x = edited(conv, (1, 2, 9, 10), name, edit)
    return file, x, conv


def test_auto_pad():
    for mode, name in [("SAME_UPPER", "same_upper"), ("SAME_LOWER", "same_lower"), ("VALID", "valid")]:
        file, x, conv = same_padding_model(mode, name)
        t = torch.from_numpy(x)
        # Output ceil(9/2)=5 x ceil(10/2)=5 needs total padding 3 along H and 2 along W.
        pad = {"SAME_UPPER": (1, 1, 1, 2), "SAME_LOWER": (1, 1, 2, 1), "VALID": (0, 0, 0, 0)}[mode]
        with torch.no_grad():
            y = conv(F.pad(t, pad)).numpy()  # F.pad takes (left, right, top, bottom)
        assert_both_close(run_model(file, x, name), y, mode)


# ----------------------------------------------------------------------------- errors

def valid_model():
    file, _, _ = export(ConvNet(), (1, 3, 9, 9), "valid_model")
    return file


def test_truncated_file():
    data = open(valid_model(), "rb").read()
    with open(path("truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    expect_error([path("truncated.onnx")], "is not an ONNX model")


def test_not_onnx():
    with open(path("text.onnx"), "w") as f:
        f.write("input x: 1x3x8x8\nc = conv2d(x) filters=4 kernel=3\noutput c\n")
    expect_error([path("text.onnx")], "is not an ONNX model")
    os.symlink("/dev/zero", path("zero.onnx"))
    expect_error([path("zero.onnx")], "is not a regular file")
    expect_error([path("missing.onnx")], "cannot read")


def test_unsupported_ops():
    """Ops out of scope are listed at once, by type, with their nodes and the reason."""
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 4, 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3, 4, 4])
    nodes = [onnx.helper.make_node("Cos", ["x"], ["a"], name="cos1"), onnx.helper.make_node("Cos", ["a"], ["b"], name="cos2"),
             onnx.helper.make_node("NonZero", ["b"], ["c"], name="nz"), onnx.helper.make_node("Relu", ["b"], ["y"])]
    file = save_graph(nodes, [x], [y], "unsupported")
    proc = expect_error([file], "Kiln does not support (opset 13)", "Cos (used by 'cos1', 'cos2'): no mapping",
                        "NonZero (used by 'nz'): an output shape (or count) that depends on the data")
    assert proc.stderr.count("error:") == 1, f"expected one error message:\n{proc.stderr}"


def modified(name, edit):
    """valid_model() with edit(model) applied, saved without ONNX's checks."""
    model = onnx.load(valid_model())
    edit(model)
    file = path(name + ".onnx")
    with open(file, "wb") as f:
        f.write(model.SerializeToString())
    return file


def set_attr(node, name, value):
    for a in list(node.attribute):
        if a.name == name:
            node.attribute.remove(a)
    node.attribute.append(onnx.helper.make_attribute(name, value))


def test_zero_stride():
    file = modified("zero_stride", lambda m: set_attr(m.graph.node[0], "strides", [0, 2]))
    expect_error([file], "attribute 'strides' has 0; every entry must be a positive integer", "Conv '")


def test_wrong_channels():
    def edit(m):
        conv = next(n for n in m.graph.node if n.op_type == "Conv" and n.input[0] != "x")
        set_attr(conv, "group", 3)
    expect_error([modified("wrong_group", edit)], "Conv '", "groups (3)")


def test_external_data():
    model = onnx.load(valid_model())
    file = path("external.onnx")
    onnx.save(model, file, save_as_external_data=True, all_tensors_to_one_file=True, location="external.bin",
              size_threshold=0)
    expect_error([file], "external data not supported")


def test_ceil_mode():
    """ceil_mode that changes the output size (7 -> 4), as GoogLeNet's pools."""
    compare(nn.Sequential(nn.MaxPool2d(2, stride=2, ceil_mode=True), nn.AvgPool2d(3, stride=2, ceil_mode=True)),
            (1, 2, 7, 9), "ceil")


class Broadcasting(nn.Module):
    """Sub/Mul/Div/Add with constants and broadcasting, Clip (ReLU6), Hardswish, Reshape,
    Unsqueeze/Squeeze, ConvTranspose, nearest and bilinear Upsample, LogSoftmax."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
        self.scale = nn.Parameter(torch.rand(4, 1, 1) + 0.5)

    def forward(self, x):
        y = self.up((x - 0.25) / 1.5) * self.scale
        y = F.relu6(y + torch.tanh(y)) + F.hardswish(y)
        y = F.interpolate(y, scale_factor=2, mode="nearest")
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        y = y.reshape(2, 4, -1).unsqueeze(1).squeeze(1)
        return F.log_softmax(y, dim=2)


def test_broadcasting_and_new_ops():
    compare(Broadcasting(), (2, 3, 5, 6), "broadcasting")
    # Opset 10 writes Pad's pads and value as attributes (later opsets compute them in the graph).
    compare(nn.Sequential(nn.ConstantPad2d((1, 0, 2, 1), 0.5), nn.Tanh()), (1, 5, 4, 4), "pad",
            opset=10)


def test_broadcast_add():
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 3, 4, 4])
    z = onnx.helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, [1, 2, 4, 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 3, 4, 4])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Add", ["x", "z"], ["y"], name="plus")], "g", [x, z], [y])
    file = path("broadcast.onnx")
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]), file)
    expect_error([file, "--batch", 1], "Add 'plus': ", "1x3x4x4", "1x2x4x4")


# ----------------------------------------------------------------------------- PyTorch idioms (issue 14)
#
# Each idiom is exported at test time with fresh random weights and inputs (seed printed; replay
# with KILN_TEST_SEED) and compared with PyTorch through `kiln run --reference`; `library=True`
# also compiles it with both backends (Halide, MLIR) where every nn op it uses lowers today.

SEED = fresh_seed()


def save_graph(nodes, inputs, outputs, name, opset=13, initializers=()):
    file = path(name + ".onnx")
    graph = onnx.helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)]), file)
    return file


def export_inputs(model, inputs, name, opset=13, dynamic=None):
    """Exports model(*inputs) (eval mode) with inputs named in0, in1, ...; returns the file and
    PyTorch's output."""
    model.eval()
    names = [f"in{k}" for k in range(len(inputs))]
    file = path(name + ".onnx")
    torch.onnx.export(model, tuple(inputs), file, input_names=names, output_names=["y"], opset_version=opset,
                      dynamic_axes=dynamic)
    with torch.no_grad():
        y = model(*inputs)
    return file, y.numpy()


def run_reference(file, inputs, name, *extra):
    bindings = []
    for k, x in enumerate(inputs):
        np.save(path(f"{name}_in{k}.npy"), np.asarray(x, np.float32))
        bindings += ["-i", f"in{k}={path(f'{name}_in{k}.npy')}"]
    run_kiln("run", "--reference", file, *bindings, "-o", path(name + "_ref.npy"), *extra)
    return np.load(path(name + "_ref.npy")), bindings


def check(model, shapes, name, library=False, opset=13, dynamic=None, batch=None, ops=()):
    """Exports model for random inputs of `shapes`, compares kiln's reference (and, with library,
    a compiled library) with PyTorch; `ops` are ONNX op types the export must contain."""
    torch.manual_seed(SEED)
    for m in model.modules():
        for p in m.parameters(recurse=False):
            p.data.uniform_(-0.8, 0.8)
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    inputs = [torch.randn(*shape) for shape in shapes]
    file, y = export_inputs(model, inputs, name, opset, dynamic)
    exported = {n.op_type for n in onnx.load(file).graph.node}
    missing = set(ops) - exported
    assert not missing, f"{name}: expected the export to use {sorted(missing)}, got {sorted(exported)}"
    extra = ["--batch", batch] if batch else []
    reference, bindings = run_reference(file, [x.numpy() for x in inputs], name, *extra)
    assert_close(reference, y, TOL, name + " reference")
    if library:
        compile_and_compare(file, bindings, y, name, *extra)
    return file


def compile_and_compare(file, bindings, expected, name, *extra):
    """Compiles file with both backends, runs each library on the bound inputs, compares."""
    for backend in ("halide", "mlir"):
        out = path(f"{name}_{backend}")
        run_kiln("compile", file, "-o", out, "--name", "model", "--backend", backend, *extra)
        run_kiln("run", out + "/libmodel.so", *bindings, "-o", out + ".npy")
        assert_close(np.load(out + ".npy"), expected, TOL, f"{name} library ({backend})")


class ViewBySize(nn.Module):
    """x.view(x.size(0), -1): Shape, Gather, Unsqueeze, Concat folded into the Reshape's shape."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 5, 3, stride=2)
        self.fc = nn.Linear(5 * 3 * 4, 7)

    def forward(self, x):
        y = F.relu(self.c(x))
        return self.fc(y.view(y.size(0), -1))


def test_view_by_size():
    check(ViewBySize(), [(3, 3, 7, 9)], "view_size", library=True)
    # Exported with a dynamic batch, read with --batch: the folds see the batch Kiln fixes.
    check(ViewBySize(), [(2, 3, 7, 9)], "view_size_dynamic", library=True, batch=2,
          dynamic={"in0": {0: "N"}, "y": {0: "N"}}, ops={"Shape", "Gather", "Unsqueeze", "Concat"})


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: view to 5-D from x.size(), transpose, view back; chunk."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(6, 6, 1)

    def forward(self, x):
        n, c, h, w = x.size()
        x = x.view(n, 3, c // 3, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        a, b = x.chunk(2, dim=1)
        return torch.cat((self.c(x)[:, :3] + a, b[:, 1:]), 1)


def test_channel_shuffle():
    check(ChannelShuffle(), [(2, 6, 5, 3)], "shuffle", ops={"Shape", "Transpose", "Slice"})


class Heads(nn.Module):
    """x.mean((2, 3)), x.amax(1), sum/std-like reductions, argmax, flatten of other axes, split sizes."""

    def forward(self, x):
        m = x.mean((2, 3))
        s = x.sum(1, keepdim=True).flatten(2)
        a, b, c = torch.split(x, [1, 2, 2], dim=1)
        l2 = torch.linalg.vector_norm(x, dim=(1, 3))
        return torch.cat([m, x.amax(1).flatten(1), s.flatten(1), l2, a.mean((1, 2)), b.amin((1, 2)),
                          c.prod(3).sum((1, 2)).unsqueeze(1), x.argmax(3).float().flatten(1)], 1)


def test_reductions():
    check(Heads(), [(2, 5, 3, 4)], "heads", ops={"ReduceMean", "ReduceMax", "ReduceSum", "ArgMax", "Split"})


class Activations(nn.Module):
    """nn.PReLU (per channel and one slope), F.elu, selu, celu, softplus, softsign, Mish, gelu
    (erf pattern and tanh), exp/log/sqrt/abs/neg/reciprocal/pow and clamp with a computed bound."""

    def __init__(self):
        super().__init__()
        self.p1 = nn.PReLU(4)
        self.p2 = nn.PReLU()

    def forward(self, x):
        y = self.p1(x) + self.p2(-x) + F.elu(x, 0.7) + F.selu(x) + F.celu(x, 1.3) + F.softplus(x)
        y = y + F.softsign(x) + F.mish(x) + F.gelu(x) + F.gelu(x, approximate="tanh") + torch.exp(-x.abs())
        y = y + torch.log(x * x + 1) + torch.sqrt(x.abs()) + 1 / (x.abs() + 1) + x ** 2 + x.abs() ** 1.5
        return torch.clamp(y, min=x.mean(), max=4.0) + torch.erf(x) + torch.floor(x) + torch.sign(x)


def test_activations():
    check(Activations(), [(2, 4, 5, 3)], "activations", ops={"PRelu", "Elu", "Erf", "Softplus", "Pow", "Clip"})
    check(nn.GELU(), [(3, 7)], "gelu_pattern", ops={"Erf"})  # one nn.unary gelu (the exact erf form)


def test_opset20():
    """Opset 20 (libonnx knows opsets up to 17: Kiln's own shape rules read it): Gelu (tanh), Mish,
    ReduceMean with an axes input, Split by num_outputs, LpNormalization."""
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 5, 5])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    axes = numpy_helper.from_array(np.array([2], np.int64), "axes")
    nodes = [onnx.helper.make_node("Gelu", ["x"], ["g"], approximate="tanh"),
             onnx.helper.make_node("Mish", ["g"], ["m"]),
             onnx.helper.make_node("ReduceMean", ["m", "axes"], ["r"], keepdims=0),
             onnx.helper.make_node("Split", ["r"], ["a", "b", "c"], axis=1, num_outputs=3),
             onnx.helper.make_node("Concat", ["c", "b", "a"], ["cat"], axis=1),
             onnx.helper.make_node("LpNormalization", ["cat"], ["y"], axis=1, p=1)]
    file = save_graph(nodes, [x], [y], "opset20", opset=20, initializers=[axes])
    data = np.random.default_rng(SEED).standard_normal((2, 5, 5)).astype(np.float32)
    r = F.mish(F.gelu(torch.from_numpy(data), approximate="tanh")).mean(2)
    cat = torch.cat([r[:, 4:], r[:, 2:4], r[:, :2]], 1)  # 5 in 3 parts of ceil(5 / 3) = 2: 2, 2, 1
    np.save(path("opset20_x.npy"), data)
    run_kiln("run", "--reference", file, "-i", path("opset20_x.npy"), "-o", path("opset20_y.npy"))
    expected = (cat / cat.abs().sum(1, keepdim=True)).numpy()
    assert_close(np.load(path("opset20_y.npy")), expected, TOL, "opset 20")


class ChannelsLayerNorm(nn.Module):
    """nn.LayerNorm over channels after a permute (ConvNeXt), GroupNorm, InstanceNorm."""

    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm(6)
        self.gn = nn.GroupNorm(3, 6)
        self.inorm = nn.InstanceNorm2d(6, affine=True)

    def forward(self, x):
        y = self.ln(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.gn(y) + self.inorm(x) * 0.5


def emitted_nn(file):
    """The nn IR Kiln imports from file."""
    return run_kiln("compile", file, "--emit", "nn", "-o", path("emit")).stdout


def test_patterns():
    """PyTorch's GELU and LayerNorm exports are recognised: one nn.unary gelu (no erf), and the
    normalisation composition (x * x, no pow; no div)."""
    gelu = emitted_nn(check(nn.GELU(), [(2, 9)], "gelu_ir", ops={"Erf", "Div"}))
    assert 'fn = "gelu"' in gelu and '"erf"' not in gelu and "nn.div" not in gelu, gelu
    ln = emitted_nn(check(nn.LayerNorm(9), [(2, 3, 9)], "layer_norm_ir", ops={"Pow", "Sqrt", "Div"}))
    assert '"pow"' not in ln and "nn.div" not in ln and ln.count("nn.reduce") == 2, ln


class ScaledTokens(nn.Module):
    """Parameters PyTorch trains (a Linear on a 3-D tensor: its weight folded, transposed, into a
    new initializer; a LayerNorm; a PReLU slope reshaped) next to data it does not (a literal
    divisor, the LayerNorm's epsilon)."""

    def __init__(self):
        super().__init__()
        self.fc, self.norm, self.act = nn.Linear(5, 4), nn.LayerNorm(4), nn.PReLU(3)

    def forward(self, x):
        return self.act(self.norm(self.fc(x)) / 3.0)


def test_trained_and_constant_params():
    """Every nn.param from an initializer (as read, or transposed at import) is a parameter; a
    Constant node's or a composition's data is `constant` (training leaves it alone)."""
    ir = emitted_nn(check(ScaledTokens(), [(2, 3, 5)], "scaled_tokens", ops={"MatMul", "Div", "PRelu"}))
    params = re.findall(r'nn\.param "([^"]+)"( constant)?', ir)
    constant = {name for name, flag in params if flag}
    trained = {name for name, flag in params if not flag}
    assert {"fc.bias", "norm.weight", "norm.bias"} <= trained, ir
    assert any(n.endswith(".transposed") for n in trained) and any("PRelu" in n for n in trained), ir
    assert any(n.endswith(".epsilon") for n in constant) and len(constant) == 2, ir


def test_normalisation():
    check(ChannelsLayerNorm(), [(2, 6, 5, 7)], "norms",
          ops={"Transpose", "ReduceMean", "Pow", "Sqrt", "InstanceNormalization"})
    check(nn.LayerNorm([5, 7]), [(2, 3, 5, 7)], "layer_norm17", opset=17, ops={"LayerNormalization"})


class Einsums(nn.Module):
    def forward(self, a, b):
        attention = torch.einsum("bci,bcj->bij", a, b).softmax(-1)
        y = torch.einsum("bij,bcj->bci", attention, b) + torch.einsum("bci->bic", a).transpose(1, 2)
        sums = torch.einsum("bci->bc", a).unsqueeze(2) + torch.einsum("bci,bcj->bi", a, b).unsqueeze(1)
        return y + sums


def test_einsum_matmul():
    check(Einsums(), [(2, 3, 5), (2, 3, 5)], "einsum", ops={"Einsum"})
    check(nn.Sequential(nn.Linear(5, 4), nn.Tanh()), [(2, 3, 5)], "matmul3d", ops={"MatMul"})


class InterpolateToInput(nn.Module):
    """F.interpolate to a size taken from x.shape (FCN's head): Resize sizes from Shape/Slice/Concat."""

    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 4, 3, stride=2, padding=1)

    def forward(self, x):
        y = self.c(x)
        return F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=False) + x.mean(1, keepdim=True)


def test_interpolate_size_from_shape():
    check(InterpolateToInput(), [(2, 3, 9, 11)], "interp_size", ops={"Shape", "Resize"})


class Flattens(nn.Module):
    def forward(self, x):
        return torch.cat([torch.flatten(x, 1), torch.flatten(x, 2).flatten(1), x.reshape(x.shape[0], -1)], 1)


def test_flatten():
    check(Flattens(), [(2, 3, 4, 5)], "flattens", library=True)


class WeightInputs(nn.Module):
    """Weights given at run time: F.conv2d, F.batch_norm, torch.clamp (bounds), F.linear and, with
    `prelu`, F.prelu, all with graph-input weights (Clip with input bounds: the conformance tests)."""

    def __init__(self, prelu):
        super().__init__()
        self.prelu = prelu

    def forward(self, x, w, b, mean, var, lo, hi, fc, slope=None):
        y = F.batch_norm(F.conv2d(x, w, b, stride=2, padding=1), mean, var, training=False)
        y = torch.clamp(y, lo, hi)
        if self.prelu:
            y = F.prelu(y, slope)
        return F.linear(torch.flatten(y, 1), fc)


def test_weights_as_inputs():
    torch.manual_seed(SEED)
    shapes = [(2, 3, 7, 7), (4, 3, 3, 3), (4,), (4,), (4,), (1,), (1,), (5, 64), (4,)]
    inputs = [torch.randn(*s) for s in shapes]
    inputs[4] = inputs[4].abs() + 0.5  # a variance
    inputs[5], inputs[6] = -inputs[5].abs(), inputs[6].abs()  # clamp bounds lo <= hi
    for prelu in (True, False):
        name = "weight_inputs" + ("_prelu" if prelu else "")
        used = inputs if prelu else inputs[:-1]
        file, y = export_inputs(WeightInputs(prelu), used, name)
        graph = onnx.load(file).graph
        assert not graph.initializer, "the weights must be graph inputs"
        # torch.clamp with tensor bounds exports as Max and Min; F.linear as MatMul(x, Transpose(W)).
        assert {"Conv", "BatchNormalization", "Max", "Min", "MatMul"} <= {n.op_type for n in graph.node}
        reference, bindings = run_reference(file, [x.numpy() for x in used], name)
        assert_close(reference, y, TOL, name + " reference")
        if prelu:
            continue  # nn.prelu does not lower yet; the rest compiles with run-time weights
        compile_and_compare(file, bindings, y, name)


class AudioNet(nn.Module):
    """1-D convolutions (stride, padding, dilation, groups), BatchNorm1d, pools, ConvTranspose1d."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(2, 6, 5, stride=2, padding=2)
        self.bn = nn.BatchNorm1d(6)
        self.c2 = nn.Conv1d(6, 6, 3, padding=2, dilation=2, groups=3)
        self.up = nn.ConvTranspose1d(6, 3, 4, stride=2, padding=1)

    def forward(self, x):
        y = F.max_pool1d(F.relu(self.bn(self.c1(x))), 3, stride=2, padding=1)
        y = F.avg_pool1d(self.c2(y), 3, stride=1, padding=1)
        return torch.flatten(self.up(y), 1)


def test_conv1d_net():
    check(AudioNet(), [(3, 2, 31)], "audio", library=True, ops={"Conv", "MaxPool", "ConvTranspose"})


class Conv3dNet(nn.Module):
    """Conv3d: stride, padding and dilation differing per axis, groups, no bias, depthwise, 1x1x1."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv3d(2, 6, (3, 3, 2), stride=(2, 1, 2), padding=(2, 1, 0), dilation=(2, 1, 1))
        self.c2 = nn.Conv3d(6, 4, 3, padding=1, dilation=(1, 2, 1), groups=2, bias=False)
        self.dw = nn.Conv3d(4, 4, (2, 3, 3), stride=(1, 2, 1), padding=(0, 1, 1), groups=4)
        self.pw = nn.Conv3d(4, 3, 1)

    def forward(self, x):
        y = F.leaky_relu(self.c1(x), 0.1)
        return self.pw(torch.tanh(self.dw(F.relu(self.c2(y)))))


def test_conv3d():
    check(Conv3dNet(), [(2, 2, 9, 7, 8)], "conv3d", library=True, ops={"Conv"})


class Volumes(nn.Module):
    """ConvTranspose3d (stride, padding, output_padding and dilation differing per axis, groups;
    stride 2 without padding), MaxPool3d and AvgPool3d with ceil_mode and padding, a dilated
    MaxPool3d."""

    def __init__(self):
        super().__init__()
        self.up = nn.ConvTranspose3d(4, 6, (3, 2, 3), stride=(2, 1, 2), padding=(1, 0, 1), output_padding=(1, 0, 1),
                                     dilation=(2, 1, 1), groups=2)
        self.up2 = nn.ConvTranspose3d(6, 2, 2, stride=2)

    def forward(self, x):
        y = self.up(x)
        a = F.max_pool3d(y, (3, 2, 3), stride=(2, 1, 2), padding=1, ceil_mode=True)
        b = F.avg_pool3d(y, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        c = F.max_pool3d(y, 2, stride=(1, 2, 1), padding=1, dilation=(2, 1, 2))
        return torch.cat([a.flatten(1), b.flatten(1), c.flatten(1), self.up2(b).flatten(1)], 1)


def test_volumes():
    check(Volumes(), [(2, 4, 4, 5, 3)], "volumes", library=True, ops={"ConvTranspose", "MaxPool", "AveragePool"})


def test_avg_pool3d_count_include_pad():
    """torch exports count_include_pad=True as Pad + AveragePool, so set the ONNX attribute by hand:
    with ceil_mode the last window counts only its cells inside input + padding, as PyTorch."""
    pool = nn.AvgPool3d((3, 2, 3), stride=(2, 2, 2), padding=(1, 1, 0), ceil_mode=True, count_include_pad=False)
    file, x = edited(pool, (2, 3, 8, 5, 6), "count_pad3d", lambda m: set_attr(m.graph.node[-1], "count_include_pad", 1))
    with torch.no_grad():
        y = F.avg_pool3d(torch.from_numpy(x), (3, 2, 3), (2, 2, 2), (1, 1, 0), ceil_mode=True,
                         count_include_pad=True).numpy()
    assert_both_close(run_model(file, x, "count_pad3d"), y, "3-D count_include_pad=1")


class DilatedPools(nn.Module):
    """Dilated MaxPool2d (with padding, with ceil_mode) and MaxPool1d."""

    def forward(self, x):
        a = F.max_pool2d(x, 3, stride=2, padding=1, dilation=2)
        b = F.max_pool2d(x, (2, 3), stride=(1, 2), padding=1, dilation=(3, 2), ceil_mode=True)
        c = F.max_pool1d(x.flatten(2), 3, stride=2, dilation=3)
        return torch.cat([a.flatten(1), b.flatten(1), c.flatten(1)], 1)


def test_dilated_pools():
    check(DilatedPools(), [(2, 3, 9, 10)], "dilated_pools", library=True, ops={"MaxPool"})


def test_average_pool_dilations():
    """Opset 19's AveragePool dilations (PyTorch has no dilated average pool): compared with the
    mean over F.unfold's dilated taps inside the input (count_include_pad=0) or inside input + pads."""
    rng = np.random.default_rng(SEED)
    data = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    for count_pad in (0, 1):
        name = f"avg_dilated{count_pad}"
        node = onnx.helper.make_node("AveragePool", ["in0"], ["y"], kernel_shape=[3, 2], strides=[2, 1],
                                     pads=[2, 1, 1, 0], dilations=[2, 3], count_include_pad=count_pad)
        x = onnx.helper.make_tensor_value_info("in0", onnx.TensorProto.FLOAT, data.shape)
        y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
        file = save_graph([node], [x], [y], name, opset=19)
        padded = F.pad(torch.from_numpy(data), (1, 0, 2, 1))  # (left, right, top, bottom)
        inside = F.pad(torch.ones(1, 1, 9, 8), (1, 0, 2, 1)) if count_pad == 0 else torch.ones(1, 1, 12, 9)
        taps = F.unfold(padded, (3, 2), dilation=(2, 3), stride=(2, 1)).view(2, 3, 6, -1)
        counts = F.unfold(inside, (3, 2), dilation=(2, 3), stride=(2, 1)).sum(1)
        expected = (taps.sum(2) / counts).view(2, 3, 4, 6).numpy()
        reference, bindings = run_reference(file, [data], name)
        assert_close(reference, expected, TOL, name + " reference")
        compile_and_compare(file, bindings, expected, name)


class VolumeWeightInputs(nn.Module):
    """F.conv3d and F.conv_transpose3d with weights and biases given at run time."""

    def forward(self, x, w, b, wt, bt):
        y = F.conv3d(x, w, b, stride=(1, 2, 1), padding=1, groups=2)
        return F.conv_transpose3d(torch.tanh(y), wt, bt, stride=(2, 1, 2), padding=(1, 0, 1), output_padding=(1, 0, 0))


def test_volume_weights_as_inputs():
    torch.manual_seed(SEED)
    inputs = [torch.randn(*s) for s in [(2, 4, 5, 6, 5), (6, 2, 3, 3, 3), (6,), (6, 3, 3, 2, 3), (3,)]]
    file, y = export_inputs(VolumeWeightInputs(), inputs, "volume_weights")
    assert not onnx.load(file).graph.initializer, "the weights must be graph inputs"
    reference, bindings = run_reference(file, [x.numpy() for x in inputs], "volume_weights")
    assert_close(reference, y, TOL, "volume_weights reference")
    compile_and_compare(file, bindings, y, "volume_weights")


def test_ceil_pool_onnx_shape():
    """A ceil_mode pool whose last window would start in the end padding: PyTorch (and Kiln) drop
    it, libonnx 1.12's shape inference keeps it (3x3 against 4x4); Kiln accepts its own size there
    and for every value computed from it."""
    pools = {"ceil_max": nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True),
             "ceil_avg": nn.AvgPool2d(2, 2, 1, ceil_mode=True, count_include_pad=False)}
    for name, pool in pools.items():
        file = check(pool, [(1, 1, 5, 5)], name, library=True)
        inferred = onnx.shape_inference.infer_shapes(onnx.load(file)).graph.output[0].type.tensor_type.shape
        assert [d.dim_value for d in inferred.dim] == [1, 1, 4, 4], f"{name}: libonnx no longer says 4x4"
        check(nn.Sequential(pool, nn.Flatten(), nn.Linear(2 * 3 * 3, 4)), [(2, 2, 5, 5)], name + "_fc", library=True)


class ConstantMask(nn.Module):
    """masked_fill with a constant mask (a buffer): Where with a constant condition."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mask", torch.rand(5, 6) > 0.5)

    def forward(self, x):
        return torch.tanh(x).masked_fill(self.mask, -2.0) + x.masked_fill(~self.mask, 0.5)


def test_constant_mask():
    check(ConstantMask(), [(2, 3, 5, 6)], "mask", ops={"Where"})


class DataMovement(nn.Module):
    """torch.flip (negative-step Slice), expand, repeat (Tile), pixel shuffle/unshuffle, gather of
    constant indices (x[:, [2, 0]], x[:, 1]), narrow with negative indices."""

    def forward(self, x):
        y = torch.flip(x, [3]) + x[:, :, :, 1:2].expand(-1, -1, -1, x.shape[3])
        z = F.pixel_unshuffle(F.pixel_shuffle(y, 2), 2) + x.repeat(1, 1, 1, 2)[..., ::2]
        picked = x[:, [3, 0, 1]].sum(1) + x[:, 1] - x[:, :, -3:-1].sum(2, keepdim=True)[:, 0]
        return torch.cat([z.flatten(1), picked.flatten(1)], 1)


def test_data_movement():
    check(DataMovement(), [(2, 4, 6, 5)], "data_movement", ops={"Slice", "Expand", "Tile", "DepthToSpace", "Gather"})


def test_old_opset():
    """Opset 6 Add with the old broadcast attribute (B aligned at axis 1), Elu before opset 7, and
    opset 11 LogSoftmax over several dims."""
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3, 4, 5])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 3, 4, 5])
    bias = numpy_helper.from_array(np.array([0.5, -1.0, 2.0], np.float32), "bias")
    nodes = [onnx.helper.make_node("Add", ["x", "bias"], ["a"], broadcast=1, axis=1),
             onnx.helper.make_node("Elu", ["a"], ["y"], alpha=0.5)]
    file = save_graph(nodes, [x], [y], "opset6", opset=6, initializers=[bias])
    data = np.random.default_rng(SEED).standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.save(path("opset6_x.npy"), data)
    run_kiln("run", "--reference", file, "-i", path("opset6_x.npy"), "-o", path("opset6_y.npy"))
    expected = F.elu(torch.from_numpy(data) + torch.tensor([0.5, -1.0, 2.0]).view(1, 3, 1, 1), 0.5).numpy()
    assert_close(np.load(path("opset6_y.npy")), expected, TOL, "opset 6")
    # Opset 11 Softmax normalises over dims axis..rank-1 together (here 3 x 4 values per sample).
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3, 4])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 3, 4])
    file = save_graph([onnx.helper.make_node("LogSoftmax", ["x"], ["y"], axis=1)], [x], [y], "softmax11_flat", opset=11)
    data = np.random.default_rng(SEED + 1).standard_normal((2, 3, 4)).astype(np.float32)
    np.save(path("softmax11_x.npy"), data)
    run_kiln("run", "--reference", file, "-i", path("softmax11_x.npy"), "-o", path("softmax11_y.npy"))
    expected = F.log_softmax(torch.from_numpy(data).reshape(2, 12), 1).reshape(2, 3, 4).numpy()
    assert_close(np.load(path("softmax11_y.npy")), expected, TOL, "opset 11 log_softmax over two dims")


def test_unsupported_nodes_reported_together():
    """Every node Kiln cannot build is reported, each with its reason: reflect and replicate
    padding, a data-dependent Where, a Cast of data to int64."""

    class Odd(nn.Module):
        def forward(self, x):
            a = F.pad(x, (1, 1, 1, 1), mode="reflect").flatten(1)
            b = F.pad(x, (1, 1, 1, 1), mode="replicate").flatten(1)
            c = torch.where(x > 0, x, x * 0.1).flatten(1)
            d = x.long().float().flatten(1)
            return torch.cat([a, b, c, d], 1)

    file, _ = export_inputs(Odd(), [torch.randn(1, 5, 6, 6)], "odd")
    proc = expect_error([file], "mode 'reflect' is not supported", "mode 'edge' is not supported",
                        "Greater '", "is computed from the model's data",
                        "casts a computed tensor to INT64")
    assert proc.stderr.count("error:") == 4, f"expected four errors:\n{proc.stderr}"


def test_control_flow_error():
    @torch.jit.script
    def choose(x):
        if bool(x.sum() > 0):
            return x * 2
        return x

    class Branchy(nn.Module):
        def forward(self, x):
            return choose(x)

    file, _ = export_inputs(Branchy(), [torch.randn(1, 3)], "branchy")
    expect_error([file], "If (used by", "control flow")


if __name__ == "__main__":
    main([test_conv_net, test_pool_net, test_resnetish, test_view_matmul_gemm, test_fresh_batch_norm_identity,
          test_softmax_opset11, test_dynamic_batch, test_count_include_pad, test_auto_pad, test_truncated_file, test_not_onnx,
          test_unsupported_ops, test_zero_stride, test_wrong_channels, test_external_data, test_ceil_mode,
          test_broadcasting_and_new_ops, test_broadcast_add, test_view_by_size, test_channel_shuffle,
          test_reductions, test_activations, test_patterns, test_trained_and_constant_params, test_opset20, test_normalisation, test_einsum_matmul,
          test_interpolate_size_from_shape, test_flatten, test_weights_as_inputs, test_conv1d_net,
          test_data_movement, test_conv3d, test_volumes, test_avg_pool3d_count_include_pad, test_dilated_pools,
          test_average_pool_dilations, test_volume_weights_as_inputs, test_ceil_pool_onnx_shape, test_constant_mask, test_old_opset, test_unsupported_nodes_reported_together, test_control_flow_error])
