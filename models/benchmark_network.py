"""Measure the AWR network configurations: size, compute, CPU inference latency and CPU training speed.

    python -m models.benchmark_network                      (all configurations in models.network.CONFIGS)
    python -m models.benchmark_network --configs lite --runs 500 --train-steps 10

For each configuration: parameters, GMAC per 1 x 1 x S x S crop (conv and transposed-conv multiply-adds counted
with forward hooks; BN, ReLU, pooling and the aggregation are not counted), ONNX file size, onnxruntime CPU
latency of the exported model INCLUDING the aggregation (one intra-op thread, no spinning, median and p95 over
--runs runs after warm-up), and optionally torch training throughput (dense-loss Adam steps at batch 32).
Prints numbers only; it asserts nothing (speed is not tested).

The measurements that chose "lite" are summarised beside CONFIGS in models/network.py.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

from models.awr import dense_targets
from models.export import check_inputs, default_model_info, export_onnx
from models.losses import dense_loss
from models.network import CONFIGS, AWRNet, NetworkConfig, build_network


def count_gmac(net: AWRNet) -> float:
    """Multiply-adds of all Conv2d / ConvTranspose2d layers for one crop, in units of 1e9."""
    total = [0]

    def conv_hook(mod: nn.Conv2d, inputs, output) -> None:
        kh, kw = mod.kernel_size
        total[0] += output[0].numel() * (mod.in_channels // mod.groups) * kh * kw

    def deconv_hook(mod: nn.ConvTranspose2d, inputs, output) -> None:
        kh, kw = mod.kernel_size   # every input pixel scatters a kh x kw x C_out patch
        total[0] += inputs[0][0].numel() * (mod.out_channels // mod.groups) * kh * kw

    handles = []
    for mod in net.modules():
        if isinstance(mod, nn.ConvTranspose2d):
            handles.append(mod.register_forward_hook(deconv_hook))
        elif isinstance(mod, nn.Conv2d):
            handles.append(mod.register_forward_hook(conv_hook))
    was_training = net.training
    net.eval()
    with torch.no_grad():
        s = net.config.input_size
        net(torch.zeros(1, 1, s, s))
    net.train(was_training)
    for h in handles:
        h.remove()
    return total[0] / 1e9


def onnx_latency_ms(path: str, input_size: int, runs: int, warmup: int = 20) -> tuple[float, float]:
    """(median, p95) of onnxruntime CPU latency for one hand-like crop, one intra-op thread, no spinning."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    x = check_inputs(input_size, 2, seed=3)[1:]
    for _ in range(warmup):
        sess.run(None, {"depth": x})
    times_ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {"depth": x})
        times_ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times_ms), float(np.percentile(times_ms, 95))


def train_images_per_s(cfg: NetworkConfig, steps: int, batch: int = 32, threads: int = 2,
                       rounds: int = 3) -> float:
    """Torch CPU training throughput (best of `rounds`): dense targets + forward + dense loss + backward +
    Adam step."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build_network(cfg).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.from_numpy(check_inputs(cfg.input_size, batch, seed=4))
    joints = torch.rand(batch, cfg.num_joints, 3) * 0.6 - 0.3

    def step() -> None:
        loss = dense_loss(net(x), dense_targets(x, joints, 0.8))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()   # warm-up (allocator, kernels)
    best_s = float("inf")
    for _ in range(rounds):   # best of several rounds: the VM's cores are shared, other jobs only slow it down
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        best_s = min(best_s, time.perf_counter() - t0)
    return steps * batch / best_s


def measure(cfg: NetworkConfig, runs: int, train_steps: int, workdir: str) -> dict:
    torch.manual_seed(0)
    net = build_network(cfg)
    path = os.path.join(workdir, f"{cfg.name}.onnx")
    info = default_model_info(cfg.name)
    exported = export_onnx(net, info, path, check=False)
    median_ms, p95_ms = onnx_latency_ms(path, cfg.input_size, runs)
    row = {"config": cfg.name, "params_M": exported["params"] / 1e6, "GMAC": count_gmac(net),
           "onnx_MB": exported["onnx_bytes"] / 1e6, "ort_1thread_median_ms": median_ms, "ort_1thread_p95_ms": p95_ms}
    if train_steps > 0:
        row["train_img_per_s_b32"] = train_images_per_s(cfg, train_steps)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Size, GMAC, ONNX size and CPU latency of AWR network configurations.")
    p.add_argument("--configs", nargs="+", default=sorted(CONFIGS), choices=sorted(CONFIGS))
    p.add_argument("--runs", type=int, default=300, help="timed onnxruntime runs per configuration (>= 200)")
    p.add_argument("--train-steps", type=int, default=0,
                   help="also time batch-32 training steps (best of 3 rounds of this many)")
    args = p.parse_args(argv)
    if args.runs < 200:
        print("error: --runs must be at least 200", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as workdir:
        for name in args.configs:
            row = measure(CONFIGS[name], args.runs, args.train_steps, workdir)
            print("  ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
