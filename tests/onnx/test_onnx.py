"""ONNX frontend tests: small PyTorch models exported with torch.onnx.export at test time (fixed
seeds, odd sizes, stride 2, padding, groups, BN, Gemm, pools, concat, add), run by
`kiln run --reference` and compiled with `kiln compile`, both compared with PyTorch (relative L2 <= 1e-5);
then the import errors: a truncated file, a non-ONNX file, unsupported ops, a dynamic batch, ...

Run: KILN=build/bin/kiln PYTHONPATH=tests/e2e /usr/bin/python3 tests/onnx/test_onnx.py"""
import os

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

from kiln_testing import assert_close, main, run_kiln, scratch_dir

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
    class Odd(nn.Module):
        def forward(self, x):
            return torch.exp(x) + torch.abs(x) + torch.exp(-x)

    file, _, _ = export(Odd(), (1, 3, 4, 4), "unsupported")
    proc = expect_error([file], "Kiln does not support (opset 14)", "Exp (used by '/Exp', '/Exp_1')",
                        "Abs (used by '/Abs')", "Neg (used by '/Neg')")
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


if __name__ == "__main__":
    main([test_conv_net, test_pool_net, test_resnetish, test_view_matmul_gemm, test_fresh_batch_norm_identity,
          test_softmax_opset11, test_dynamic_batch, test_count_include_pad, test_auto_pad, test_truncated_file, test_not_onnx,
          test_unsupported_ops, test_zero_stride, test_wrong_channels, test_external_data, test_ceil_mode,
          test_broadcasting_and_new_ops, test_broadcast_add])
