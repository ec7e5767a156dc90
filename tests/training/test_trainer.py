"""End-to-end training: run directory contents, crash recovery and tf.distribute scale-out."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from hg_keras.training.config import TrainConfig
from hg_keras.training.trainer import RunDirectoryError, prepare_run_directory, train

REPO = Path(__file__).resolve().parents[2]
TINY = dict(num_stacks=1, num_features=32, input_size=64, batch_size=4, steps_per_epoch=3,
            val_samples=4, synthetic_images=24, tensorboard=False)
TINY_FLAGS = ["--dataset", "synthetic", "--preset", "cpu-demo", "--stacks", "1", "--features", "32",
              "--input-size", "64", "--batch-size", "4", "--val-samples", "4",
              "--synthetic-images", "24", "--no-tensorboard"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tmp_path_factory.mktemp("datasets")


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1",
                CUDA_VISIBLE_DEVICES="")


def test_training_run_leaves_the_documented_files(tmp_path, data_root):
    config = TrainConfig.from_preset("cpu-demo", epochs=2, data_root=str(data_root),
                                     run_dir=str(tmp_path / "run"), **TINY)
    summary = train(config, verbose=0)
    run = tmp_path / "run"
    for name in ("best.keras", "last.keras", "config.json", "history.csv", "training_curve.png"):
        assert (run / name).is_file(), name
    assert not (run / "backup").exists()  # removed once the run finished
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == [0, 1]
    assert {"loss", "val_pckh", "val_pckh_limbs", "learning_rate", "elapsed_min"} <= set(history)
    assert history["elapsed_min"].is_monotonic_increasing and history["elapsed_min"].iloc[0] > 0
    assert history["val_pckh"].between(0, 100).all()
    assert summary["epochs"] == 2 and summary["best_val"] == history["val_pckh"].max()
    assert json.loads((run / "config.json").read_text()) == config.to_dict()
    best = keras.saving.load_model(run / "best.keras", safe_mode=True)
    assert best.output_names == ["stack_1"]
    assert tuple(best.outputs[0].shape) == (None, 16, 16, 16)


def test_time_limited_run_stops_validated_and_a_rerun_does_not_train_on(tmp_path, data_root):
    # a budget shorter than the first epoch: training stops after it, whatever --epochs says
    config = TrainConfig.from_preset("cpu-demo", epochs=5, val_every=3, time_limit_min=0.01,
                                     data_root=str(data_root), run_dir=str(tmp_path / "run"),
                                     **TINY)
    summary = train(config, verbose=0)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    assert list(history["epoch"]) == [0] and list(history["val_evaluated"]) == [1.0]
    assert summary["stopped_by_time_limit"] == 0.01
    assert summary["minutes_trained"] == pytest.approx(history["elapsed_min"].iloc[-1])
    again = train(config, verbose=0)  # the same command once more: the budget is spent
    assert list(pd.read_csv(tmp_path / "run" / "history.csv")["epoch"]) == [0]
    assert again["stopped_by_time_limit"] == 0.01 and again["epochs"] == 1


def test_run_directory_with_another_config_is_refused(tmp_path):
    first = TrainConfig.from_preset("cpu-demo", run_dir=str(tmp_path), epochs=3)
    prepare_run_directory(first)
    second = TrainConfig.from_preset("cpu-demo", run_dir=str(tmp_path), epochs=3, learning_rate=0.1)
    with pytest.raises(RunDirectoryError, match="learning_rate"):
        prepare_run_directory(second)
    prepare_run_directory(second, resume=True)  # allowed: same network
    wider = TrainConfig.from_preset("cpu-demo", run_dir=str(tmp_path), num_features=128)
    with pytest.raises(RunDirectoryError, match="num_features"):
        prepare_run_directory(wider, resume=True)
    prepare_run_directory(wider, overwrite=True)
    assert json.loads((tmp_path / "config.json").read_text())["num_features"] == 128


def test_missing_dataset_names_the_download_command(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "train.py"), "--dataset", "flic",
         "--data-root", str(tmp_path), "--run-dir", str(tmp_path / "run")],
        capture_output=True, text=True, env=_env(), timeout=300,
    )
    assert result.returncode == 2
    assert "scripts/download.py flic" in result.stderr


def test_killed_run_resumes_at_the_last_finished_epoch(tmp_path, data_root):
    run = tmp_path / "run"
    command = [sys.executable, str(REPO / "scripts" / "train.py"), *TINY_FLAGS, "--epochs", "4",
               "--steps-per-epoch", "6", "--data-root", str(data_root), "--run-dir", str(run)]
    process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    metadata = run / "backup" / "training_metadata.json"
    deadline = time.time() + 600
    while time.time() < deadline and process.poll() is None:
        if metadata.exists() and json.loads(metadata.read_text() or "{}").get("epoch", 0) >= 1:
            break
        time.sleep(0.2)
    assert process.poll() is None, "the run ended before it could be interrupted"
    os.kill(process.pid, signal.SIGKILL)  # mid-epoch 2, after epoch 1 was backed up
    process.wait()
    interrupted_at = json.loads(metadata.read_text())["epoch"]
    assert 1 <= interrupted_at < 4

    result = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Epoch 1/4" not in result.stdout  # resumed, did not start again
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == [0, 1, 2, 3]
    # the wall-clock column continues from the epochs of the killed session
    assert history["elapsed_min"].is_monotonic_increasing
    for name in ("best.keras", "last.keras"):
        keras.saving.load_model(run / name, safe_mode=True)
    last = keras.saving.load_model(run / "last.keras", safe_mode=True)
    # the optimizer state came back: 4 epochs x 6 steps were applied in total
    assert int(last.optimizer.iterations.numpy()) == 24


MIRRORED_SCRIPT = r"""
import json
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from hg_keras.model import build_stacked_hourglass
from hg_keras.training.config import TrainConfig
from hg_keras.training.trainer import compile_model, synchronize_batch_norm

