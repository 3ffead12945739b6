"""A seeded generator of random CNN architectures in PyTorch: generate(seed) draws an input shape
(batch 1-3, odd sizes), a body of blocks and a head from the grammar below, and returns a
RandomNet whose `description` says what was drawn. The same seed gives the same net and weights.

Grammar (each block is drawn among those valid for the current shape; the shape is found by
running the block, so no shape arithmetic is repeated here):
  net      := input body{2..6} head
  block    := conv | transposed | pool | norm | residual | inception | squeeze_excite | unet
            | shuffle | split | layer_norm | group_norm | pixel_shuffle | global_context
  conv     := [asymmetric zero pad] Conv2d(plain | strided | dilated | grouped | depthwise | 1x1
              | 1xk | even kernel) [BatchNorm2d] activation
  head     := pooled features (adaptive avg/max pool + x.view(x.size(0), -1) | torch.flatten(x, 1)
              | x.mean((2, 3)) | chunk + cat of mean and amax | x.reshape(x.size(0), -1) of the map)
              -> Linear [activation Linear]
            | 1x1 conv [F.interpolate back to the input size]
  activation := one of ACTIVATIONS (all 16 kinds, random parameters)"""
import random
import re

import torch
import torch.nn as nn
import torch.nn.functional as F

from model_check import perturb

ACTIVATIONS = {
    "relu": lambda r, c: nn.ReLU(),
    "leaky_relu": lambda r, c: nn.LeakyReLU(round(r.uniform(0.01, 0.3), 3)),
    "elu": lambda r, c: nn.ELU(round(r.uniform(0.5, 1.5), 3)),
    "selu": lambda r, c: nn.SELU(),
    "celu": lambda r, c: nn.CELU(round(r.uniform(0.5, 2.0), 3)),
    "gelu": lambda r, c: nn.GELU(),
    "gelu_tanh": lambda r, c: nn.GELU(approximate="tanh"),
    "mish": lambda r, c: nn.Mish(),
    "silu": lambda r, c: nn.SiLU(),
    "hardswish": lambda r, c: nn.Hardswish(),
    "hardsigmoid": lambda r, c: nn.Hardsigmoid(),
    "softplus": lambda r, c: nn.Softplus(beta=r.choice([1, 2])),
    "tanh": lambda r, c: nn.Tanh(),
    "sigmoid": lambda r, c: nn.Sigmoid(),
    "prelu": lambda r, c: nn.PReLU(r.choice([1, c])),
    "relu6": lambda r, c: nn.ReLU6(),
}

WIDTHS = (4, 6, 8, 12, 16)
MAX_CHANNELS = 32


def activation(r, c):
    return ACTIVATIONS[r.choice(sorted(ACTIVATIONS))](r, c)


def text(module):
    """A one-line description of a module: its repr on one line, defaults and indices left out."""
    line = " ".join(part.strip() for part in repr(module).splitlines())
    for default in (", eps=1e-05, momentum=0.1, affine=True, track_running_stats=True", ", stride=(1, 1)",
                    " dilation=1,", ", elementwise_affine=True", ", eps=1e-05, affine=True"):
        line = line.replace(default, "")
    return re.sub(r"\(\d+\): ", "", line.replace("kernel_size=", "k="))


# ----------------------------------------------------------------------------- blocks

class AvgPool(nn.AvgPool2d):
    """nn.AvgPool2d whose description shows ceil_mode and count_include_pad."""

    def extra_repr(self):
        return super().extra_repr() + f", ceil_mode={self.ceil_mode}, count_include_pad={self.count_include_pad}"


class Residual(nn.Module):
    def __init__(self, branch, shortcut, act):
        super().__init__()
        self.branch, self.shortcut, self.act = branch, shortcut, act

    def forward(self, x):
        return self.act(self.branch(x) + self.shortcut(x))


class Concat(nn.Module):
    """Inception: the branches' outputs concatenated over channels."""

    def __init__(self, branches):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], 1)


