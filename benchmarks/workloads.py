"""The benchmark workloads: a PyTorch module (seeded, eval mode) and an NCHW input shape each.
The networks are the seed networks of tests/models/test_models.py; every peer gets the same
module (PyTorch) or its ONNX export (Kiln, onnxruntime)."""
import os
from collections import OrderedDict
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "models"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from test_models import NETWORKS, randomise_batch_norm  # noqa: E402


def _seed(name):
    """Seed network `name` with non-trivial batch-norm statistics, so a benchmark cannot skip them."""
    def factory():
        module = NETWORKS[name][0]()
        with torch.no_grad():
            randomise_batch_norm(module)
        return module
    return factory


# name -> (module factory, input shape); the first group is issue 6's list, then the other seeds.
WORKLOADS = {
    "conv3x3_64_56_b1": (lambda: nn.Sequential(OrderedDict(conv=nn.Conv2d(64, 64, 3, padding=1))), (1, 64, 56, 56)),
    "lenet5_b1": (_seed("lenet5"), (1, 1, 32, 32)),
    "lenet5_b64": (_seed("lenet5"), (64, 1, 32, 32)),
    "resnet18_224_b1": (_seed("resnet18"), (1, 3, 224, 224)),
    "resnet18_32_b1": (_seed("resnet18"), (1, 3, 32, 32)),
    "vgg11_bn_224_b1": (_seed("vgg11_bn"), (1, 3, 224, 224)),
    "unet_64_b1": (_seed("unet"), (1, 3, 64, 64)),
    "course_cnn_b1": (_seed("course_cnn"), (1, 1, 28, 28)),
    "keypoint_net_b1": (_seed("keypoint_net"), (1, 1, 96, 96)),
    "inception_module_b1": (_seed("inception_module"), (1, 192, 28, 28)),
    "googlenet_224_b1": (_seed("googlenet"), (1, 3, 224, 224)),
    "alexnet_224_b1": (_seed("alexnet"), (1, 3, 224, 224)),
}

# Single conv layers: FLOPs (for GFLOP/s) and the oneDNN worker's arguments N C H W F K stride pad.
FLOP_COUNTED = {"conv3x3_64_56_b1": 2 * 64 * 64 * 9 * 56 * 56}
ONEDNN_CONV = {"conv3x3_64_56_b1": (1, 64, 56, 56, 64, 3, 1, 1)}


def make(name):
    """The seeded module (eval mode) and input shape of workload `name`."""
    factory, shape = WORKLOADS[name]
    torch.manual_seed(0)
    return factory().eval(), shape
