"""Train the small demo wear regressor shipped as ``gapviz/assets/demo_model.keras``.

The model has the case study's shape at a size that trains on two CPU cores: a MobileNetV2
(alpha 0.35, ``weights=None``, no top, Keras' layer names) + global average pooling +
``Dense(1, linear)`` on 96 x 96 renders, inputs rescaled by 1/255 *outside* the model, predicting
the wear fraction.

What gets it past the plateau the study describes (a from-scratch network stuck near predicting the
mean), all measured in short trials first:

* labels standardised as ``(wear_fraction - 0.475) / 0.27`` while training; the final ``Dense``
  layer is rescaled on export, so the shipped model predicts the wear fraction itself;
* squared-error loss with a linear learning-rate warm-up and a cosine decay (Adam), then MAE loss
  for the last part of the schedule (``--mae-from``), at the low end of the decay;
* batch-norm momentum 0.9 (Keras' 0.999 lags far behind from-scratch weights);
* a stream of freshly rendered ``dataset1`` scenes: a separate process renders chunks of new seeds
  while the network trains, and each step samples from a sliding window of the newest chunks
  (each scene is seen about ``--steps-per-chunk * --batch / --chunk`` times over its stay), with
  random horizontal flips (wear does not depend on left and right).

The schedule is deterministic: which scenes, which flips and which learning rate each step uses
depend only on ``--seed`` and the step, never on timing, so a run reproduces the shipped file up
to the floating-point order of TensorFlow's CPU kernels. Training checkpoints after every few chunks
to ``--ckpt-dir``; running the same command again resumes from the last checkpoint. ``--stop-step``
ends training early (the schedule stays that of ``--steps``) and exports the best checkpoint.

Run from the repository root (the card records the exact command and how long it took; on two
CPU cores shared with other work, about 90 minutes)::

    TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python scripts/train_demo_model.py --size 96 --steps 6400

It writes ``src/gapviz/assets/demo_model.keras``, its card ``demo_model.json`` (command, time,
machine, MAE on held-out ``dataset1`` and ``field`` scenes with the predict-the-mean baseline, the
learning curve) and ``demo_model_curves.png``.

Seeds: training scenes 0, 1, 2, ... (never repeated across chunks), validation 100000..,
held-out test 200000..; the tests use seeds from 900000 on, which no run of this script touches.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
VAL_SEED0, TEST_SEED0, FIRST_TEST_ONLY_SEED = 100_000, 200_000, 900_000
BN_MOMENTUM = 0.9  # Keras' MobileNetV2 uses 0.999: its moving statistics lag far behind from-scratch weights
LABEL_MEAN, LABEL_STD = 0.475, 0.27  # wear fraction is uniform on [0, 0.95]: mean 0.475, sd 0.274


def train_seed(i: int) -> int:
    """Seed of the ``i``-th training scene: 0..99999, then 300000.. (validation and test seeds skipped)."""
    return i if i < VAL_SEED0 else i + (TEST_SEED0 + VAL_SEED0)


def render_seeds(seeds: list[int], preset: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, size, size, 3) uint8 and wear labels as fractions (N,) float32 of ``preset`` scenes."""
    import cv2

    from gapviz.scenes import render_scene

    cv2.setNumThreads(1)
    images = np.empty((len(seeds), size, size, 3), dtype=np.uint8)
    labels = np.empty(len(seeds), dtype=np.float32)
    for i, seed in enumerate(seeds):
        scene = render_scene(int(seed), preset=preset, size=size)
        images[i] = scene.image
        labels[i] = scene.wear / 100.0
    return images, labels


def _worker_init() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    sys.path.insert(0, str(REPO / "src"))


def build_model(size: int, alpha: float):
    """MobileNetV2 (random init, Keras' layer names) + GAP + Dense(1, linear): a flat functional model."""
    import keras

    base = keras.applications.MobileNetV2(
        input_shape=(size, size, 3), alpha=alpha, include_top=False, weights=None
    )
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    x = keras.layers.GlobalAveragePooling2D(name="gap")(base.output)
    out = keras.layers.Dense(1, activation="linear", name="wear")(x)
    return keras.Model(base.input, out, name="demo_mobilenetv2_wear")