class SqueezeExcite(nn.Module):
    """x * gate(fc2(act(fc1(mean of x)))): with 1x1 convs on the pooled map, or with Linear
    layers on x.mean((2, 3)) and the gate viewed back as x.view(x.size(0), -1, 1, 1)."""

    def __init__(self, c, hidden, act, gate, linear):
        super().__init__()
        layer = nn.Linear if linear else (lambda a, b: nn.Conv2d(a, b, 1))
        self.fc1, self.act, self.fc2, self.gate, self.linear = layer(c, hidden), act, layer(hidden, c), gate, linear

    def extra_repr(self):
        return "Linear on x.mean((2, 3))" if self.linear else "1x1 convs on the pooled map"

    def forward(self, x):
        if self.linear:
            s = self.gate(self.fc2(self.act(self.fc1(x.mean((2, 3))))))
            return x * s.view(x.size(0), -1, 1, 1)
        return x * self.gate(self.fc2(self.act(self.fc1(F.adaptive_avg_pool2d(x, 1)))))


class UNetLevel(nn.Module):
    """enc -> down -> inner -> up to enc's size -> cat with enc -> dec. up: 'nearest',
    'bilinear', 'bilinear_corners' (F.interpolate to enc's size, read from its shape) or
    'transposed' (ConvTranspose2d given enc's size as output_size)."""

    def __init__(self, enc, down, inner, up, transposed, dec):
        super().__init__()
        self.enc, self.down, self.inner, self.up, self.transposed, self.dec = enc, down, inner, up, transposed, dec

    def extra_repr(self):
        return f"up={self.up}"

    def forward(self, x):
        e = self.enc(x)
        d = self.inner(self.down(e))
        if self.up == "transposed":
            u = self.transposed(d, output_size=e.shape[-2:])
        elif self.up == "nearest":
            u = F.interpolate(d, size=e.shape[-2:], mode="nearest")
        else:
            u = F.interpolate(d, size=e.shape[-2:], mode="bilinear", align_corners=self.up == "bilinear_corners")
        return self.dec(torch.cat([u, e], 1))


class ChannelShuffle(nn.Module):
    """ShuffleNet's shuffle: view as (n, g, c/g, h, w), swap the group axes, view back."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def extra_repr(self):
        return f"groups={self.groups}"

    def forward(self, x):
        n, c, h, w = x.size()
        x = torch.transpose(x.view(n, self.groups, c // self.groups, h, w), 1, 2).contiguous()
        return x.view(n, -1, h, w)


class SplitMerge(nn.Module):
    """ShuffleNet-v2-like: the channels split in two (chunk or split), one part transformed,
    the parts concatenated again."""

    def __init__(self, first, use_chunk, branch):
        super().__init__()
        self.first, self.use_chunk, self.branch = first, use_chunk, branch

    def extra_repr(self):
        return "chunk(2)" if self.use_chunk else f"split at {self.first}"

    def forward(self, x):
        if self.use_chunk:
            a, b = x.chunk(2, dim=1)
        else:
            a, b = x.split([self.first, x.size(1) - self.first], dim=1)
        return torch.cat([self.branch(b), a], 1)


class ChannelLayerNorm(nn.Module):
    """LayerNorm over channels, ConvNeXt's way: permute to NHWC, normalise, permute back."""

    def __init__(self, c):
        super().__init__()
        self.norm = nn.LayerNorm(c)

    def forward(self, x):
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class GlobalContext(nn.Module):
    """x combined with its spatial mean broadcast back: x - mean, x * sigmoid(mean) or x + max."""

    def __init__(self, how):
        super().__init__()
        self.how = how

    def extra_repr(self):
        return self.how

    def forward(self, x):
        if self.how == "center":
            return x - x.mean((2, 3), keepdim=True)
        if self.how == "gate":
            return x * torch.sigmoid(x.mean((2, 3), keepdim=True))
        return x + F.adaptive_max_pool2d(x, 1)


