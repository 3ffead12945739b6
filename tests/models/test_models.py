"""Seed architectures end to end: builds one network in PyTorch with fixed seeds, exports it to
ONNX at test time (into a scratch directory), compiles it with `kiln compile`, runs the library
with `kiln run` on a random input and compares with PyTorch (relative L2 <= 1e-4), through
model_check.py like the zoo (test_zoo.py).

Run one network:  KILN=build/bin/kiln PYTHONPATH=tests/e2e /usr/bin/python3 tests/models/test_models.py resnet18
Run all:          ... test_models.py all        (the list: test_models.py --list)
Other backend:    ... test_models.py --backend mlir resnet18   (inputs of MLIR_SHAPES where given)
The scratch directory is removed afterwards unless KILN_KEEP is set.
Batch-norm statistics and every constant-initialised parameter are randomised (model_check.perturb)."""
import os
import re

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

from kiln_testing import run_kiln
from model_check import CheckFailure, main, perturb, run_network


# ----------------------------------------------------------------------------- networks

class LeNet5(nn.Module):
    """The seed's LeNet-5 (examples/lenet5/lenet5.kiln): tanh, average pooling, 32x32 input."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5)
        self.c3 = nn.Conv2d(6, 16, 5)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.out = nn.Linear(84, 10)

    def forward(self, x):
        x = F.avg_pool2d(torch.tanh(self.c1(x)), 2)
        x = F.avg_pool2d(torch.tanh(self.c3(x)), 2)
        x = torch.flatten(torch.tanh(self.c5(x)), 1)
        return self.out(torch.tanh(self.f6(x)))


def inception_module():
    """GoogLeNet's block 3a as torchvision builds it: 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 | 3x3 max-pool
    (stride 1, ceil_mode) -> 1x1, concatenated; each conv is conv + BN + ReLU."""
    from torchvision.models.googlenet import Inception
    return Inception(192, 64, 96, 128, 16, 32, 32)


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU())


class UNet(nn.Module):
    """A small U-Net: three levels, max-pool down, one ConvTranspose2d up and one bilinear
    Upsample up, skip connections by concatenation, a 1x1 head."""

    def __init__(self):
        super().__init__()
        self.e1, self.e2, self.mid = block(3, 8), block(8, 16), block(16, 32)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.d2 = block(32, 16)
        self.up1 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.d1 = block(16 + 8, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        e1 = self.e1(x)
        e2 = self.e2(F.max_pool2d(e1, 2))
        m = self.mid(F.max_pool2d(e2, 2))
        d2 = self.d2(torch.cat([self.up2(m), e2], 1))
        d1 = self.d1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


class CourseCNN(nn.Module):
    """The course's TensorFlow CNN on 28x28x1: 3x [conv 3x3 SAME + ReLU + max-pool 2 SAME],
    dense 625 + ReLU, dense 10. TensorFlow's 2x2/2 SAME pool pads the bottom/right by one cell
    when the size is odd (7 -> 4) and ignores the padding in the maximum; PyTorch's
    ceil_mode=True gives exactly that (the last window is clipped), so 28 -> 14 -> 7 -> 4.
    The convolutions use padding=1, which is SAME for a 3x3 stride-1 kernel: PyTorch 1.13 cannot
    export padding="same" (aten::_convolution_mode) to ONNX."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 64, 3, padding=1)
        self.c3 = nn.Conv2d(64, 128, 3, padding=1)
        self.fc1 = nn.Linear(128 * 4 * 4, 625)
        self.fc2 = nn.Linear(625, 10)

    def forward(self, x):
        for conv in (self.c1, self.c2, self.c3):
            x = F.max_pool2d(F.relu(conv(x)), 2, ceil_mode=True)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class KeypointNet(nn.Module):
    """The course's facial-keypoint net on 96x96x1: conv 32@3x3 -> pool -> dropout,
    conv 64@2x2 -> pool -> dropout, conv 128@2x2 -> pool -> dropout (ReLU after each conv),
    dense 1000, dense 1000 (ReLU), 30 linear outputs."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2, self.c3 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 2), nn.Conv2d(64, 128, 2)
        self.drop = nn.ModuleList([nn.Dropout(p) for p in (0.1, 0.2, 0.3, 0.5, 0.5)])
        self.fc1, self.fc2, self.out = nn.Linear(128 * 11 * 11, 1000), nn.Linear(1000, 1000), nn.Linear(1000, 30)

    def forward(self, x):
        for k, conv in enumerate((self.c1, self.c2, self.c3)):
            x = self.drop[k](F.max_pool2d(F.relu(conv(x)), 2))  # 94 -> 47, 46 -> 23, 22 -> 11
        x = self.drop[3](F.relu(self.fc1(torch.flatten(x, 1))))
        x = self.drop[4](F.relu(self.fc2(x)))
        return self.out(x)


def googlenet():
    return torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=True)


# name -> (constructor, input shape)
NETWORKS = {
    "lenet5": (LeNet5, (2, 1, 32, 32)),
    "course_cnn": (CourseCNN, (2, 1, 28, 28)),
    "keypoint_net": (KeypointNet, (1, 1, 96, 96)),
    "inception_module": (inception_module, (1, 192, 28, 28)),
    "unet": (UNet, (1, 3, 64, 64)),
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), (1, 3, 224, 224)),
    # Planes down to 1x1, where nn-trim-padding-taps drops the taps that only meet padding.
    "resnet18_32": (lambda: torchvision.models.resnet18(weights=None), (1, 3, 32, 32)),
    "googlenet": (googlenet, (1, 3, 224, 224)),
    "alexnet": (lambda: torchvision.models.alexnet(weights=None), (1, 3, 224, 224)),
    "vgg11_bn": (lambda: torchvision.models.vgg11_bn(weights=None), (1, 3, 224, 224)),
}


# name -> input shape under --backend mlir where it differs (ResNet-18 at 32x32 keeps the test quick).
MLIR_SHAPES = {"resnet18": (1, 3, 32, 32)}


def check_parameter_count(name, model):
    """after(work) for run_network: kiln inspect's parameter total (batch-norm running statistics
    counted apart) must equal PyTorch's."""

    def after(work):
        table = run_kiln("inspect", os.path.join(work, name + ".onnx")).stdout
        inspected = int(re.search(r"^parameters (\d+)", table, re.M).group(1))
        trained = sum(p.numel() for p in model.parameters())
        if inspected != trained:
            raise CheckFailure("inspect", ["kiln inspect parameter count"], f"kiln inspect counts {inspected} parameters, PyTorch {trained}")

    return after


def run(name, backend):
    make, shape = NETWORKS[name]
    if backend == "mlir":
        shape = MLIR_SHAPES.get(name, shape)
    torch.manual_seed(0)
    model = make().eval()
    perturb(model, seed=1)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    # PRESERVE keeps BatchNormalization nodes (a default export folds them into the convs).
    return run_network(name, model, x, backend, after=check_parameter_count(name, model),
                       training=torch.onnx.TrainingMode.PRESERVE)


if __name__ == "__main__":
    main(NETWORKS, run)
