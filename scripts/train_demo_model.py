"""Train the small demo wear regressor shipped as ``gapviz/assets/demo_model.keras``.

It follows the case study's recipe at a size that trains on two CPU cores: a MobileNetV2
(alpha 0.35, ``weights=None``, no top) + global average pooling + ``Dense(1, linear)``, inputs
rescaled by 1/255 *outside* the model, MAE loss, Adam, early stopping on the validation loss with
the best weights restored. Training and validation scenes are ``dataset1`` renders; the card
records the MAE on held-out ``dataset1`` scenes and on the same held-out scenes rendered with the
``field`` preset (the synthetic gap the demo is about).

Run from the repository root (about 20 minutes on two shared cores)::

    TF_CPP_MIN_LOG_LEVEL=2 nice .venv/bin/python scripts/train_demo_model.py

Seeds: training scenes 0..n_train-1, validation 100000.., held-out test 200000..; the tests use
seeds from 900000 on, which no run of this script touches.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
VAL_SEED0, TEST_SEED0 = 100_000, 200_000
BN_MOMENTUM = 0.9  # Keras' MobileNetV2 uses 0.999: its moving statistics lag far behind from-scratch weights


def render_set(
    seeds: range, preset: str, size: int, *, progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, size, size, 3) uint8 and wear labels as fractions (N,) float32 of ``preset`` scenes."""
    from tqdm import tqdm

    from gapviz.scenes import render_scene

    images = np.empty((len(seeds), size, size, 3), dtype=np.uint8)
    labels = np.empty(len(seeds), dtype=np.float32)
    bar = tqdm(seeds, desc=f"render {preset}", file=sys.stderr, disable=None if progress else True)
    for i, seed in enumerate(bar):
        scene = render_scene(seed, preset=preset, size=size)
        images[i] = scene.image
        labels[i] = scene.wear / 100.0
    return images, labels


def build_model(size: int):
    """MobileNetV2 (alpha 0.35, random init) + GAP + Dense(1, linear): a flat functional model."""
    import keras

    base = keras.applications.MobileNetV2(
        input_shape=(size, size, 3), alpha=0.35, include_top=False, weights=None
    )
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = BN_MOMENTUM
    x = keras.layers.GlobalAveragePooling2D(name="gap")(base.output)
    out = keras.layers.Dense(1, activation="linear", name="wear")(x)
    return keras.Model(base.input, out, name="demo_mobilenetv2_wear")


def _dataset(images: np.ndarray, labels: np.ndarray, batch: int, *, shuffle: bool, seed: int):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    # preprocessing "unit": x / 255 outside the model
    ds = ds.batch(batch).map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y), num_parallel_calls=2)
    return ds.prefetch(2)


