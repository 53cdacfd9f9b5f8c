"""Read an exported AWR model's weights back into a torch network, to fine-tune it (the shipped model on more
synthetic data, or on a real data set through models/datasets).

The exporter folds each encoder convolution's BatchNorm into the convolution (weight W', bias b'); torch's
network keeps them apart. They are un-folded so that the network computes the same function in both modes:
the convolution gets W', and its BatchNorm gets running statistics (m, v) measured on calibration crops at that
layer's output, with gamma = sqrt(v + eps) and beta = b' + m. In eval mode that is exactly W'x + b'; in train
mode, where BatchNorm normalises with the batch's own statistics, it is W'x + b' up to how far a batch's
statistics stray from (m, v), so fine-tuning starts where the exported model is. Parameters the exporter kept by
name (the decoder's, the head's) are copied as they are. The result is checked against onnxruntime.

    net = network_from_onnx("models/awr_lite.onnx", calibration_crops)     # crops: N x 1 x S x S float32
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from app.errors import InputError, TrackerError
from models.export import PARITY_TOLERANCE, AWRInference, check_inputs, load_model_info, onnx_parity
from models.network import CONFIGS, AWRNet, build_network

NET_PREFIX = "net."   # AWRInference names the network 'net': the exported parameter names start with it


def network_from_onnx(path: str, calibration_crops: np.ndarray | None = None, check: bool = True) -> AWRNet:
    """An AWRNet with the weights of the exported model at `path` (its network configuration from the file's
    metadata). calibration_crops: float32 N x 1 x S x S normalised crops for the un-folded BatchNorm statistics
    (a few dozen real training crops; None: the exporter's hand-like check crops). Raises InputError for a file
    that is not such a model, TrackerError when the result does not reproduce it."""
    import onnx
    from onnx import numpy_helper

    info = load_model_info(path)
    if info.config_name not in CONFIGS:
        raise InputError(f"{path} is a '{info.config_name}' network, which this code does not know")
    proto = onnx.load(path)
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    net = build_network(info.config_name)
    crops = check_inputs(info.input_size, 32, seed=3) if calibration_crops is None else calibration_crops
    crops = torch.as_tensor(np.asarray(crops, dtype=np.float32))
    if crops.ndim != 4 or crops.shape[1:] != (1, info.input_size, info.input_size):
        raise InputError(f"calibration crops must be N x 1 x {info.input_size} x {info.input_size}, "
                         f"got {tuple(crops.shape)}")

    with torch.no_grad():
        state = net.state_dict()
        for name in state:   # what the exporter kept under its own name
            if NET_PREFIX + name in inits:
                state[name].copy_(_tensor(inits[NET_PREFIX + name], state[name].shape, name))
        conv_nodes = [n for n in proto.graph.node if n.op_type == "Conv"]
        convs = _convs_in_execution_order(net, crops[:1])
        if len(conv_nodes) != len(convs):
            raise InputError(f"{path}: {len(conv_nodes)} convolutions in the graph, the '{info.config_name}' "
                             f"network has {len(convs)}")
        following_bn = _batchnorm_after(net)
        net.eval()
        for node, (name, conv) in zip(conv_nodes, convs):
            weight = inits.get(node.input[1])
            if weight is None:
                raise InputError(f"{path}: convolution {node.name} has no stored weight")
            conv.weight.copy_(_tensor(weight, conv.weight.shape, name))
            bias = inits.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            if conv.bias is not None:
                if bias is None:
                    raise InputError(f"{path}: convolution {node.name} has no bias, '{name}' needs one")
                conv.bias.copy_(_tensor(bias, conv.bias.shape, name + " bias"))
            elif name in following_bn and NET_PREFIX + following_bn[name][0] + ".running_mean" not in inits:
                # folded: un-fold against this layer's statistics on the calibration crops (the layers
                # before it are already set, so what it sees is what the exported model's layer sees)
                _unfold(net, conv, following_bn[name][1], bias, crops)
    if check:
        diff = onnx_parity(AWRInference(net, info.kernel_radius, info.beta).eval(), path, info.input_size)
        if not diff <= PARITY_TOLERANCE:
            raise TrackerError(f"the weights read from {path} reproduce it only to {diff:.3g} (> {PARITY_TOLERANCE})")
    net.train()
    return net


def _tensor(array: np.ndarray, shape: torch.Size, name: str) -> torch.Tensor:
    if tuple(array.shape) != tuple(shape):
        raise InputError(f"stored '{name}' is {tuple(array.shape)}, the network expects {tuple(shape)}")
    return torch.from_numpy(np.array(array, dtype=np.float32))


def _convs_in_execution_order(net: AWRNet, x: torch.Tensor) -> list[tuple[str, nn.Conv2d]]:
    """The Conv2d modules (not transposed) in the order a forward pass runs them: the exporter's trace order."""
    order: list[tuple[str, nn.Conv2d]] = []
    names = {mod: name for name, mod in net.named_modules()}
    hooks = [mod.register_forward_hook(lambda m, _i, _o: order.append((names[m], m)))
             for mod in net.modules() if type(mod) is nn.Conv2d]
    try:
        net.eval()
        net(x)
    finally:
        for h in hooks:
            h.remove()
    return order


def _batchnorm_after(net: AWRNet) -> dict[str, tuple[str, nn.BatchNorm2d]]:
    """Each bias-free Conv2d's BatchNorm (the module registered right after it), by the conv's name."""
    mods = list(net.named_modules())
    pairs = {}
    for (name, mod), (bn_name, nxt) in zip(mods, mods[1:]):
        if type(mod) is nn.Conv2d and mod.bias is None and isinstance(nxt, nn.BatchNorm2d):
            pairs[name] = (bn_name, nxt)
    return pairs


def _unfold(net: AWRNet, conv: nn.Conv2d, bn: nn.BatchNorm2d, bias: np.ndarray | None, crops: torch.Tensor) -> None:
    """Set bn so that bn(conv(x)) = W'x + b' in eval mode, with running statistics of conv(x) on the crops."""
    seen: list[torch.Tensor] = []
    hook = conv.register_forward_hook(lambda _m, _i, out: seen.append(out))
    try:
        net(crops)
    finally:
        hook.remove()
    out = seen[0]
    mean = out.mean(dim=(0, 2, 3))
    var = out.var(dim=(0, 2, 3), unbiased=False).clamp_min(1e-8)
    b = torch.zeros_like(mean) if bias is None else torch.from_numpy(np.array(bias, dtype=np.float32))
    bn.running_mean.copy_(mean)
    bn.running_var.copy_(var)
    bn.weight.copy_(torch.sqrt(var + bn.eps))
    bn.bias.copy_(b + mean)