class Head(nn.Module):
    """Features -> output, in one of the idioms PyTorch users write (see the module docstring)."""

    def __init__(self, idiom, layers, input_size=None):
        super().__init__()
        self.idiom, self.layers, self.input_size = idiom, layers, input_size

    def features(self, x):
        if self.idiom == "avgpool_view":
            x = F.adaptive_avg_pool2d(x, 1)
            return x.view(x.size(0), -1)
        if self.idiom == "maxpool_flatten":
            return torch.flatten(F.adaptive_max_pool2d(x, 1), 1)
        if self.idiom == "mean":
            return x.mean((2, 3))
        if self.idiom == "chunk_cat":
            a, b = x.chunk(2, dim=1)
            return torch.cat([a.mean((2, 3)), b.amax((2, 3))], 1)
        if self.idiom == "reshape_all":
            return x.reshape(x.size(0), -1)
        return x  # "conv": the map itself

    def forward(self, x, image):
        y = self.layers(self.features(x))
        if self.input_size:
            y = F.interpolate(y, size=image.shape[-2:], mode=self.input_size)
        return y


class RandomNet(nn.Module):
    def __init__(self, input_shape, blocks, head, description):
        super().__init__()
        self.input_shape, self.blocks, self.head, self.description = input_shape, nn.ModuleList(blocks), head, description

    def forward(self, x):
        image = x
        for b in self.blocks:
            x = b(x)
        return self.head(x, image) if self.head is not None else x

    def prefix(self, k):
        """The net cut after its first k blocks, without a head: its output is block k's."""
        return RandomNet(self.input_shape, list(self.blocks[:k]), None, self.description[:k + 1]).eval()


# ----------------------------------------------------------------------------- grammar

