"""`kiln train` end to end on fake training libraries (tests/unit/emit/fake_train.c, built by
kiln_fake_training_library): the parameters match a NumPy replay of the fake's update rule, the
checkpoints are safetensors files that json + numpy (and PyTorch's safetensors, when installed)
read, --load continues a run exactly, shuffling is seeded, and errors name the file and the fix."""
import json
import os
import struct
import subprocess

import numpy as np

from kiln_testing import fresh_seed, main, run_kiln, scratch_dir

FAKE_LIBRARY_TOOL = os.environ["KILN_FAKE_TRAINING_LIBRARY"]
SEED = fresh_seed()
rng = np.random.default_rng(SEED)
INITIAL = {"w": np.array([0.5, -1.0, 2.0], np.float32), "b": np.array([0.25], np.float32)}


def fake_library(work, *variant):
    """Builds libtrainee.so (x [2, 3] -> y [2, 3], parameters w [3], b [1], momentum) in work/<variant>."""
    out = os.path.join(work, "-".join(variant) or "mse")
    subprocess.run([FAKE_LIBRARY_TOOL, out, "trainee", *variant], check=True)
    return os.path.join(out, "libtrainee.so")


def read_safetensors(path):
    """Parses a safetensors file with json + numpy only: (tensors, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    assert length % 8 == 0, f"header length {length} is not 8-byte aligned"
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    body = data[8 + length:]
    tensors, end = {}, 0
    for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0]):
        begin, stop = entry["data_offsets"]
        assert entry["dtype"] == "F32" and begin == end, f"{name}: {entry}"
        tensors[name] = np.frombuffer(body[begin:stop], "<f4").reshape(entry["shape"])
        end = stop
    assert end == len(body), "the data section must be covered exactly"
    return tensors, metadata


def replay(x, targets, epochs, lr):
    """The fake's training (no shuffling, batches of 2) in float32 NumPy: (w, b, vw, vb, losses)."""
    w, b = INITIAL["w"].copy(), INITIAL["b"].copy()
    vw, vb = np.zeros(3, np.float32), np.zeros(1, np.float32)
    step, losses = 0, []
    for _ in range(epochs):
        for start in range(0, len(x) - len(x) % 2, 2):
            step += 1
            xb, tb = x[start:start + 2], targets[start:start + 2]
            d = xb * w + b - tb
            losses.append(float(np.mean(d * d)))
            vw = np.float32(0.9) * vw + (2 * d * xb / 6).sum(axis=0, dtype=np.float32)
            vb = np.float32(0.9) * vb + np.float32((2 * d / 6).sum())
            rate = np.float32(lr) / np.float32(step)
            w, b = w - rate * vw, b - rate * vb
    return w, b, vw, vb, losses


def data(samples):
    x = rng.standard_normal((samples, 3)).astype(np.float32)
    return x, (0.3 * x - 0.2).astype(np.float32)


def save_npy(work, **arrays):
    paths = {}
    for name, array in arrays.items():
        paths[name] = os.path.join(work, name + ".npy")
        np.save(paths[name], array)
    return paths


def test_parameters_follow_the_update_rule_and_checkpoints_are_safetensors():
    work = scratch_dir()
    lib = fake_library(work)
    x, targets = data(11)
    files = save_npy(work, x=x, y=targets)
    checkpoint = os.path.join(work, "trained.safetensors")
    proc = run_kiln("train", lib, "--x", files["x"], "--y", files["y"], "--epochs", 3, "--lr", 0.05, "--no-shuffle",
                    "--save", checkpoint)
    assert "1 sample does not fill a last batch" in proc.stdout, proc.stdout
    w, b, vw, vb, losses = replay(x, targets, 3, 0.05)
    tensors, metadata = read_safetensors(checkpoint)
    assert sorted(tensors) == ["b", "optimizer.b.momentum_buffer", "optimizer.w.momentum_buffer", "w"], sorted(tensors)
    for name, expected in [("w", w), ("b", b), ("optimizer.w.momentum_buffer", vw), ("optimizer.b.momentum_buffer", vb)]:
        np.testing.assert_allclose(tensors[name], expected, rtol=1e-5, atol=1e-6, err_msg=name)
    assert metadata == {"kiln.step": "15", "kiln.lr": "0.0500000007", "kiln.optimizer": "momentum"}, metadata
    epoch_losses = [float(line.split("mean loss ")[1].split()[0]) for line in proc.stdout.splitlines()
                    if line.startswith("epoch ")]
    np.testing.assert_allclose(epoch_losses, np.mean(np.reshape(losses, (3, 5)), axis=1), rtol=1e-4)
    assert not os.path.exists(checkpoint + ".tmp")
    try:
        from safetensors.numpy import load_file
    except ImportError:
        print("safetensors is not installed: checked with json + numpy only")
    else:
        loaded = load_file(checkpoint)
        np.testing.assert_array_equal(loaded["w"], tensors["w"])


