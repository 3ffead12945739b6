"""`kiln tune` end to end on a small conv net (a few seconds of budget each): the records file is
valid JSON lines with the expected keys, one per layer signature plus one for the whole pipeline
(Kiln's schedules against Halide's autoschedulers); `kiln compile --tuning` gives a library that
still matches the reference interpreter and whose schedule is the tuned one (`kiln inspect
--tuning`, `--emit halide-stmt`), or the autoscheduler the pipeline record names; a second run
merges (no duplicate keys, the best kept); Ctrl-C (SIGINT) mid-run leaves a valid file and the
next run resumes from it; a corrupt file is reported with file:line."""
import json
import os
import signal
import subprocess
import time

import numpy as np

from kiln_testing import KILN, assert_close, fresh_seed, main, run_kiln, scratch_dir

WORK = scratch_dir()
MODEL = os.path.join(WORK, "small.kiln")
RECORDS = os.path.join(WORK, "tuning.json")
KEYS = {"signature", "target", "schedule", "best_ms", "default_ms", "speedup", "trials", "threads", "complete", "layers"}
PIPELINE_KEYS = KEYS - {"schedule"} | {"autoscheduler"}
SCHEDULERS = {"kiln", "kiln-default", "Adams2019", "Mullapudi2016", "Li2018"}
KNOBS = {"vector_width", "conv_channel_block", "conv_pixel_block", "conv_row_block", "conv_reduction_unroll",
         "conv_channels_outer", "conv_algorithm",
         "dense_block", "parallel", "parallel_min_elements"}
SIGNATURES = 4  # c1; c2 and c3 (the same); c4; out

with open(MODEL, "w") as f:
    f.write("""input x: 1x8x20x20
c1 = conv2d(x) filters=32 kernel=3 padding=1 activation=relu
c2 = conv2d(c1) filters=32 kernel=3 padding=1 activation=relu
c3 = conv2d(c2) filters=32 kernel=3 padding=1 activation=relu
p = max_pool2d(c3) kernel=2 stride=2
c4 = conv2d(p) filters=16 kernel=1
f = flatten(c4)
out = dense(f) units=10
output out
""")


def read_records(path, with_pipeline=None):
    """The layer records of `path`, checking each line is a JSON object with every key; the
    pipeline record is checked too, and stored in `with_pipeline` (a list) when one is given."""
    records, pipelines = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            record = json.loads(line)
            assert record["best_ms"] > 0 and record["default_ms"] > 0, line
            assert record["best_ms"] <= record["default_ms"] * 1.0000001 or not record["complete"], line
            if record["signature"].startswith("pipeline "):
                assert set(record) == PIPELINE_KEYS, f"line {number}: keys {sorted(record)}"
                assert record["autoscheduler"] in SCHEDULERS, line
                pipelines.append(record)
                continue
            assert set(record) == KEYS, f"line {number}: keys {sorted(record)}"
            assert set(record["schedule"]) == KNOBS, f"line {number}: knobs {sorted(record['schedule'])}"
            records.append(record)
    keys = [(r["signature"], r["target"]) for r in records + pipelines]
    assert len(keys) == len(set(keys)), f"duplicate keys in {path}"
    assert len(pipelines) <= 1, pipelines
    assert not os.path.exists(path + ".tmp"), "temporary file left behind"
    if with_pipeline is not None:
        with_pipeline.extend(pipelines)
    return records