def learning_rate(step: int, args) -> float:
    """Linear warm-up from ``--lr-start`` to ``--lr`` over ``--warmup`` steps, then cosine decay."""
    if step < args.warmup:
        return args.lr_start + (args.lr - args.lr_start) * step / args.warmup
    t = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    floor = args.lr * args.lr_floor
    return floor + 0.5 * (args.lr - floor) * (1 + math.cos(math.pi * t))


def _predict_std(model, images: np.ndarray, batch: int = 64) -> np.ndarray:
    """Predictions in standardised label units (the training model's output)."""
    out = []
    for i in range(0, len(images), batch):
        x = images[i : i + batch].astype(np.float32) / 255.0
        out.append(np.asarray(model(x, training=False))[:, 0])
    return np.concatenate(out)


class Trainer:
    """The deterministic stream of steps, with checkpoints in ``ckpt_dir``."""

    def __init__(self, args):
        import keras
        import tensorflow as tf

        self.args, self.tf, self.keras = args, tf, keras
        self.model = build_model(args.size, args.alpha)
        self.optimizer = keras.optimizers.Adam(learning_rate=args.lr_start, global_clipnorm=args.clipnorm)
        self.optimizer.build(self.model.trainable_variables)
        self.ckpt = Path(args.ckpt_dir)
        self.ckpt.mkdir(parents=True, exist_ok=True)
        self.state = {
            "chunk": 0,
            "step": 0,
            "history": [],
            "best": None,
            "train_seconds": 0.0,
            "label_sum": 0.0,
            "n_scenes": 0,
        }
        self._steps = {}
        self.best_weights = None

    def _step_fn(self, loss: str):
        if loss in self._steps:
            return self._steps[loss]
        tf, model, opt = self.tf, self.model, self.optimizer

        @tf.function(reduce_retracing=True)
        def step(x, y):
            x = tf.cast(x, tf.float32) / 255.0
            with tf.GradientTape() as tape:
                pred = model(x, training=True)[:, 0]
                err = pred - y
                value = tf.reduce_mean(tf.abs(err)) if loss == "mae" else tf.reduce_mean(tf.square(err))
            grads = tape.gradient(value, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return value

        self._steps[loss] = step
        return step

    # -- checkpoints -------------------------------------------------------------------------------
    def save(self) -> None:
        if self.best_weights is not None:  # written with the state, so a resume never mixes them
            best = build_model(self.args.size, self.args.alpha)
            best.set_weights(self.best_weights)
            best.save_weights(self.ckpt / "best.tmp.weights.h5")
            os.replace(self.ckpt / "best.tmp.weights.h5", self.ckpt / "best.weights.h5")
            self.best_weights = None
        tmp = self.ckpt / "last.tmp.weights.h5"
        self.model.save_weights(tmp)
        os.replace(tmp, self.ckpt / "last.weights.h5")
        np.savez(self.ckpt / "optimizer.tmp.npz", *[np.asarray(v) for v in self.optimizer.variables])
        os.replace(self.ckpt / "optimizer.tmp.npz", self.ckpt / "optimizer.npz")
        (self.ckpt / "state.tmp.json").write_text(json.dumps(self.state))
        os.replace(self.ckpt / "state.tmp.json", self.ckpt / "state.json")

    def restore(self) -> bool:
        if not (self.ckpt / "state.json").is_file():
            return False
        self.state = json.loads((self.ckpt / "state.json").read_text())
        self.model.load_weights(self.ckpt / "last.weights.h5")
        saved = np.load(self.ckpt / "optimizer.npz")
        for i, var in enumerate(self.optimizer.variables):
            var.assign(saved[f"arr_{i}"])
        return True

    # -- training ----------------------------------------------------------------------------------
    def run(self, pool: ProcessPoolExecutor, x_val: np.ndarray, y_val: np.ndarray) -> None:
        args, state = self.args, self.state
        n_chunks = math.ceil(args.steps / args.steps_per_chunk)
        stop = min(args.steps, args.stop_step or args.steps)
        first = state["chunk"]
        window: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        pending = {}

        cache = self.ckpt / "chunks"  # the rendered window, so that a resume need not render it again
        cache.mkdir(exist_ok=True)

        def cached(c: int) -> Path:
            return cache / f"{args.size}_{args.chunk}_{c}.npz"

        def request(c: int) -> None:
            if c < n_chunks and c not in window and c not in pending:
                if cached(c).is_file():
                    with np.load(cached(c)) as saved:
                        window[c] = (saved["images"], saved["labels"])
                    return
                seeds = [train_seed(i) for i in range(c * args.chunk, (c + 1) * args.chunk)]
                pending[c] = pool.submit(render_seeds, seeds, "dataset1", args.size)

        if state["step"] < stop:
            for c in range(max(0, first - args.window + 1), first + 1 + args.ahead):
                request(c)
        mean_val = float(np.mean(np.abs(np.mean(y_val) - y_val)))
        t_last = time.time()
        for c in range(first, n_chunks):
            if state["step"] >= stop:
                break
            for k in range(max(0, c - args.window + 1), c + 1):
                if k not in window:
                    window[k] = pending.pop(k).result()
                    np.savez(cached(k), images=window[k][0], labels=window[k][1])
            for k in [k for k in window if k <= c - args.window]:
                del window[k]
            for old in cache.glob(f"{args.size}_{args.chunk}_*.npz"):
                if int(old.stem.rsplit("_", 1)[1]) <= c - args.window:
                    old.unlink(missing_ok=True)
            for k in range(c + 1, c + 1 + args.ahead):
                request(k)
            state["label_sum"] += float(window[c][1].sum())  # chunk c is trained on once
            state["n_scenes"] += len(window[c][1])
            keys = sorted(k for k in window if k <= c)  # never a chunk loaded ahead from the cache
            images = np.concatenate([window[k][0] for k in keys])
            labels = (np.concatenate([window[k][1] for k in keys]) - LABEL_MEAN) / LABEL_STD
            rng = np.random.default_rng([args.seed, c])
            order = rng.integers(0, len(images), size=(args.steps_per_chunk, args.batch))
            flips = rng.random((args.steps_per_chunk, args.batch)) < 0.5
            losses = []
            for j in range(args.steps_per_chunk):
                step = state["step"]
                if step >= stop:
                    break
                loss = "mae" if step >= args.mae_from * args.steps else "mse"
                self.optimizer.learning_rate.assign(learning_rate(step, args))
                x = images[order[j]]
                x[flips[j]] = x[flips[j], :, ::-1]
                value = self._step_fn(loss)(x, labels[order[j]].astype(np.float32))
                losses.append(float(value))
                state["step"] = step + 1
            now = time.time()
            state["train_seconds"] += now - t_last
            state["chunk"] = c + 1
            last_chunk = state["step"] >= stop or c + 1 == n_chunks
            if (c + 1) % args.eval_every == 0 or last_chunk:
                pred = _predict_std(self.model, x_val) * LABEL_STD + LABEL_MEAN
                val_mae = float(np.mean(np.abs(pred - y_val)))
                entry = {
                    "step": state["step"],
                    "scenes_seen": state["step"] * args.batch,
                    "unique_scenes": state["n_scenes"],
                    "lr": float(learning_rate(state["step"] - 1, args)),
                    "loss": loss,
                    "train_loss": float(np.mean(losses)) if losses else None,
                    "val_mae": round(val_mae, 5),
                    "val_mae_over_mean": round(val_mae / mean_val, 4),
                    "minutes": round(state["train_seconds"] / 60, 2),
                }
                state["history"].append(entry)
                if state["best"] is None or val_mae < state["best"]["val_mae"]:
                    state["best"] = entry
                    self.best_weights = self.model.get_weights()
                print(json.dumps(entry), file=sys.stderr, flush=True)
            if (c + 1) % args.ckpt_every == 0 or last_chunk:
                self.save()
            t_last = time.time()
        for fut in pending.values():
            fut.cancel()


def plot_curves(history: list[dict], mean_val: float, n_val: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.6))
    ax[0].plot(steps, [h["val_mae"] for h in history], label=f"validation MAE ({n_val} dataset1 scenes)")
    ax[0].axhline(mean_val, color="grey", ls="--", label="predicting the validation mean")
    ax[0].set_xlabel("step (batch of 32)")
    ax[0].set_ylabel("MAE, wear fraction")
    ax[0].set_ylim(0, max(0.3, mean_val * 1.2))
    ax[0].legend(fontsize=8)
    ax[1].semilogy(steps, [h["train_loss"] for h in history], label="training loss (standardised labels)")
    ax[1].set_xlabel("step")
    ax[1].set_ylabel("MSE, then MAE (see card)")
    lr = ax[1].twinx()
    lr.plot(steps, [h["lr"] for h in history], color="tab:orange", label="learning rate")
    lr.set_ylabel("learning rate")
    ax[1].legend(fontsize=8, loc="upper right")
    fig.suptitle("demo regressor learning curves (scripts/train_demo_model.py)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=str(REPO / "src" / "gapviz" / "assets"))
    parser.add_argument("--ckpt-dir", default=str(REPO / "build" / "demo_model_ckpt"))
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--alpha", type=float, default=0.35)
    parser.add_argument("--steps", type=int, default=6400, help="length of the learning-rate schedule")
    parser.add_argument("--stop-step", type=int, default=0, help="end training here (0: at --steps)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--chunk", type=int, default=1024, help="fresh scenes rendered per chunk")
    parser.add_argument("--steps-per-chunk", type=int, default=64)
    parser.add_argument("--window", type=int, default=32, help="chunks the steps sample from")
    parser.add_argument("--ahead", type=int, default=2, help="chunks rendered ahead of training")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--lr-start", type=float, default=1e-4)
    parser.add_argument("--lr-floor", type=float, default=0.01, help="final learning rate / peak")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--clipnorm", type=float, default=2.0)
    parser.add_argument("--mae-from", type=float, default=0.75, help="share of --steps trained with MSE")
    parser.add_argument("--eval-every", type=int, default=2, help="chunks between validations")
    parser.add_argument("--ckpt-every", type=int, default=4, help="chunks between checkpoints")
    parser.add_argument("--n-val", type=int, default=400)
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    given = argv if argv is not None else sys.argv[1:]
    kept, skip = [], False
    for arg in given:  # where files go is not part of the recipe
        if skip or arg.startswith(("--out-dir", "--ckpt-dir")):
            skip = arg in ("--out-dir", "--ckpt-dir")
            continue
        kept.append(arg)
    command = "TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python scripts/train_demo_model.py " + shlex.join(kept)
    if train_seed(math.ceil(args.steps / args.steps_per_chunk) * args.chunk) >= FIRST_TEST_ONLY_SEED:
        parser.error("so many chunks would reach the seeds kept for the tests (900000..)")

    pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"), initializer=_worker_init)
    val_seeds = list(range(VAL_SEED0, VAL_SEED0 + args.n_val))
    test_seeds = list(range(TEST_SEED0, TEST_SEED0 + args.n_test))
    val_future = pool.submit(render_seeds, val_seeds, "dataset1", args.size)

    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)

    trainer = Trainer(args)
    resumed = trainer.restore()
    runs = trainer.state.setdefault("runs", [])
    if not runs or runs[-1]["command"] != command:
        runs.append({"command": command, "from_step": trainer.state["step"]})
    print(f"{'resuming at step ' + str(trainer.state['step']) if resumed else 'starting'}", file=sys.stderr)
    x_val, y_val = val_future.result()
    trainer.run(pool, x_val, y_val)
    state = trainer.state

    # export the best checkpoint (by validation MAE), the standardisation folded into the last layer
    t_export = time.time()
    test_future = pool.submit(render_seeds, test_seeds, "dataset1", args.size)
    field_future = pool.submit(render_seeds, test_seeds, "field", args.size)
    final = build_model(args.size, args.alpha)
    final.load_weights(trainer.ckpt / "best.weights.h5")
    dense = final.get_layer("wear")
    w, b = dense.get_weights()
    dense.set_weights([w * LABEL_STD, b * LABEL_STD + LABEL_MEAN])
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "demo_model.keras"
    tmp = out_dir / "demo_model.tmp.keras"
    final.save(tmp)
    os.replace(tmp, model_path)

    reloaded = keras.models.load_model(model_path, compile=False, safe_mode=True)
    x_test, y_test = test_future.result()
    x_field, y_field = field_future.result()
    pool.shutdown()
    assert np.array_equal(y_test, y_field)
    pred_test = _predict_std(reloaded, x_test)
    pred_field = _predict_std(reloaded, x_field)
    mae_test = float(np.mean(np.abs(pred_test - y_test)))
    mae_field = float(np.mean(np.abs(pred_field - y_field)))
    train_mean = state["label_sum"] / state["n_scenes"]
    mae_train_mean = float(np.mean(np.abs(train_mean - y_test)))
    mae_own_mean = float(np.mean(np.abs(np.mean(y_test) - y_test)))
    mean_val = float(np.mean(np.abs(np.mean(y_val) - y_val)))
    plot_curves(state["history"], mean_val, args.n_val, out_dir / "demo_model_curves.png")

    card = {
        "name": "demo_mobilenetv2_wear",
        "file": model_path.name,
        "architecture": f"keras.applications.MobileNetV2(alpha={args.alpha}, weights=None, include_top=False) "
        "+ GlobalAveragePooling2D + Dense(1, linear); flat functional model, no Lambda layers",
        "batchnorm_momentum": BN_MOMENTUM,
        "params": int(final.count_params()),
        "file_bytes": os.path.getsize(model_path),
        "input_size": [args.size, args.size, 3],
        "input_dtype": "float32 RGB",
        "preprocess": "unit",
        "preprocess_detail": "x / 255 outside the model (pixels in [0, 1])",
        "label": "wear",
        "label_unit": "fraction",
        "label_detail": "wear fraction = wear percent / 100, 0-0.95; multiply predictions by 100 for percent",
        "training": {
            "label_standardisation": f"trained on (fraction - {LABEL_MEAN}) / {LABEL_STD}; "
            "the exported Dense layer is rescaled so the model outputs the fraction",
            "loss": f"mse for steps < {int(args.mae_from * args.steps)}, mae after (on standardised labels)",
            "optimizer": f"Adam(global_clipnorm={args.clipnorm})",
            "learning_rate": f"linear warm-up {args.lr_start} -> {args.lr} over {args.warmup} steps, then "
            f"cosine decay to {args.lr * args.lr_floor:g} at step {args.steps}",
            "batch_size": args.batch,
            "steps_planned": args.steps,
            "steps_run": state["step"],
            "stopped_early": state["step"] < args.steps,
            "augmentation": "random horizontal flip",
            "data_stream": f"chunks of {args.chunk} freshly rendered scenes; {args.steps_per_chunk} steps per "
            f"chunk, each batch drawn from the newest {args.window} chunks",
            "selection": "the checkpoint with the lowest validation MAE (validated every "
            f"{args.eval_every} chunks)",
            "best": state["best"],
        },
        "training_data": {
            "preset": "dataset1",
            "rendered_size": args.size,
            "n_train": state["n_scenes"],
            "n_val": args.n_val,
            "train_seeds": [0, train_seed(state["n_scenes"] - 1)],
            "train_seeds_note": "scene i has seed i below 100000 and i + 300000 above (skipping validation "
            "and test seeds)",
            "val_seeds": [VAL_SEED0, VAL_SEED0 + args.n_val - 1],
            "scenes_seen": state["step"] * args.batch,
        },
        "test_data": {
            "n_test": args.n_test,
            "seeds": [TEST_SEED0, TEST_SEED0 + args.n_test - 1],
            "note": "the same held-out seeds rendered under dataset1 and under field (same geometry and wear)",
            "first_unused_seed_for_tests": FIRST_TEST_ONLY_SEED,
        },
        "seed": args.seed,
        "mae": {
            "dataset1": round(mae_test, 5),
            "field": round(mae_field, 5),
            "predict_train_mean_dataset1": round(mae_train_mean, 5),
            "predict_train_mean_field": round(mae_train_mean, 5),
            "predict_test_mean": round(mae_own_mean, 5),
            "dataset1_over_mean": round(mae_test / mae_own_mean, 4),
            "field_over_mean": round(mae_field / mae_own_mean, 4),
            "n_scenes": args.n_test,
            "unit": "fraction (x100 = percentage points); the field scenes share the dataset1 labels, "
            "so both baselines are the same number",
        },
        "learning_curve": state["history"],
        "curves_png": "demo_model_curves.png",
        "train_seconds": round(state["train_seconds"], 1),
        "train_wall_minutes_note": "train_seconds sums the training time of every (resumed) run, rendering "
        "in a parallel process included; export and test evaluation not included",
        "export_seconds": round(time.time() - t_export, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores shared with other jobs, "
        f"{args.threads} TensorFlow threads + 1 rendering process, no GPU",
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__},
        "command": command.strip(),
        "commands": trainer.state["runs"],
        "commands_note": "the runs that made this file, in order, each resuming the previous one's "
        "checkpoint; when they share --steps (the learning-rate schedule), `command` alone, run from "
        "scratch, trains the same steps on the same scenes",
    }
    card_path = out_dir / "demo_model.json"
    tmp_card = out_dir / "demo_model.tmp.json"
    tmp_card.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(tmp_card, card_path)
    print(
        json.dumps(card["mae"]),
        f"train {state['train_seconds']:.0f}s, {state['step']} steps",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
