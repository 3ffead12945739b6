"""The ops ONNX import needs (conv_transpose2d, resize, lrn, broadcasting binary ops, pad, clip,
hard_sigmoid, hard_swish, log_softmax, global_max_pool, ceil_mode pools, reshape, sum, mean),
written in the text format, run by the reference interpreter and by a compiled library, against
PyTorch on odd shapes (stride > 1, asymmetric padding, batch > 1)."""
import numpy as np
import torch
import torch.nn.functional as F

from kiln_testing import check_layers, fresh_seed, main

SEED = fresh_seed()
rng = np.random.default_rng(SEED)


def randn(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def t(array):
    return torch.from_numpy(array)


def check(name, input_shapes, layer_lines, params, torch_fn, tol=1e-5):
    check_layers(name, input_shapes, layer_lines, params, torch_fn, rng, tol)


def test_conv_transpose_stride2_output_padding_batch2():
    w, b = randn(4, 6, 3, 3), randn(6)
    check("convt_s2", [(2, 4, 7, 9)],
          ["y = conv_transpose2d(in0) filters=6 kernel=3 stride=2 padding=1 output_padding=1"],
          {"y.weight": w, "y.bias": b},
          lambda x: F.conv_transpose2d(x, t(w), t(b), stride=2, padding=1, output_padding=1))


def test_conv_transpose_groups_dilation_asymmetric_padding():
    # PyTorch pads symmetrically: compute the full output and crop [top, left, bottom, right] = [2, 0, 1, 1].
    w = randn(6, 2, 3, 5)
    check("convt_groups", [(1, 6, 5, 6)],
          ["y = conv_transpose2d(in0) filters=4 kernel=3x5 stride=3x2 dilation=2 groups=2 padding=2,0,1,1 bias=false"],
          {"y.weight": w},
          lambda x: F.conv_transpose2d(x, t(w), stride=(3, 2), dilation=2, groups=2)[:, :, 2:-1, 0:-1])


def test_resize_nearest_upsample():
    check("resize_nearest", [(2, 3, 5, 7)], ["y = resize(in0) scale=2"], {},
          lambda x: torch.nn.Upsample(scale_factor=2, mode="nearest")(x))
    check("resize_nearest_3x2", [(1, 2, 4, 5)], ["y = resize(in0) mode=nearest scale=3x2"], {},
          lambda x: F.interpolate(x, scale_factor=(3, 2), mode="nearest"))


def test_resize_bilinear():
    check("resize_bilinear", [(2, 3, 5, 7)], ["y = resize(in0) mode=bilinear scale=2"], {},
          lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False))
    check("resize_bilinear_size", [(1, 3, 5, 7)], ["y = resize(in0) mode=bilinear size=9x16"], {},
          lambda x: F.interpolate(x, size=(9, 16), mode="bilinear", align_corners=False))
    check("resize_bilinear_corners", [(2, 2, 5, 7)], ["y = resize(in0) mode=bilinear size=11x13 align_corners=true"],
          {}, lambda x: F.interpolate(x, size=(11, 13), mode="bilinear", align_corners=True))


def test_resize_bicubic():
    check("resize_bicubic", [(2, 3, 5, 7)], ["y = resize(in0) mode=bicubic scale=2"], {},
          lambda x: F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False))
    check("resize_bicubic_down", [(1, 2, 9, 8)], ["y = resize(in0) mode=bicubic size=4x5"], {},
          lambda x: F.interpolate(x, size=(4, 5), mode="bicubic", align_corners=False))
    check("resize_bicubic_corners", [(1, 2, 5, 7)], ["y = resize(in0) mode=bicubic size=11x3 align_corners=true"],
          {}, lambda x: F.interpolate(x, size=(11, 3), mode="bicubic", align_corners=True))


def test_lrn():
    check("lrn", [(2, 7, 5, 3)], ["y = lrn(in0) size=5 alpha=0.001 beta=0.75 bias=2"], {},
          lambda x: F.local_response_norm(x, 5, alpha=0.001, beta=0.75, k=2.0))


def test_broadcasting_binary_ops():
    check("add_bcast", [(2, 3, 5, 7), (3, 1, 1)], ["y = add(in0, in1)"], {}, torch.add)
    check("sub_bcast", [(2, 3, 5, 7), (7,)], ["y = sub(in0, in1)"], {}, torch.sub)
    check("mul_bcast", [(2, 1, 5, 1), (3, 1, 7)], ["y = mul(in0, in1)"], {}, torch.mul)
    check("max", [(2, 3, 5, 7), (2, 3, 5, 7)], ["y = max(in0, in1)"], {}, torch.maximum)
    check("min_bcast", [(1, 3, 1, 7), (2, 3, 5, 1)], ["y = min(in0, in1)"], {}, torch.minimum)
    # A divisor away from zero: 1 + sigmoid(in1) in (1, 2).
    check("div_bcast", [(2, 3, 5, 7), (3, 1, 1)], ["s = sigmoid(in1)", "z = sum(s, s)", "y = div(in0, z)"], {},
          lambda a, b: a / (2 * torch.sigmoid(b)))


