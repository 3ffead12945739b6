"""LeNet-5 end to end: the compiled library equals the reference interpreter and PyTorch."""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

from kiln_testing import assert_close, fresh_seed, main, run_kiln, scratch_dir, write_safetensors

EXAMPLES = sys.argv[1]
SEED = fresh_seed()
torch.manual_seed(SEED)
rng = np.random.default_rng(SEED)


class LeNet5(nn.Module):
    """The seed's LeNet-5 with the same layer names as examples/lenet5/*.kiln."""

    def __init__(self, modern):
        super().__init__()
        self.act = nn.ReLU() if modern else nn.Tanh()
        self.pool = nn.MaxPool2d(2) if modern else nn.AvgPool2d(2)
        self.c1, self.c3, self.c5 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5), nn.Conv2d(16, 120, 5)
        self.f6, self.out = nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(self.act(self.c1(x)))
        x = self.pool(self.act(self.c3(x)))
        x = torch.flatten(self.act(self.c5(x)), 1)
        return self.out(self.act(self.f6(x)))


def check_variant(model_file, modern, batch, extra=()):
    work = scratch_dir()
    net = LeNet5(modern).eval()
    weights = os.path.join(work, "w.safetensors")
    write_safetensors(weights, {k: v.numpy() for k, v in net.state_dict().items()})
    x = rng.standard_normal((batch, 1, 32, 32)).astype(np.float32)
    np.save(os.path.join(work, "x.npy"), x)
    model = os.path.join(EXAMPLES, "lenet5", model_file)

    run_kiln("compile", model, "-o", work, "--name", "net", "--weights", weights, "--batch", batch, *extra)
    run_kiln("run", os.path.join(work, "libnet.so"), "--input", os.path.join(work, "x.npy"),
             "--output", os.path.join(work, "lib.npy"))
    run_kiln("run", "--reference", model, "--weights", weights, "--batch", batch,
             "--input", os.path.join(work, "x.npy"), "--output", os.path.join(work, "ref.npy"))
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    compiled, reference = np.load(os.path.join(work, "lib.npy")), np.load(os.path.join(work, "ref.npy"))
    what = f"{model_file} batch {batch} {' '.join(map(str, extra))}"
    assert_close(compiled, reference, 1e-5, what + " library vs reference")
    assert_close(reference, expected, 1e-5, what + " reference vs PyTorch")
    assert_close(compiled, expected, 1e-5, what + " library vs PyTorch")


def test_classic_batch1():
    check_variant("lenet5.kiln", modern=False, batch=1)


def test_modern_batch3():
    check_variant("lenet5_modern.kiln", modern=True, batch=3)


def test_modern_in_pipelines_of_one_group():
    """One Halide pipeline per conv/dense group: every value between them passes through the
    context's temporaries."""
    check_variant("lenet5_modern.kiln", modern=True, batch=2, extra=("--pipeline-ops", 1))


def test_seeded_init_library_matches_reference():
    work = scratch_dir()
    model = os.path.join(EXAMPLES, "lenet5", "lenet5.kiln")
    x = rng.standard_normal((1, 1, 32, 32)).astype(np.float32)
    np.save(os.path.join(work, "x.npy"), x)
    run_kiln("compile", model, "-o", work, "--seed", 7)
    run_kiln("run", os.path.join(work, "liblenet5.so"), "-i", os.path.join(work, "x.npy"), "-o", os.path.join(work, "a.npy"))
    run_kiln("run", "--reference", model, "--seed", 7, "-i", os.path.join(work, "x.npy"), "-o", os.path.join(work, "b.npy"))
    assert_close(np.load(os.path.join(work, "a.npy")), np.load(os.path.join(work, "b.npy")), 1e-5, "seeded init")


main([test_classic_batch1, test_modern_batch3, test_modern_in_pipelines_of_one_group,
      test_seeded_init_library_matches_reference])
