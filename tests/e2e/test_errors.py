"""Bad input gives a clear message naming the place, a non-zero exit, and no output files."""
import os
import sys

import numpy as np

from kiln_testing import main, run_kiln, scratch_dir, write_safetensors

EXAMPLES = sys.argv[1]
LENET = os.path.join(EXAMPLES, "lenet5", "lenet5.kiln")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def expect_message(proc, *fragments):
    for fragment in fragments:
        if fragment not in proc.stderr:
            raise AssertionError(f"expected {fragment!r} in the error output:\n{proc.stderr}")


def test_malformed_text_names_line_and_column_and_writes_nothing():
    work = scratch_dir()
    model = write(os.path.join(work, "bad.kiln"), "input x: 1x3x8x8\ny = conv2d(x) filters=4 kernel=3\nz = conv3d(y)\noutput z\n")
    out = os.path.join(work, "out")
    proc = run_kiln("compile", model, "-o", out, expect_ok=False)
    expect_message(proc, "bad.kiln:3:5: error", "conv3d")
    assert not os.path.exists(out), "a failed compile created the output directory"


def test_halide_only_options_are_refused_with_mlir_and_train():
    work = scratch_dir()
    for extra in (["--backend", "mlir"], ["--train"]):
        out = os.path.join(work, "out")
        proc = run_kiln("compile", LENET, "-o", out, "--winograd", "on", *extra, expect_ok=False)
        expect_message(proc, "--winograd applies to inference compiles with the halide backend")
        assert not os.path.exists(out), "a refused compile created the output directory"


def test_unknown_extension():
    work = scratch_dir()
    proc = run_kiln("compile", write(os.path.join(work, "m.txt"), "x"), "-o", os.path.join(work, "o"), expect_ok=False)
    expect_message(proc, "m.txt", ".kiln")


def test_weights_with_wrong_shape_name_the_parameter():
    work = scratch_dir()
    weights = os.path.join(work, "w.safetensors")
    write_safetensors(weights, {"c1.weight": np.zeros((6, 1, 3, 3), np.float32)})
    proc = run_kiln("compile", LENET, "-o", os.path.join(work, "o"), "--weights", weights, expect_ok=False)
    expect_message(proc, "c1.weight", "6x1x5x5", "6x1x3x3")
    assert not os.path.exists(os.path.join(work, "o", "liblenet5.so"))


def test_truncated_weights_file():
    work = scratch_dir()
    weights = write(os.path.join(work, "w.safetensors"), "\x10\x00")
    proc = run_kiln("compile", LENET, "-o", os.path.join(work, "o"), "--weights", weights, expect_ok=False)
    expect_message(proc, "w.safetensors")


def test_wrong_npy_shape_is_rejected_without_output_file():
    work = scratch_dir()
    run_kiln("compile", LENET, "-o", work)
    np.save(os.path.join(work, "x.npy"), np.zeros((1, 1, 28, 28), np.float32))
    y = os.path.join(work, "y.npy")
    proc = run_kiln("run", os.path.join(work, "liblenet5.so"), "-i", os.path.join(work, "x.npy"), "-o", y, expect_ok=False)
    expect_message(proc, "x.npy", "[1, 1, 32, 32]", "[1, 1, 28, 28]")
    assert not os.path.exists(y), "a failed run left an output file"
    proc = run_kiln("run", "--reference", LENET, "-i", os.path.join(work, "x.npy"), "-o", y, expect_ok=False)
    expect_message(proc, "[1, 1, 32, 32]", "[1, 1, 28, 28]")
    assert not os.path.exists(y)


def test_wrong_npy_dtype():
    work = scratch_dir()
    run_kiln("compile", LENET, "-o", work)
    np.save(os.path.join(work, "x.npy"), np.zeros((1, 1, 32, 32), np.float64))
    proc = run_kiln("run", os.path.join(work, "liblenet5.so"), "-i", os.path.join(work, "x.npy"), expect_ok=False)
    expect_message(proc, "x.npy", "float32")


main([test_malformed_text_names_line_and_column_and_writes_nothing,
      test_halide_only_options_are_refused_with_mlir_and_train, test_unknown_extension,
      test_weights_with_wrong_shape_name_the_parameter, test_truncated_weights_file,
      test_wrong_npy_shape_is_rejected_without_output_file, test_wrong_npy_dtype])
