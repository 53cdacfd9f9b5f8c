"""A hand-tracker model that also outputs every pixel's vote offset ('offsets', app.model_info.OUTPUT_OFFSETS),
for the tests of the vote display. The shipped exporter (models/export.py) does not write that output yet: this
is the export change proposed for it, done here on the untrained 'tiny' network so the runtime's use of the
output can be tested against a real onnxruntime session.

    python -m tests.offsets_model --out FILE.onnx

The offsets are exactly the vote steps inside models.awr.aggregate (U * m * T * (1 - H * m)), so the joints are
the weights-weighted mean of pixel + offset. Cached by tests.tracking_model.cached_export.
"""
from __future__ import annotations

import argparse
import io
import warnings
from pathlib import Path

from tests.tracking_model import cached_export

_SOURCES = ("models/export.py", "models/network.py", "models/awr.py", "app/model_info.py", "tests/offsets_model.py")


def offsets_model_path(config: str = "tiny") -> str:
    return cached_export(f"{config}-offsets", _SOURCES, ["-m", "tests.offsets_model", "--config", config])


def export_with_offsets(config: str, out: str) -> None:
    import onnx
    import torch
    from torch import nn

    from app.model_info import INPUT_NAME, METADATA_KEY, OUTPUT_JOINTS, OUTPUT_OFFSETS, OUTPUT_WEIGHTS
    from models.awr import BACKGROUND_THRESHOLD, aggregate, downsample_depth
    from models.export import check_inputs, default_model_info
    from models.network import build_network

    class WithOffsets(nn.Module):
        def __init__(self, net, kernel_radius: float, beta: float) -> None:
            super().__init__()
            self.net, self.t, self.beta = net, float(kernel_radius), float(beta)

        def forward(self, depth):
            dense = self.net(depth)
            joints, weights = aggregate(dense, depth, self.t, self.beta)
            j, f = dense.shape[1] // 4, dense.shape[-1]
            m = (downsample_depth(depth, f) < BACKGROUND_THRESHOLD).to(dense.dtype)
            unit = dense[:, :3 * j].reshape(-1, j, 3, f, f) * m[:, :, None]
            heat = dense[:, 3 * j:] * m
            offsets = unit * (self.t * (1.0 - heat))[:, :, None]   # the vote step of each pixel
            return joints, weights, offsets

    torch.manual_seed(0)
    info = default_model_info(config)
    model = WithOffsets(build_network(config), info.kernel_radius, info.beta).eval()
    buf = io.BytesIO()
    batch = {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.from_numpy(check_inputs(info.input_size, 2)),), buf,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_JOINTS, OUTPUT_WEIGHTS, OUTPUT_OFFSETS],
                          dynamic_axes={INPUT_NAME: batch, OUTPUT_JOINTS: batch, OUTPUT_WEIGHTS: batch,
                                        OUTPUT_OFFSETS: batch},
                          opset_version=17, do_constant_folding=True, dynamo=False)
    proto = onnx.load_from_string(buf.getvalue())
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, info.to_json()
    onnx.checker.check_model(proto)
    Path(out).write_bytes(proto.SerializeToString())


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="tiny")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    export_with_offsets(a.config, a.out)
