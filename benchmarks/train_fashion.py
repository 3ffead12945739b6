"""Training LeNet-5 on Fashion-MNIST: Kiln (examples/train_lenet5) against PyTorch, same recipe, one run.

Both train the network of examples/train_lenet5/lenet5_fashion.kiln with SGD (lr 0.01, momentum
0.9), batch 64, shuffled each epoch with the last partial batch dropped, pixels normalised as
(x/255 - 0.2860) / 0.3530, and evaluate the test accuracy after each epoch. Initialisations
differ (Kiln: He-uniform weights; PyTorch: its defaults). Epoch time is the training steps only
(no evaluation). The two alternate epoch by epoch (the Kiln example continues with --resume), so
both see the same machine load. Prints the median epoch time and the final test accuracy of
each, with the thread count both were given (torch.set_num_threads and the example's --threads).
On a machine whose cores are busy, use --threads 1: PyTorch's OpenMP threads spin-wait and slow
down several times over when they have to share cores.
Usage: /usr/bin/python3 benchmarks/train_fashion.py [--epochs 10] [--threads 2] [--train-limit N]
       [--kiln build/bin/kiln] [--out DIR]"""
import argparse
import csv
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EXAMPLE = os.path.join(ROOT, "examples", "train_lenet5")
BATCH, LR, MOMENTUM = 64, 0.01, 0.9
PIXEL_MEAN, PIXEL_STD = 0.2860, 0.3530


def read_idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        sys.exit(f"{path}: magic number {found:#010x}, expected {magic:#010x}")
    rank = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"), 0x803)
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"), 0x801)
    x = (torch.from_numpy(images.astype(np.float32)) / 255 - PIXEL_MEAN) / PIXEL_STD
    return x.unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


class TorchTrainer:
    """The PyTorch side, one epoch per call."""

    def __init__(self, args):
        torch.manual_seed(1)
        self.train_x, self.train_y = load(args.data, "train")
        self.test_x, self.test_y = load(args.data, "t10k")
        if args.train_limit:
            self.train_x, self.train_y = self.train_x[:args.train_limit], self.train_y[:args.train_limit]
        self.model = lenet5()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)
        self.loss_fn = nn.CrossEntropyLoss()

    def epoch(self, epoch):
        """Returns (epoch, train_loss, test_accuracy, seconds)."""
        steps = len(self.train_x) // BATCH
        self.model.train()
        order = torch.randperm(len(self.train_x))
        total = 0.0
        start = time.perf_counter()
        for step in range(steps):
            batch = order[step * BATCH:(step + 1) * BATCH]
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(self.train_x[batch]), self.train_y[batch])
            loss.backward()
            self.optimizer.step()
            total += loss.item()
        seconds = time.perf_counter() - start
        self.model.eval()
        with torch.no_grad():
            correct = sum((self.model(self.test_x[i:i + BATCH]).argmax(1) == self.test_y[i:i + BATCH]).sum().item()
                          for i in range(0, len(self.test_x), BATCH))
        accuracy = correct / len(self.test_x)
        print(f"pytorch epoch {epoch}: train loss {total / steps:.4f}, test accuracy {100 * accuracy:.2f}%, "
              f"{seconds:.1f} s", flush=True)
        return epoch, total / steps, accuracy, seconds


def run(command, **kwargs):
    print("$ " + " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)


class KilnTrainer:
    """The Kiln side: compiles the model with kiln --train and builds the example; each call runs
    it for one more epoch (--resume continues exactly where the last one stopped)."""

    def __init__(self, args, work):
        library = os.path.join(work, "lenet5_fashion-lib")
        run([args.kiln, "compile", os.path.join(EXAMPLE, "lenet5_fashion.kiln"), "--train",
             "--loss", "softmax_cross_entropy", "--optimizer", "momentum", "--lr", str(LR),
             "--momentum", str(MOMENTUM), "--batch", str(BATCH), "-o", library, "--name", "lenet5_fashion"])
        build = os.path.join(work, "build")
        run(["cmake", "-S", EXAMPLE, "-B", build, "-DCMAKE_BUILD_TYPE=Release", f"-DLENET5_FASHION_DIR={library}"],
            stdout=subprocess.DEVNULL)
        run(["cmake", "--build", build], stdout=subprocess.DEVNULL)
        self.out = os.path.join(work, "kiln-run")
        self.command = [os.path.join(build, "train_lenet5"), "--data", args.data, "--threads", str(args.threads),
                        "--out", self.out]
        if args.train_limit:
            self.command += ["--train-limit", str(args.train_limit)]

    def epoch(self, epoch):
        """Returns (epoch, train_loss, test_accuracy, seconds) from the example's history.csv."""
        resume = ["--resume"] if epoch > 1 else []
        run(self.command + ["--epochs", str(epoch)] + resume, stderr=subprocess.DEVNULL)  # stderr: progress bar
        with open(os.path.join(self.out, "history.csv")) as f:
            row = list(csv.DictReader(f))[-1]
        return int(row["epoch"]), float(row["train_loss"]), float(row["test_accuracy"]), float(row["seconds"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-limit", type=int, default=0, help="use the first N training images (0: all)")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--kiln", default=os.environ.get("KILN", os.path.join(ROOT, "build", "bin", "kiln")))
    parser.add_argument("--out", help="keep the Kiln library, build and run here (default: a temporary directory)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    print(f"LeNet-5 on Fashion-MNIST: {args.epochs} epochs, batch {BATCH}, SGD lr {LR} momentum {MOMENTUM}, "
          f"{args.train_limit or 60000} training images; {args.threads} threads "
          f"(torch.set_num_threads({args.threads}), train_lenet5 --threads {args.threads}); "
          f"torch {torch.__version__}; load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as temporary:
        work = args.out or temporary
        os.makedirs(work, exist_ok=True)
        trainers = {"kiln": KilnTrainer(args, work), "pytorch": TorchTrainer(args)}
        results = {peer: [] for peer in trainers}
        for epoch in range(1, args.epochs + 1):  # epochs alternate, so both see the same machine load
            for peer, trainer in trainers.items():
                results[peer].append(trainer.epoch(epoch))
    print(f"\n{'peer':8} {'threads':>7} {'epochs':>6} {'median epoch (s)':>16} {'final loss':>10} "
          f"{'test accuracy':>13}")
    for peer, history in results.items():
        median = statistics.median(seconds for *_, seconds in history)
        print(f"{peer:8} {args.threads:7d} {len(history):6d} {median:16.2f} {history[-1][1]:10.4f} "
              f"{100 * history[-1][2]:12.2f}%")
    kiln_median = statistics.median(s for *_, s in results["kiln"])
    torch_median = statistics.median(s for *_, s in results["pytorch"])
    print(f"Kiln/PyTorch epoch time: {kiln_median / torch_median:.2f} (< 1: Kiln is faster); "
          f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