def test_pad():
    # pads [begin N, C, H, W, end N, C, H, W]; F.pad takes (left, right, top, bottom).
    check("pad", [(2, 3, 5, 4)], ["y = pad(in0) pads=0,0,1,2,0,0,2,1 value=0.5"], {},
          lambda x: F.pad(x, (2, 1, 1, 2), value=0.5))


def test_clip_hard_sigmoid_hard_swish():
    check("relu6", [(2, 3, 5, 7), (1,)], ["z = mul(in0, in1)", "y = clip(z)"], {}, lambda x, s: F.relu6(x * s))
    check("clip", [(2, 3, 5, 7)], ["y = clip(in0) min=-0.5 max=1.5"], {}, lambda x: torch.clamp(x, -0.5, 1.5))
    check("hard_sigmoid", [(2, 3, 5, 7)], ["y = hard_sigmoid(in0) alpha=0.16666667 beta=0.5"], {}, F.hardsigmoid)
    check("hard_swish", [(2, 3, 5, 7)], ["y = hard_swish(in0)"], {}, F.hardswish)


def test_log_softmax_global_max_pool():
    check("log_softmax", [(3, 11)], ["y = log_softmax(in0)"], {}, lambda x: F.log_softmax(x, 1))
    check("log_softmax_nchw", [(2, 5, 3, 4)], ["y = log_softmax(in0) axis=1"], {}, lambda x: F.log_softmax(x, 1))
    check("global_max_pool", [(3, 5, 7, 9)], ["y = global_max_pool(in0)"], {}, lambda x: F.adaptive_max_pool2d(x, 1))


def test_max_pool_ceil_mode():
    check("maxpool_ceil", [(2, 3, 10, 11)], ["y = max_pool2d(in0) kernel=3 stride=2 padding=1 ceil_mode=true"], {},
          lambda x: F.max_pool2d(x, 3, 2, padding=1, ceil_mode=True))
    check("maxpool_ceil_nopad", [(1, 3, 8, 9)], ["y = max_pool2d(in0) kernel=3 stride=2 ceil_mode=true"], {},
          lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True))


def test_avg_pool_ceil_mode():
    for include in (True, False):
        check(f"avgpool_ceil_{include}", [(2, 3, 10, 11)],
              [f"y = avg_pool2d(in0) kernel=3 stride=2 padding=1 ceil_mode=true count_include_pad={str(include).lower()}"],
              {}, lambda x: F.avg_pool2d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=include))
        check(f"avgpool_ceil_k2_{include}", [(1, 2, 7, 11)],
              [f"y = avg_pool2d(in0) kernel=2 stride=2 padding=1 ceil_mode=true count_include_pad={str(include).lower()}"],
              {}, lambda x: F.avg_pool2d(x, 2, 2, padding=1, ceil_mode=True, count_include_pad=include))
        check(f"avgpool_ceil_nopad_{include}", [(2, 2, 7, 8)],
              [f"y = avg_pool2d(in0) kernel=3 stride=2 ceil_mode=true count_include_pad={str(include).lower()}"],
              {}, lambda x: F.avg_pool2d(x, 3, 2, ceil_mode=True, count_include_pad=include))


def test_reshape_sum_mean():
    check("reshape", [(2, 3, 5, 7)], ["y = reshape(in0) shape=2x105"], {}, lambda x: x.reshape(2, 105))
    check("reshape_4d", [(2, 3, 5, 7)], ["y = reshape(in0) shape=7x5x3x2"], {}, lambda x: x.reshape(7, 5, 3, 2))
    check("sum3", [(2, 3, 5, 7)] * 3, ["y = sum(in0, in1, in2)"], {}, lambda a, b, c: a + b + c)
    check("mean3", [(2, 3, 5, 7)] * 3, ["y = mean(in0, in1, in2)"], {},
          lambda a, b, c: torch.stack([a, b, c]).mean(0))


main([test_conv_transpose_stride2_output_padding_batch2, test_conv_transpose_groups_dilation_asymmetric_padding,
      test_resize_nearest_upsample, test_resize_bilinear, test_resize_bicubic, test_lrn, test_broadcasting_binary_ops, test_pad,
      test_clip_hard_sigmoid_hard_swish, test_log_softmax_global_max_pool, test_max_pool_ceil_mode,
      test_avg_pool_ceil_mode, test_reshape_sum_mean])
