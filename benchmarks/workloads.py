"""The benchmark workloads: a PyTorch module (seeded, eval mode) and an NCHW input shape each.
Kiln compiles the module's Kiln text form (scripts/torch_to_kiln.py) with the same weights."""
import os
from collections import OrderedDict
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))


class LeNet5(nn.Module):
    """The seed's LeNet-5 (tanh, average pooling), as examples/lenet5/lenet5.kiln."""

    def __init__(self):
        super().__init__()
        self.c1, self.c3, self.c5 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5), nn.Conv2d(16, 120, 5)
        self.f6, self.out = nn.Linear(120, 84), nn.Linear(84, 10)
        self.pool, self.act = nn.AvgPool2d(2), nn.Tanh()

    def forward(self, x):
        x = self.pool(self.act(self.c1(x)))
        x = self.pool(self.act(self.c3(x)))
        x = torch.flatten(self.act(self.c5(x)), 1)
        return self.out(self.act(self.f6(x)))


def _randomize_batch_norm(module):
    """Non-trivial BN statistics, so a benchmark cannot skip them."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return module


def _torchvision(name):
    import torchvision
    return _randomize_batch_norm(getattr(torchvision.models, name)())


# name -> (module factory, input shape)
WORKLOADS = {
    "conv3x3_64_56_b1": (lambda: nn.Sequential(OrderedDict(conv=nn.Conv2d(64, 64, 3, padding=1))), (1, 64, 56, 56)),
    "lenet5_b1": (LeNet5, (1, 1, 32, 32)),
    "lenet5_b64": (LeNet5, (64, 1, 32, 32)),
    "resnet18_224_b1": (lambda: _torchvision("resnet18"), (1, 3, 224, 224)),
    "resnet18_32_b1": (lambda: _torchvision("resnet18"), (1, 3, 32, 32)),
    "vgg11_bn_224_b1": (lambda: _torchvision("vgg11_bn"), (1, 3, 224, 224)),
}

FLOP_COUNTED = {"conv3x3_64_56_b1": 2 * 64 * 64 * 9 * 56 * 56}


def make(name):
    """The seeded module (eval mode) and input shape of workload `name`."""
    factory, shape = WORKLOADS[name]
    torch.manual_seed(0)
    return factory().eval(), shape