config = TrainConfig.from_preset("cpu-demo")
rng = np.random.default_rng(0)
images = rng.random((8, 32, 32, 3), dtype=np.float32)
targets = rng.random((8, 8, 8, 4), dtype=np.float32)

def first_step_loss(strategy):
    keras.utils.set_random_seed(1)
    with strategy.scope():
        model = build_stacked_hourglass(num_stacks=2, num_joints=4, num_features=8, depth=1,
                                        input_shape=(32, 32, 3))
        if strategy.num_replicas_in_sync > 1:
            synchronize_batch_norm(model)
        compile_model(model, config, 1e-3)
    data = tf.data.Dataset.from_tensors((images, {"stack_1": targets, "stack_2": targets}))
    history = model.fit(data, epochs=1, verbose=0)
    return float(history.history["loss"][0]), strategy.num_replicas_in_sync

single = first_step_loss(tf.distribute.get_strategy())
mirrored = first_step_loss(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
print(json.dumps({"single": single, "mirrored": mirrored}))
"""


def test_mirrored_on_two_devices_matches_one_device_first_step_loss():
    result = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT], capture_output=True,
                            text=True, env=_env(), timeout=1200, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    losses = json.loads(result.stdout.strip().splitlines()[-1])
    (single, one), (mirrored, two) = losses["single"], losses["mirrored"]
    assert (one, two) == (1, 2)
    assert mirrored == pytest.approx(single, rel=1e-4)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_worker_multiworker_run_finishes_one_epoch(tmp_path, data_root):
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    run = tmp_path / "run"
    processes = []
    for index in range(2):
        env = _env()
        env["TF_CONFIG"] = json.dumps(
            {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        )
        command = [sys.executable, str(REPO / "scripts" / "train.py"), *TINY_FLAGS,
                   "--epochs", "1", "--steps-per-epoch", "2", "--strategy", "multiworker",
                   "--data-root", str(data_root), "--run-dir", str(run)]
        # Output goes to files: a worker blocked on a full pipe would stall the collectives.
        with open(tmp_path / f"worker{index}.log", "w") as log:
            processes.append(subprocess.Popen(command, env=env, stdout=log,
                                              stderr=subprocess.STDOUT))
    try:
        for process in processes:
            process.wait(timeout=900)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    failures = [f"worker {index}: {(tmp_path / f'worker{index}.log').read_text()[-3000:]}"
                for index, process in enumerate(processes) if process.returncode != 0]
    assert not failures, "\n\n".join(failures)
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == [0]
    worker = run / "workers" / "1"  # the second worker keeps its files apart
    for folder in (run, worker):
        assert json.loads((folder / "summary.json").read_text())["replicas"] == 2
    # Gradients are all-reduced: both workers end with the same weights and log the same
    # loss (the mean over the workers' shares of each batch).
    chief_model, worker_model = (
        keras.saving.load_model(folder / "last.keras", safe_mode=True, compile=False)
        for folder in (run, worker)
    )
    for ours, theirs in zip(chief_model.get_weights(), worker_model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    worker_history = pd.read_csv(worker / "history.csv")
    assert worker_history["loss"].tolist() == history["loss"].tolist()