def conv_layer(r, cin, h, w, variant=None):
    """A Conv2d (and maybe a ZeroPad2d before it) of a random variant; returns (layers, cout)."""
    variant = variant or r.choice(["plain", "strided", "dilated", "grouped", "depthwise", "1x1", "1xk", "even", "asym_pad"])
    small = min(h, w) < 6
    if small and variant in ("strided", "dilated", "even"):
        variant = "1x1"
    cout = r.choice(WIDTHS)
    bias = r.random() < 0.5
    pad = None
    if variant == "plain":
        k = r.choice([3, 5]) if min(h, w) >= 5 else 3
        conv = nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias)
    elif variant == "strided":
        k, s, p = r.choice([(3, 2, 1), (3, 2, 0), (2, 2, 0), (4, 2, 1), (5, 3, 2)])
        conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=bias)
    elif variant == "dilated":
        d = r.choice([2, 3])
        conv = nn.Conv2d(cin, cout, 3, dilation=d, padding=r.choice([d, 1]), bias=bias)
    elif variant == "grouped":
        g = r.choice([g for g in (2, 3, 4) if cin % g == 0] or [1])
        cout = g * r.choice([2, 3, 4])
        conv = nn.Conv2d(cin, cout, 3, padding=1, groups=g, bias=bias)
    elif variant == "depthwise":
        cout = cin * r.choice([1, 2])
        conv = nn.Conv2d(cin, cout, 3, stride=r.choice([1, 2]) if not small else 1, padding=1, groups=cin, bias=bias)
    elif variant == "1x1":
        conv = nn.Conv2d(cin, cout, 1, bias=bias)
    elif variant == "1xk":
        k = r.choice([(1, 3), (3, 1), (1, 5), (5, 1)]) if not small else (1, 3)
        conv = nn.Conv2d(cin, cout, k, padding=(k[0] // 2, k[1] // 2), bias=bias)
    elif variant == "even":
        conv = nn.Conv2d(cin, cout, 2, padding=r.choice([0, 1]), bias=bias)
    else:  # asymmetric padding: ZeroPad2d (left, right, top, bottom), then an unpadded conv
        pad = nn.ZeroPad2d(tuple(r.choice([0, 1, 2]) for _ in range(4)))
        conv = nn.Conv2d(cin, cout, 3, bias=bias)
    return [m for m in (pad, conv) if m is not None], cout


def conv_block(r, c, h, w, variant=None):
    layers, cout = conv_layer(r, c, h, w, variant)
    if r.random() < 0.6:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers, activation(r, cout))


def transposed(r, c, h, w):
    k, s, p, op = r.choice([(2, 2, 0, 0), (3, 2, 1, 1), (4, 2, 1, 0), (3, 1, 1, 0), (3, 2, 0, 0)])
    cout = r.choice(WIDTHS)
    g = r.choice([g for g in (1, 2) if c % g == 0 and cout % g == 0])
    return nn.Sequential(nn.ConvTranspose2d(c, cout, k, stride=s, padding=p, output_padding=op, groups=g,
                                            bias=r.random() < 0.7), activation(r, cout))


def pool(r, c, h, w):
    k = r.choice([2, 3])
    s = r.choice([1, 2])
    p = r.choice(range(k // 2 + 1))
    ceil = r.random() < 0.5
    if r.random() < 0.5:
        return nn.MaxPool2d(k, s, p, dilation=r.choice([1, 1, 2]), ceil_mode=ceil)
    count_pad = r.random() < 0.5
    if count_pad and ceil:
        # torch 1.13 exports this as Pad + AveragePool(ceil_mode, no pads), which ONNX reads as one
        # more window than PyTorch computes when the last one starts in the padding.
        p = 0
    return AvgPool(k, s, p, ceil_mode=ceil, count_include_pad=count_pad)


def norm(r, c, h, w):
    """A BatchNorm that no conv precedes directly (so the export cannot fold it)."""
    return nn.Sequential(activation(r, c), nn.BatchNorm2d(c))


def residual(r, c, h, w):
    cout = r.choice(WIDTHS)
    stride = 2 if min(h, w) >= 6 and r.random() < 0.4 else 1
    branch = nn.Sequential(nn.Conv2d(c, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                           activation(r, cout), nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout))
    shortcut = nn.Identity()
    if stride != 1 or cout != c:
        shortcut = nn.Sequential(nn.Conv2d(c, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
    return Residual(branch, shortcut, activation(r, cout))


def inception(r, c, h, w):
    kinds = r.sample(["1x1", "3x3", "5x5", "pool", "dilated"], r.randint(2, 4))
    branches = []
    for kind in kinds:
        if kind == "1x1":
            branches.append(conv_block(r, c, h, w, "1x1"))
        elif kind == "pool":
            branches.append(nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=r.random() < 0.5), conv_block(r, c, h, w, "1x1")))
        else:
            mid = r.choice(WIDTHS)
            k, d = {"3x3": (3, 1), "5x5": (5, 1), "dilated": (3, 2)}[kind]
            branches.append(nn.Sequential(nn.Conv2d(c, mid, 1), activation(r, mid),
                                          nn.Conv2d(mid, r.choice(WIDTHS), k, padding=d * (k // 2), dilation=d)))
    return Concat(branches)


def squeeze_excite(r, c, h, w):
    gate = r.choice([nn.Sigmoid(), nn.Hardsigmoid()])
    return SqueezeExcite(c, max(2, c // 4), activation(r, c), gate, linear=r.random() < 0.5)


def unet(r, c, h, w):
    if min(h, w) < 4:
        return None
    enc = conv_block(r, c, h, w, "plain")
    ce = enc[0].out_channels
    down = r.choice([nn.MaxPool2d(2), nn.MaxPool2d(2, ceil_mode=True), nn.Conv2d(ce, ce, 3, stride=2, padding=1)])
    inner = conv_block(r, ce, h // 2, w // 2, "plain")
    ci = inner[0].out_channels
    up = r.choice(["nearest", "bilinear", "bilinear_corners", "transposed"])
    transposed = nn.ConvTranspose2d(ci, ci, 3, stride=2, padding=1) if up == "transposed" else None
    return UNetLevel(enc, down, inner, up, transposed, conv_block(r, ce + ci, h, w, "plain"))


def shuffle(r, c, h, w):
    groups = [g for g in (2, 3, 4) if c % g == 0]
    return ChannelShuffle(r.choice(groups)) if groups else None


def split(r, c, h, w):
    if c < 2:
        return None
    use_chunk = c % 2 == 0 and r.random() < 0.5
    first = c // 2 if use_chunk else r.randint(1, c - 1)
    rest = c - first
    return SplitMerge(first, use_chunk, conv_block(r, rest, h, w, r.choice(["plain", "depthwise", "1x1"])))


def layer_norm(r, c, h, w):
    return nn.Sequential(ChannelLayerNorm(c), activation(r, c))


def group_norm(r, c, h, w):
    groups = [g for g in (1, 2, 4) if c % g == 0]
    return nn.Sequential(nn.GroupNorm(r.choice(groups), c), activation(r, c))


def pixel_shuffle(r, c, h, w):
    return nn.PixelShuffle(2) if c % 4 == 0 and max(h, w) <= 32 else None


def global_context(r, c, h, w):
    return GlobalContext(r.choice(["center", "gate", "max"]))


BLOCKS = {"conv": conv_block, "transposed": transposed, "pool": pool, "norm": norm, "residual": residual,
          "inception": inception, "squeeze_excite": squeeze_excite, "unet": unet, "shuffle": shuffle,
          "split": split, "layer_norm": layer_norm, "group_norm": group_norm, "pixel_shuffle": pixel_shuffle,
          "global_context": global_context}


def head(r, c, h, w):
    idiom = r.choice(["avgpool_view", "maxpool_flatten", "mean", "chunk_cat", "reshape_all", "conv"])
    if idiom == "chunk_cat" and c % 2:
        idiom = "mean"
    if idiom == "reshape_all" and c * h * w > 2048:
        idiom = "avgpool_view"
    if idiom == "conv":
        return Head(idiom, nn.Conv2d(c, r.choice([2, 3, 5]), 1), r.choice([None, "nearest", "bilinear"]))
    features = c * h * w if idiom == "reshape_all" else c
    classes = r.choice([3, 7, 10])
    if r.random() < 0.5:
        return Head(idiom, nn.Linear(features, classes))
    hidden = r.choice([8, 16, 24])
    return Head(idiom, nn.Sequential(nn.Linear(features, hidden), activation(r, hidden), nn.Dropout(0.3), nn.Linear(hidden, classes)))


def probe(module, shape):
    """The output shape (C, H, W) of module on an input of shape (C, H, W)."""
    with torch.no_grad():
        return tuple(module.eval()(torch.zeros(1, *shape)).shape[1:])


def generate(seed):
    """The random net of this seed, in eval mode, weights perturbed (model_check.perturb)."""
    r = random.Random(seed)
    torch.manual_seed(seed)
    shape = (r.choice([1, 3, 4]), r.choice([17, 23, 28, 31, 33, 40, 47]), r.choice([17, 23, 28, 31, 33, 40, 47]))
    input_shape = (r.randint(1, 3), *shape)
    blocks, description = [], [f"input {'x'.join(map(str, input_shape))}"]
    depth = r.randint(2, 6)
    while len(blocks) < depth:
        kind = r.choice(["conv", *sorted(BLOCKS)])  # plain conv blocks twice as often
        block = BLOCKS[kind](r, *shape)
        if block is None:
            continue
        try:
            out = probe(block, shape)
        except (RuntimeError, ValueError):  # a window larger than the map, and the like: draw again
            continue
        if min(out[1:]) < 1 or out[0] > MAX_CHANNELS:
            continue
        blocks.append(block)
        description.append(f"{kind}: {text(block)}  -> {'x'.join(map(str, out))}")
        shape = out
    top = head(r, *shape)
    description.append(f"head {top.idiom}{' + interpolate ' + top.input_size if top.input_size else ''}: {text(top.layers)}")
    net = RandomNet(input_shape, blocks, top, description).eval()
    perturb(net, seed)
    # Half the nets keep their BatchNormalization nodes at export (PRESERVE), half get them
    # folded into the convs they follow, as a default export does.
    net.export_options = {"training": torch.onnx.TrainingMode.PRESERVE} if r.random() < 0.5 else {}
    description.append("export: " + ("BN kept (training=PRESERVE)" if net.export_options else "default (BN folded)"))
    return net
