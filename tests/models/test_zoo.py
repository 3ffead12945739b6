"""The torchvision 0.14 zoo end to end: each classification and segmentation architecture is built
with random weights (weights=None, no download), perturbed so that no layer is an identity
(model_check.perturb), exported as a user would (torch.onnx.export, opset 13, default options:
BN folded into the convs it follows), compiled by kiln, run, and compared with PyTorch (relative
L2 <= 1e-4). Inputs are small but valid, some of odd size, some with batch 2.

Run one:   KILN=build/bin/kiln PYTHONPATH=tests/e2e /usr/bin/python3 tests/models/test_zoo.py resnet50
Run all:   ... test_zoo.py [--backend mlir] all     (the list: --list; a table of causes at the end)
KILN_KEEP=1 keeps the scratch directory (the .onnx, the library, x.npy)."""
import torch
import torch.nn as nn
import torchvision
from torchvision.models import segmentation

from model_check import main, perturb, run_network


class SegmentationOut(nn.Module):
    """torchvision's segmentation models return {'out': ...}; this returns the tensor."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)["out"]


def classifier(name, **options):
    return lambda: getattr(torchvision.models, name)(weights=None, **options)


def segmenter(name):
    return lambda: SegmentationOut(getattr(segmentation, name)(weights=None, weights_backbone=None, num_classes=5))


# name -> (constructor, input shape). Odd sizes where the net allows them (strided convs and
# ceil_mode pools then round), batch 2 on the cheap ones. vgg/alexnet need 224: their adaptive
# pools (7x7, 6x6) export only when they divide evenly, and at 224 they are identities.
ZOO = {
    "resnet18": (classifier("resnet18"), (2, 3, 64, 64)),
    "resnet34": (classifier("resnet34"), (1, 3, 57, 57)),
    "resnet50": (classifier("resnet50"), (1, 3, 64, 64)),
    "resnet101": (classifier("resnet101"), (1, 3, 64, 64)),
    "resnet152": (classifier("resnet152"), (1, 3, 64, 64)),
    "resnext50_32x4d": (classifier("resnext50_32x4d"), (1, 3, 64, 64)),
    "resnext101_32x8d": (classifier("resnext101_32x8d"), (1, 3, 64, 64)),
    "resnext101_64x4d": (classifier("resnext101_64x4d"), (1, 3, 64, 64)),
    "wide_resnet50_2": (classifier("wide_resnet50_2"), (1, 3, 64, 64)),
    "wide_resnet101_2": (classifier("wide_resnet101_2"), (1, 3, 64, 64)),
    "densenet121": (classifier("densenet121"), (1, 3, 64, 64)),
    "densenet161": (classifier("densenet161"), (1, 3, 64, 64)),
    "densenet169": (classifier("densenet169"), (1, 3, 64, 64)),
    "densenet201": (classifier("densenet201"), (1, 3, 64, 64)),
    "squeezenet1_0": (classifier("squeezenet1_0"), (2, 3, 67, 67)),
    "squeezenet1_1": (classifier("squeezenet1_1"), (2, 3, 64, 64)),
    "mobilenet_v2": (classifier("mobilenet_v2"), (2, 3, 64, 64)),
    "mobilenet_v3_small": (classifier("mobilenet_v3_small"), (2, 3, 61, 61)),
    "mobilenet_v3_large": (classifier("mobilenet_v3_large"), (1, 3, 64, 64)),
    "mnasnet0_5": (classifier("mnasnet0_5"), (2, 3, 64, 64)),
    "mnasnet0_75": (classifier("mnasnet0_75"), (1, 3, 64, 64)),
    "mnasnet1_0": (classifier("mnasnet1_0"), (1, 3, 59, 59)),
    "mnasnet1_3": (classifier("mnasnet1_3"), (1, 3, 64, 64)),
    "shufflenet_v2_x0_5": (classifier("shufflenet_v2_x0_5"), (2, 3, 64, 64)),
    "shufflenet_v2_x1_0": (classifier("shufflenet_v2_x1_0"), (1, 3, 63, 63)),
    "shufflenet_v2_x1_5": (classifier("shufflenet_v2_x1_5"), (1, 3, 64, 64)),
    "shufflenet_v2_x2_0": (classifier("shufflenet_v2_x2_0"), (1, 3, 64, 64)),
    **{f"efficientnet_b{k}": (classifier(f"efficientnet_b{k}"), (1, 3, 64, 64)) for k in range(8)},
    **{f"efficientnet_v2_{s}": (classifier(f"efficientnet_v2_{s}"), (1, 3, 64, 64)) for s in "sml"},
    "regnet_x_400mf": (classifier("regnet_x_400mf"), (2, 3, 64, 64)),
    "regnet_y_400mf": (classifier("regnet_y_400mf"), (1, 3, 65, 65)),
    "regnet_x_800mf": (classifier("regnet_x_800mf"), (1, 3, 64, 64)),
    "regnet_y_800mf": (classifier("regnet_y_800mf"), (1, 3, 64, 64)),
    "regnet_x_1_6gf": (classifier("regnet_x_1_6gf"), (1, 3, 64, 64)),
    "regnet_y_1_6gf": (classifier("regnet_y_1_6gf"), (1, 3, 64, 64)),
    "regnet_x_3_2gf": (classifier("regnet_x_3_2gf"), (1, 3, 64, 64)),
    "regnet_y_3_2gf": (classifier("regnet_y_3_2gf"), (1, 3, 64, 64)),
    "googlenet": (classifier("googlenet", aux_logits=False, init_weights=True), (1, 3, 64, 64)),
    "inception_v3": (classifier("inception_v3", aux_logits=False, init_weights=True), (1, 3, 79, 79)),
    "convnext_tiny": (classifier("convnext_tiny"), (1, 3, 64, 64)),
    "fcn_resnet50": (segmenter("fcn_resnet50"), (1, 3, 64, 64)),
    "deeplabv3_resnet50": (segmenter("deeplabv3_resnet50"), (1, 3, 57, 57)),
    "deeplabv3_mobilenet_v3_large": (segmenter("deeplabv3_mobilenet_v3_large"), (1, 3, 64, 64)),
    "lraspp_mobilenet_v3_large": (segmenter("lraspp_mobilenet_v3_large"), (2, 3, 67, 67)),
    "alexnet": (classifier("alexnet"), (1, 3, 224, 224)),
    **{f"vgg{d}{bn}": (classifier(f"vgg{d}{bn}"), (1, 3, 224, 224)) for d in (11, 13, 16, 19) for bn in ("", "_bn")},
}


def run(name, backend):
    make, shape = ZOO[name]
    torch.manual_seed(0)
    model = make().eval()
    perturb(model, seed=1)
    return run_network(name, model, torch.randn(*shape, generator=torch.Generator().manual_seed(2)), backend)


if __name__ == "__main__":
    main(ZOO, run)
