"""Train the hand-presence model (app/tracking/presence.py) on data from models/presence_data.py and export it.

    python -m models.presence_data --out data/presence --units 64 --processes 2
    python -m models.train_presence --data data/presence --run-dir runs/presence --out models/hand_presence.onnx

The network (PresenceNet): three 3x3 convolutions with max pooling (8, 16, 32 channels) on the 32 x 32 crop and
two dense layers; about 25,000 weights, a fraction of a millisecond per batch on one CPU thread. Loss: binary
cross-entropy, the classes weighted equally; left-right flips as augmentation (left and right hands alike).
Held out: every unit whose index is 4 mod 5 (a fifth of the sequences and scene batches, never trained on).

Resumable: run_dir/last.pt after every epoch (the same command again goes on). Outputs in run_dir: log.jsonl (per
epoch: loss, held-out accuracy), test_eval.json (held-out shares per kind at the threshold) and the export
(run_dir/hand_presence.onnx, or --out). Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from app.errors import InputError
from app.tracking.presence import PRESENCE_INPUT, PRESENCE_METADATA_KEY, PRESENCE_OUTPUT, PresenceInfo
from models.presence_data import KINDS, load_units
from models.progress import progress_bar

EXPORT_NAME = "hand_presence.onnx"
HELD_OUT_MOD = 5            # units with index % 5 == 4 are held out
PARITY_TOLERANCE = 1e-5     # max |onnxruntime - torch| probability


class PresenceNet(nn.Module):
    """N x 1 x s x s normalised depth -> N logits (a hand centred in the crop)."""

    def __init__(self, input_size: int = 32) -> None:
        super().__init__()
        if input_size % 8:
            raise InputError(f"presence network: input size must be a multiple of 8, got {input_size}")
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        cells = (input_size // 8) ** 2
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * cells, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


class _Probability(nn.Module):
    def __init__(self, net: PresenceNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))


def held_out(units: np.ndarray) -> np.ndarray:
    return units % HELD_OUT_MOD == HELD_OUT_MOD - 1


def evaluate(net: PresenceNet, crops: np.ndarray, labels: np.ndarray, kinds: np.ndarray, threshold: float,
             batch: int = 1024) -> dict:
    """Shares at the threshold: hands kept and no-hands rejected, over all and per kind, with counts."""
    net.eval()
    with torch.no_grad():
        p = np.concatenate([torch.sigmoid(net(torch.from_numpy(crops[i:i + batch, None].astype(np.float32))))
                            .numpy() for i in range(0, len(crops), batch)]) if len(crops) else np.zeros(0)
    net.train()
    out = {}
    for kind in ("all", *KINDS):
        m = np.ones(len(labels), bool) if kind == "all" else kinds == kind
        hand, other = m & (labels == 1), m & (labels == 0)
        out[kind] = {"hands": int(hand.sum()), "no_hands": int(other.sum()),
                     "hands_kept": round(float((p[hand] >= threshold).mean()), 4) if hand.any() else None,
                     "no_hands_rejected": round(float((p[other] < threshold).mean()), 4) if other.any() else None}
    return out


def export(net: PresenceNet, info: PresenceInfo, path: str | Path) -> float:
    """Write the network (with the sigmoid) to path with info in its metadata; returns the largest difference
    between onnxruntime and torch on check crops."""
    import onnx
    import onnxruntime as ort

    model = _Probability(net).eval()
    s = info.input_size
    dummy = torch.zeros(2, 1, s, s)
    buf = io.BytesIO()
    with warnings.catch_warnings():   # the classic exporter (one self-contained file, as models/export.py)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (dummy,), buf, input_names=[PRESENCE_INPUT], output_names=[PRESENCE_OUTPUT],
                          dynamic_axes={PRESENCE_INPUT: {0: "batch"}, PRESENCE_OUTPUT: {0: "batch"}},
                          opset_version=17, do_constant_folding=True, dynamo=False)
    proto = onnx.load_from_string(buf.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = PRESENCE_METADATA_KEY, info.to_json()
    onnx.checker.check_model(proto)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(proto.SerializeToString())
    check = torch.from_numpy(np.random.default_rng(5).uniform(-1, 1, (4, 1, s, s)).astype(np.float32))
    with torch.no_grad():
        want = model(check).numpy()
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {PRESENCE_INPUT:
                                                                                        check.numpy()})[0]
    return float(np.abs(got - want).max())


def train(data_dir: str, run_dir: str, epochs: int, out_path: str | None, seed: int = 0, batch: int = 128,
          lr: float = 2e-3, threshold: float = 0.5, quiet: bool = False) -> dict:
    data = load_units(data_dir)
    crops, labels, kinds, units = data["crops"], data["label"].astype(np.int64), data["kind"], data["unit"]
    test = held_out(units)
    if test.all() or not test.any():
        raise InputError(f"presence data in {data_dir}: need units both held out (index % {HELD_OUT_MOD} == "
                         f"{HELD_OUT_MOD - 1}) and not; render at least {HELD_OUT_MOD} units of a kind")
    s = crops.shape[1]
    info = PresenceInfo(input_size=int(s), threshold=threshold,
                        trained_on=f"rendered: {int((~test).sum())} crops of {len(np.unique(units[~test]))} units "
                                   f"per kind ({', '.join(KINDS)}), models/presence_data.py")
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    net = PresenceNet(s)
    opt = torch.optim.Adam(net.parameters(), lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs))
    generator = torch.Generator().manual_seed(seed)
    first = 0
    last = run / "last.pt"
    if last.exists():
        state = torch.load(last, weights_only=False)
        net.load_state_dict(state["net"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        generator.set_state(state["generator"])
        first = int(state["epoch"])
    x = torch.from_numpy(crops[~test].astype(np.float32))[:, None]
    y = torch.from_numpy(labels[~test]).float()
    positives = float(y.sum())
    weight_pos = (len(y) - positives) / max(1.0, positives)
    log = run / "log.jsonl"
    with progress_bar(total=epochs, desc="presence train", unit="epoch", quiet=quiet) as bar:
        bar.update(first)
        for epoch in range(first, epochs):
            t0 = time.perf_counter()
            order = torch.randperm(len(x), generator=generator)
            total = 0.0
            for b in range(0, len(x), batch):
                idx = order[b:b + batch]
                xb = x[idx]
                flip = torch.rand(len(xb), generator=generator) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
                yb = y[idx]
                w = torch.where(yb > 0, torch.tensor(weight_pos), torch.tensor(1.0))
                loss = nn.functional.binary_cross_entropy_with_logits(net(xb), yb, weight=w)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            sched.step()
            scores = evaluate(net, crops[test], labels[test], kinds[test], threshold)["all"]
            row = {"epoch": epoch + 1, "loss": round(total / len(x), 5), "seconds": round(time.perf_counter() - t0, 1),
                   **{k: scores[k] for k in ("hands_kept", "no_hands_rejected")}}
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
            torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                        "generator": generator.get_state(), "epoch": epoch + 1}, last)
            bar.update(1)
    result = {"threshold": threshold, "train_crops": int((~test).sum()), "held_out_crops": int(test.sum()),
              "held_out": evaluate(net, crops[test], labels[test], kinds[test], threshold)}
    target = out_path or str(run / EXPORT_NAME)
    result["export"] = {"path": target, "max_abs_diff": export(net, info, target)}
    if not result["export"]["max_abs_diff"] <= PARITY_TOLERANCE:
        raise InputError(f"presence export differs from torch by {result['export']['max_abs_diff']:.3g}")
    (run / "test_eval.json").write_text(json.dumps(result, indent=1))
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder of models/presence_data.py units")
    p.add_argument("--run-dir", required=True, help="checkpoints, log and evaluation (resumes from last.pt)")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--out", default=None, help=f"the export (default RUN_DIR/{EXPORT_NAME})")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.epochs < 1:
        print("error: --epochs must be >= 1", file=sys.stderr)
        return 2
    try:
        result = train(args.data, args.run_dir, args.epochs, args.out, args.seed)
    except (InputError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