def test_load_continues_exactly():
    work = scratch_dir()
    lib = fake_library(work, "bare")
    x, targets = data(8)
    files = save_npy(work, x=x, y=targets)
    whole, first, second = (os.path.join(work, n + ".safetensors") for n in ("whole", "first", "second"))
    common = ["--x", files["x"], "--y", files["y"], "--no-shuffle"]
    run_kiln("train", lib, *common, "--epochs", 2, "--save", whole)
    run_kiln("train", lib, *common, "--save", first)
    proc = run_kiln("train", lib, *common, "--load", first, "--save", second)
    assert "step 4, learning rate 0.1" in proc.stdout, proc.stdout
    for name, value in read_safetensors(whole)[0].items():
        np.testing.assert_array_equal(read_safetensors(second)[0][name], value, err_msg=name)
    assert read_safetensors(second)[1]["kiln.step"] == "8"


def test_shuffling_is_seeded():
    work = scratch_dir()
    lib = fake_library(work)
    x, targets = data(10)
    files = save_npy(work, x=x, y=targets)
    outputs = {}
    for run, seed in [("a", 7), ("b", 7), ("c", 8)]:
        outputs[run] = os.path.join(work, run + ".safetensors")
        run_kiln("train", lib, "--x", files["x"], "--y", files["y"], "--seed", seed, "--epochs", 2, "--save",
                 outputs[run])
    with open(outputs["a"], "rb") as a, open(outputs["b"], "rb") as b, open(outputs["c"], "rb") as c:
        first, again, other = a.read(), b.read(), c.read()
    assert first == again, "the same seed must give the same checkpoint"
    assert first != other, "another seed must shuffle differently"


def test_class_labels():
    work = scratch_dir()
    lib = fake_library(work, "classes")
    x, _ = data(6)
    files = save_npy(work, x=x, y=rng.integers(0, 3, 6).astype(np.int32), bad=np.array([0, 1, 2, 3, 0, 1]),
                     floats=np.zeros(6, np.float32), two=np.zeros((6, 1), np.int64))
    checkpoint = os.path.join(work, "c.safetensors")
    run_kiln("train", lib, "--x", files["x"], "--y", files["y"], "--save", checkpoint)
    assert read_safetensors(checkpoint)[1]["kiln.step"] == "3"
    for labels, message in [("bad", "sample 3 has class 3, but the model's output 'y' has 3 classes (0 to 2)"),
                            ("floats", "int32 ('<i4') or int64 ('<i8') is needed"),
                            ("two", "Y must be [6], like the first dimension of --x")]:
        out = os.path.join(work, labels + ".safetensors")
        proc = run_kiln("train", lib, "--x", files["x"], "--y", files[labels], "--save", out, expect_ok=False)
        assert message in proc.stderr and files[labels] in proc.stderr, proc.stderr
        assert not os.path.exists(out)


def test_errors_name_the_file_and_the_fix():
    work = scratch_dir()
    lib = fake_library(work)
    x, targets = data(5)
    files = save_npy(work, x=x, y=targets, x3=x.reshape(5, 3, 1), one=x[:1], y_one=targets[:1],
                     short=targets[:4])
    out = os.path.join(work, "out.safetensors")
    cases = [
        (["--x", files["x"], "--y", files["y"], "--batch", 4], "was compiled for batches of 2; drop --batch"),
        (["--x", files["x3"], "--y", files["y"]], "X must be [N, 3] (N samples)"),
        (["--x", files["one"], "--y", files["y_one"]], "fewer than one batch of 2"),
        (["--x", files["x"], "--y", files["short"]], "Y must be [5, 3]"),
        (["--x", files["x"], "--y", files["y"], "--lr", 1e30], "the loss became"),
        (["--x", files["x"], "--y", files["y"], "--load", files["x"]], "is not a safetensors file"),
    ]
    for args, message in cases:
        proc = run_kiln("train", lib, *args, "--save", out, expect_ok=False)
        assert message in proc.stderr, f"{args}: {proc.stderr}"
        assert not os.path.exists(out) and not os.path.exists(out + ".tmp"), args
    proc = run_kiln("train", lib, "--x", files["x"], "--y", files["y"], "--save",
                    os.path.join(work, "missing", "c.safetensors"), expect_ok=False)
    assert "does not exist; create it first" in proc.stderr, proc.stderr


main([test_parameters_follow_the_update_rule_and_checkpoints_are_safetensors, test_load_continues_exactly,
      test_shuffling_is_seeded, test_class_labels, test_errors_name_the_file_and_the_fix])