def _predict(model, images: np.ndarray, batch: int) -> np.ndarray:
    return model.predict(images.astype(np.float32) / 255.0, batch_size=batch, verbose=0)[:, 0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=str(REPO / "src" / "gapviz" / "assets"))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--n-train", type=int, default=5000)
    parser.add_argument("--n-val", type=int, default=500)
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--patience", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--time-budget", type=float, default=18 * 60, help="stop training after this many seconds"
    )
    args = parser.parse_args(argv)
    command = "TF_CPP_MIN_LOG_LEVEL=2 nice .venv/bin/python scripts/train_demo_model.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )

    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    keras.utils.set_random_seed(args.seed)

    t0 = time.time()
    x_train, y_train = render_set(range(args.n_train), "dataset1", args.size)
    x_val, y_val = render_set(range(VAL_SEED0, VAL_SEED0 + args.n_val), "dataset1", args.size)
    test_seeds = range(TEST_SEED0, TEST_SEED0 + args.n_test)
    x_test, y_test = render_set(test_seeds, "dataset1", args.size)
    x_field, y_field = render_set(test_seeds, "field", args.size)
    assert np.array_equal(y_test, y_field)
    render_s = time.time() - t0

    model = build_model(args.size)
    model.compile(optimizer=keras.optimizers.Adam(args.lr), loss="mae")

    class TimeBudget(keras.callbacks.Callback):
        def __init__(self, seconds: float):
            super().__init__()
            self.seconds, self.start, self.hit = seconds, time.time(), False

        def on_epoch_end(self, epoch, logs=None):
            if time.time() - self.start > self.seconds:
                self.hit = True
                self.model.stop_training = True

    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=args.patience, restore_best_weights=True
    )
    budget = TimeBudget(args.time_budget)
    t1 = time.time()
    history = model.fit(
        _dataset(x_train, y_train, args.batch, shuffle=True, seed=args.seed),
        validation_data=_dataset(x_val, y_val, args.batch, shuffle=False, seed=args.seed),
        epochs=args.epochs,
        callbacks=[stop, budget],
        verbose=2,
    )
    train_s = time.time() - t1

    # save without optimiser state: a small plain Keras 3 file
    final = build_model(args.size)
    final.set_weights(model.get_weights())
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / "demo_model.keras"
    tmp = out_dir / "demo_model.tmp.keras"
    final.save(tmp)
    os.replace(tmp, model_path)

    reloaded = keras.models.load_model(model_path, compile=False, safe_mode=True)
    pred_test = _predict(reloaded, x_test, args.batch)
    pred_field = _predict(reloaded, x_field, args.batch)
    mae_test = float(np.mean(np.abs(pred_test - y_test)))
    mae_field = float(np.mean(np.abs(pred_field - y_field)))
    mae_mean = float(np.mean(np.abs(float(np.mean(y_train)) - y_test)))
    val_losses = [float(v) for v in history.history["val_loss"]]

    card = {
        "name": "demo_mobilenetv2_wear",
        "file": model_path.name,
        "architecture": "keras.applications.MobileNetV2(alpha=0.35, weights=None, include_top=False) "
        "+ GlobalAveragePooling2D + Dense(1, linear); flat functional model, no Lambda layers",
        "batchnorm_momentum": BN_MOMENTUM,
        "params": int(final.count_params()),
        "input_size": [args.size, args.size, 3],
        "input_dtype": "float32 RGB",
        "preprocess": "unit",
        "preprocess_detail": "x / 255 outside the model (pixels in [0, 1])",
        "label": "wear",
        "label_unit": "fraction",
        "label_detail": "wear fraction = wear percent / 100, 0-0.95; multiply predictions by 100 for percent",
        "loss": "mae",
        "optimizer": f"Adam(learning_rate={args.lr})",
        "batch_size": args.batch,
        "early_stopping": {"monitor": "val_loss", "patience": args.patience, "restore_best_weights": True},
        "time_budget_s": args.time_budget,
        "time_budget_hit": budget.hit,
        "training_data": {
            "preset": "dataset1",
            "rendered_size": args.size,
            "n_train": args.n_train,
            "n_val": args.n_val,
            "train_seeds": [0, args.n_train - 1],
            "val_seeds": [VAL_SEED0, VAL_SEED0 + args.n_val - 1],
        },
        "test_data": {
            "n_test": args.n_test,
            "seeds": [TEST_SEED0, TEST_SEED0 + args.n_test - 1],
            "note": "the same held-out seeds rendered under dataset1 and under field (same geometry and wear)",
            "first_unused_seed_for_tests": 900_000,
        },
        "seed": args.seed,
        "epochs_run": len(val_losses),
        "best_epoch": int(np.argmin(val_losses)) + 1,
        "best_val_mae": min(val_losses),
        "mae": {
            "dataset1": round(mae_test, 5),
            "field": round(mae_field, 5),
            "predict_train_mean_dataset1": round(mae_mean, 5),
            "unit": "fraction (x100 = percentage points)",
        },
        "render_seconds": round(render_s, 1),
        "train_seconds": round(train_s, 1),
        "machine": f"{platform.machine()}, {args.threads} CPU threads, nice",
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__, "numpy": np.__version__},
        "command": command.strip(),
    }
    card_path = out_dir / "demo_model.json"
    tmp_card = out_dir / "demo_model.tmp.json"
    tmp_card.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(tmp_card, card_path)
    print(json.dumps(card["mae"]), f"train {train_s:.0f}s, {len(val_losses)} epochs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
