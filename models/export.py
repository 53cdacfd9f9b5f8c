"""Export an AWR network (with the adaptive-weighting aggregation inside the graph) to one ONNX file.

The file is self-contained (weights inline, no .onnx.data), takes "depth" (float32 N x 1 x S x S, dynamic
batch) and returns "joints_uvd" (N x J x 3) and "weights" (N x J x F x F); the preprocessing constants travel
as ModelInfo JSON in metadata_props[app.model_info.METADATA_KEY]. With check=True the export is verified
against torch with onnxruntime on the CPU.

    python -m models.export --checkpoint runs/lite/best.pt --out models/awr_lite.onnx
    python -m models.export --config lite --random-init --out /tmp/lite.onnx      (untrained, for benchmarks)
"""
from __future__ import annotations

import argparse
import io
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from app.config import DEFAULT_CUBE_MM
from app.errors import InputError, TrackerError
from app.joints import JOINT_NAMES, LAYOUT_NAME
from app.model_info import INPUT_NAME, METADATA_KEY, OUTPUT_JOINTS, OUTPUT_WEIGHTS, ModelInfo
from models.awr import aggregate
from models.network import CONFIGS, AWRNet, build_network

PARITY_TOLERANCE = 1e-4   # max |onnxruntime - torch| on joints, normalised units (0.014 mm for a 280 mm cube)


class AWRInference(nn.Module):
    """Network + aggregation: depth N x 1 x S x S -> (joints_uvd N x J x 3, weights N x J x F x F)."""

    def __init__(self, net: AWRNet, kernel_radius: float, beta: float = 30.0):
        super().__init__()
        self.net = net
        self.kernel_radius = float(kernel_radius)
        self.beta = float(beta)

    def forward(self, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return aggregate(self.net(depth), depth, self.kernel_radius, self.beta)


def check_inputs(input_size: int, batch: int, seed: int = 0) -> np.ndarray:
    """Crops to compare runtimes on: the first is uniform noise in [-1, 1]; the others are hand-like (an
    ellipse of sloped foreground on +1 background with a few finger-like bars and missing-depth holes)."""
    rng = np.random.default_rng(seed)
    s = input_size
    out = np.empty((batch, 1, s, s), np.float32)
    out[0, 0] = rng.uniform(-1.0, 1.0, (s, s))
    yy, xx = np.mgrid[0:s, 0:s] * (2.0 / s) - 1.0
    for i in range(1, batch):
        cx, cy = rng.uniform(-0.2, 0.2, 2)
        hand = ((xx - cx) / 0.45) ** 2 + ((yy - cy) / 0.35) ** 2 < 1.0
        for k in range(4):   # fingers: thin bars above the palm
            x0 = cx - 0.3 + 0.2 * k
            hand |= (np.abs(xx - x0) < 0.05) & (yy < cy) & (yy > cy - 0.8 + 0.1 * rng.random())
        d = 0.3 * (xx - cx) + 0.2 * (yy - cy) + rng.normal(0.0, 0.01, (s, s))
        d[~hand | (rng.random((s, s)) < 0.02)] = 1.0
        out[i, 0] = np.clip(d, -1.0, 1.0)
    return out


def _check_compatible(net: AWRNet, info: ModelInfo) -> None:
    cfg = net.config
    if (info.input_size, info.feature_size, info.num_joints) != (cfg.input_size, cfg.feature_size, cfg.num_joints):
        raise InputError(f"model info (input {info.input_size}, feature {info.feature_size}, {info.num_joints} "
                         f"joints) does not match network '{cfg.name}' (input {cfg.input_size}, feature "
                         f"{cfg.feature_size}, {cfg.num_joints} joints)")


def _onnx_bytes(model: AWRInference, input_size: int, opset: int) -> bytes:
    buf = io.BytesIO()
    dummy = torch.from_numpy(check_inputs(input_size, 2))
    batch_axis = {0: "batch"}
    # The classic (TorchScript) exporter writes one self-contained file; its tracer warnings are about the
    # Python ints taken from static shapes (S, F, J), which are meant to be constants in the graph.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (dummy,), buf, input_names=[INPUT_NAME],
                          output_names=[OUTPUT_JOINTS, OUTPUT_WEIGHTS],
                          dynamic_axes={INPUT_NAME: batch_axis, OUTPUT_JOINTS: batch_axis,
                                        OUTPUT_WEIGHTS: batch_axis},
                          opset_version=opset, do_constant_folding=True, dynamo=False)
    return buf.getvalue()