def set_pipeline_choice(source, target, scheduler):
    """Copies the records of `source` to `target` with the pipeline record naming `scheduler`."""
    with open(source) as f:
        records = [json.loads(line) for line in f if line.strip()]
    for r in records:
        if r["signature"].startswith("pipeline "):
            r["autoscheduler"] = scheduler
    with open(target, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


def test_tune_writes_records():
    proc = run_kiln("tune", MODEL, "--budget", "8s", "--threads", "2", "-o", RECORDS)
    pipeline = []
    records = read_records(RECORDS, pipeline)
    assert len(records) == SIGNATURES, f"{len(records)} records, expected {SIGNATURES}"
    # The whole model, timed with Kiln's tuned schedules and with Halide's autoschedulers.
    assert len(pipeline) == 1 and pipeline[0]["complete"], pipeline
    assert pipeline[0]["trials"] >= 4, pipeline  # Kiln's tuned and default, Adams2019, Mullapudi2016 at least
    table = proc.stdout[proc.stdout.index("whole pipeline"):]
    for row in ("kiln (tuned)", "kiln (default)", "Adams2019", "Mullapudi2016"):
        line = next(l for l in table.splitlines() if l.strip().startswith(row))
        assert "failed" not in line and float(line.strip()[len(row):].split()[0]) > 0, line
    assert table.count("<- chosen") == 1, table
    assert all(r["complete"] for r in records)
    shared = [r for r in records if r["layers"] == ["c2", "c3"]]
    assert len(shared) == 1, "c2 and c3 share one signature"
    assert "+relu(1x32x20x20)" in shared[0]["signature"], shared[0]["signature"]
    assert "speedup" in proc.stdout and "default ms" in proc.stdout, proc.stdout
    assert "ETA" in proc.stderr and "trials" in proc.stderr, proc.stderr


def force_row_block(path):
    """Sets c1's record to a schedule the default never uses (3 output rows per register tile)."""
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    c1 = next(r for r in records if r["layers"] == ["c1"])
    c1["schedule"].update(conv_row_block=3, conv_pixel_block=5)
    with open(path, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


def test_compile_with_tuning_matches_reference():
    # Kiln's schedules for the pipeline here (the autoscheduler case is the next test).
    tuned, forced = os.path.join(WORK, "kiln_tuned.json"), os.path.join(WORK, "forced.json")
    set_pipeline_choice(RECORDS, tuned, "kiln")
    set_pipeline_choice(RECORDS, forced, "kiln")
    force_row_block(forced)
    rng = np.random.default_rng(fresh_seed())
    x = os.path.join(WORK, "x.npy")
    np.save(x, rng.standard_normal((1, 8, 20, 20)).astype(np.float32))
    for name, records in (("tuned", tuned), ("forced", forced)):
        out = os.path.join(WORK, name)
        proc = run_kiln("compile", MODEL, "-o", out, "--tuning", records)
        assert "5 of 5 conv/dense layers use tuned schedules" in proc.stderr, proc.stderr
        run_kiln("run", os.path.join(out, "libsmall.so"), "-i", x, "-o", os.path.join(out, "y.npy"))
    run_kiln("run", "--reference", MODEL, "-i", x, "-o", os.path.join(WORK, "ref.npy"))
    ref = np.load(os.path.join(WORK, "ref.npy"))
    for name in ("tuned", "forced"):
        assert_close(np.load(os.path.join(WORK, name, "y.npy")), ref, 1e-5, f"--tuning {name} vs reference")
    # inspect shows the schedule each layer got; the forced one differs from the default.
    plain = run_kiln("inspect", MODEL, "--tuning", os.path.join(WORK, "none.json"), expect_ok=False)
    assert "none.json: error: cannot read" in plain.stderr, plain.stderr
    table = run_kiln("inspect", MODEL, "--tuning", forced).stdout
    c1 = next(line for line in table.splitlines() if line.startswith("c1 ") and "conv2d(" in line)
    assert "x5 y3" in c1 and "tuned" in c1, c1
    default_stmt = run_kiln("compile", MODEL, "-o", WORK, "--emit", "halide-stmt").stdout
    forced_stmt = run_kiln("compile", MODEL, "-o", WORK, "--emit", "halide-stmt", "--tuning", forced).stdout
    assert default_stmt != forced_stmt, "the tuned schedule did not change the lowered statement"


def test_compile_with_tuned_default_schedules():
    chosen = os.path.join(WORK, "defaults.json")
    set_pipeline_choice(RECORDS, chosen, "kiln-default")
    proc = run_kiln("compile", MODEL, "-o", os.path.join(WORK, "defaults"), "--tuning", chosen)
    assert "0 of 5 conv/dense layers use tuned schedules" in proc.stderr, proc.stderr
    assert "found Kiln's default schedules faster" in proc.stderr, proc.stderr
    table = run_kiln("inspect", MODEL, "--tuning", chosen).stdout
    assert "tuned" not in table.split("Halide schedules")[1], table


def test_compile_with_tuned_autoscheduler():
    chosen = os.path.join(WORK, "mullapudi.json")
    set_pipeline_choice(RECORDS, chosen, "Mullapudi2016")
    rng = np.random.default_rng(fresh_seed())
    x = os.path.join(WORK, "x_auto.npy")
    np.save(x, rng.standard_normal((1, 8, 20, 20)).astype(np.float32))
    out = os.path.join(WORK, "mullapudi")
    proc = run_kiln("compile", MODEL, "-o", out, "--tuning", chosen)
    assert "scheduled by Halide's Mullapudi2016 autoscheduler (chosen by kiln tune" in proc.stderr, proc.stderr
    run_kiln("run", os.path.join(out, "libsmall.so"), "-i", x, "-o", os.path.join(out, "y.npy"))
    run_kiln("run", "--reference", MODEL, "-i", x, "-o", os.path.join(out, "ref.npy"))
    assert_close(np.load(os.path.join(out, "y.npy")), np.load(os.path.join(out, "ref.npy")), 1e-5,
                 "Mullapudi2016 from the records vs reference")
    table = run_kiln("inspect", MODEL, "--tuning", chosen).stdout
    assert "the whole pipeline: Halide's Mullapudi2016 autoscheduler" in table, table
    # --autoscheduler names one outright (any case); the MLIR backend has none.
    proc = run_kiln("compile", MODEL, "-o", os.path.join(WORK, "adams"), "--autoscheduler", "adams2019")
    assert "scheduled by Halide's Adams2019 autoscheduler\n" in proc.stderr, proc.stderr
    proc = run_kiln("compile", MODEL, "-o", os.path.join(WORK, "bad"), "--autoscheduler", "adams2019",
                    "--backend", "mlir", expect_ok=False)
    assert "--autoscheduler applies to inference compiles with the halide backend" in proc.stderr, proc.stderr
    proc = run_kiln("compile", MODEL, "-o", os.path.join(WORK, "bad"), "--autoscheduler", "tvm", expect_ok=False)
    assert "tvm" in proc.stderr and "Adams2019" in proc.stderr, proc.stderr
    assert not os.path.exists(os.path.join(WORK, "bad")), "a refused compile left output behind"


def test_second_run_merges():
    before = {r["signature"]: r for r in read_records(RECORDS)}
    proc = run_kiln("tune", MODEL, "--budget", "1s", "-o", RECORDS)  # all complete: nothing to do
    assert proc.stdout.count("from file") == SIGNATURES, proc.stdout
    run_kiln("tune", MODEL, "--budget", "4s", "--refine", "--seed", "1", "-o", RECORDS)
    after = {r["signature"]: r for r in read_records(RECORDS)}
    assert set(after) == set(before)
    for signature, old in before.items():
        new = after[signature]
        assert new["best_ms"] <= old["best_ms"], f"{signature}: best {new['best_ms']} > {old['best_ms']}"
        assert new["trials"] > old["trials"], f"{signature}: trials not merged"


def test_sigint_leaves_a_valid_file_and_resumes():
    records = os.path.join(WORK, "interrupted.json")
    proc = subprocess.Popen([KILN, "tune", MODEL, "--budget", "40s", "-o", records],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not os.path.exists(records) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, f"exit {proc.returncode}\n{out}{err}"
    assert "interrupted" in out, out
    partial = read_records(records)
    assert 1 <= len(partial) <= SIGNATURES, partial
    assert not all(r["complete"] for r in partial) or len(partial) < SIGNATURES
    run_kiln("tune", MODEL, "--budget", "3s", "-o", records)
    resumed = read_records(records)
    assert len(resumed) == SIGNATURES, resumed
    done = {r["signature"] for r in partial if r["complete"]}
    for r in resumed:
        if r["signature"] in done:
            old = next(p for p in partial if p["signature"] == r["signature"])
            assert r["trials"] == old["trials"], "a complete record was searched again"


def test_corrupt_file_names_the_line():
    bad = os.path.join(WORK, "corrupt.json")
    with open(RECORDS) as f:
        first = f.readline()
    with open(bad, "w") as f:
        f.write(first + '{"signature": "conv2d", "target": 3}\n')
    for args in (("compile", MODEL, "-o", os.path.join(WORK, "bad"), "--tuning", bad),
                 ("inspect", MODEL, "--tuning", bad),
                 ("tune", MODEL, "--budget", "1s", "-o", bad)):
        proc = run_kiln(*args, expect_ok=False)
        assert f"{bad}:2: error: record needs \"target\"" in proc.stderr, proc.stderr
    assert not os.path.exists(os.path.join(WORK, "bad")), "a failed compile left output behind"
    proc = run_kiln("tune", MODEL, "--budget", "soon", "-o", bad, expect_ok=False)
    assert "--budget 'soon'" in proc.stderr, proc.stderr


if __name__ == "__main__":
    main([test_tune_writes_records, test_compile_with_tuning_matches_reference, test_compile_with_tuned_default_schedules,
          test_compile_with_tuned_autoscheduler,
          test_second_run_merges,
          test_sigint_leaves_a_valid_file_and_resumes, test_corrupt_file_names_the_line])