def onnx_parity(model: AWRInference, path: str, input_size: int) -> float:
    """Largest |onnxruntime - torch| joint difference over batches of 1 and 3 (noise and hand-like crops)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    worst = 0.0
    # Batch 1: one hand-like crop; batch 3: noise and two hand-like crops (dynamic batch).
    for x in (check_inputs(input_size, 2, seed=1)[1:], check_inputs(input_size, 3, seed=2)):
        joints_ort, weights_ort = sess.run([OUTPUT_JOINTS, OUTPUT_WEIGHTS], {INPUT_NAME: x})
        with torch.no_grad():
            joints_pt, weights_pt = model(torch.from_numpy(x))
        if joints_ort.shape != tuple(joints_pt.shape) or weights_ort.shape != tuple(weights_pt.shape):
            raise TrackerError(f"ONNX output shapes {joints_ort.shape}, {weights_ort.shape} differ from torch")
        worst = max(worst, float(np.abs(joints_ort - joints_pt.numpy()).max()))
    return worst


def export_onnx(net: AWRNet, info: ModelInfo, path: str, opset: int = 17, check: bool = True) -> dict:
    """Write network + aggregation to one .onnx file at `path` with `info` in its metadata.

    Returns {"max_abs_diff": joint difference to torch (normalised units; NaN when check=False),
    "onnx_bytes": file size, "params": parameter count}. Raises TrackerError when the check fails.
    """
    import onnx

    _check_compatible(net, info)
    if opset < 17:
        raise InputError(f"opset {opset} is too old: the exporter needs 17 or newer")
    was_training = net.training
    model = AWRInference(net, info.kernel_radius, info.beta).eval()
    try:
        proto = onnx.load_from_string(_onnx_bytes(model, info.input_size, opset))
        entry = proto.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, info.to_json()
        onnx.checker.check_model(proto)
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(proto.SerializeToString())   # inline weights: one file, no .onnx.data
        diff = onnx_parity(model, str(out), info.input_size) if check else float("nan")
    finally:
        net.train(was_training)
    if check and not diff <= PARITY_TOLERANCE:
        raise TrackerError(f"ONNX export of '{net.config.name}' differs from torch by {diff:.3g} "
                           f"(> {PARITY_TOLERANCE}): {path}")
    return {"max_abs_diff": diff, "onnx_bytes": out.stat().st_size,
            "params": sum(p.numel() for p in net.parameters())}


def load_model_info(path: str) -> ModelInfo:
    """The ModelInfo stored in an exported file (read with onnx, without loading the weights)."""
    import onnx

    try:
        proto = onnx.load(path, load_external_data=False)
    except Exception as exc:   # onnx raises several unrelated types for unreadable files
        raise InputError(f"cannot read ONNX model {path}: {exc}") from None
    for entry in proto.metadata_props:
        if entry.key == METADATA_KEY:
            return ModelInfo.from_json(entry.value)
    raise InputError(f"{path} has no '{METADATA_KEY}' metadata: not exported by models/export.py")


def default_model_info(config_name: str, cube_mm: float = DEFAULT_CUBE_MM, kernel_radius: float = 0.8,
                       beta: float = 30.0) -> ModelInfo:
    """Metadata for an untrained network (benchmarks and tests only)."""
    cfg = CONFIGS[config_name]
    return ModelInfo(config_name=config_name, input_size=cfg.input_size, feature_size=cfg.feature_size,
                     cube_mm=cube_mm, kernel_radius=kernel_radius, beta=beta, joint_layout=LAYOUT_NAME,
                     joint_names=JOINT_NAMES, trained_on="nothing (random initialisation)")


def _load_checkpoint(path: str, config: str | None) -> tuple[AWRNet, ModelInfo]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        info = ModelInfo.from_json(state["model_info"])
        weights = state["model"]
    except (OSError, RuntimeError, KeyError, TypeError, EOFError) as exc:
        raise InputError(f"cannot read checkpoint {path}: {type(exc).__name__}: {exc}") from None
    name = config or info.config_name
    if name != info.config_name:
        raise InputError(f"checkpoint {path} is a '{info.config_name}' network, not '{name}'")
    if name not in CONFIGS:
        raise InputError(f"checkpoint {path} names unknown network '{name}'")
    net = build_network(name)
    try:
        net.load_state_dict(weights)
    except RuntimeError as exc:
        raise InputError(f"checkpoint {path} does not fit network '{name}': {str(exc).splitlines()[0]}") from None
    return net, info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Export an AWR network with its aggregation to one ONNX file.")
    p.add_argument("--config", choices=sorted(CONFIGS), help="network configuration (default: the checkpoint's)")
    p.add_argument("--checkpoint", help="training checkpoint: dict with 'model' (state_dict) and 'model_info'")
    p.add_argument("--random-init", action="store_true", help="export an untrained network (benchmarks, tests)")
    p.add_argument("--out", required=True, help="output .onnx file")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-torch parity check")
    args = p.parse_args(argv)
    try:
        if bool(args.checkpoint) == bool(args.random_init):
            raise InputError("give exactly one of --checkpoint or --random-init")
        if args.random_init:
            if not args.config:
                raise InputError("--random-init needs --config")
            torch.manual_seed(0)
            net, info = build_network(args.config), default_model_info(args.config)
        else:
            net, info = _load_checkpoint(args.checkpoint, args.config)
        result = export_onnx(net, info, args.out, opset=args.opset, check=not args.no_check)
    except TrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: {result['onnx_bytes'] / 1e6:.2f} MB, {result['params'] / 1e6:.2f} M params, "
          f"max |onnxruntime - torch| = {result['max_abs_diff']:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
