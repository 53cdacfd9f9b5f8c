"""Run the AWR network: an onnxruntime session over normalised crops. The ONLY module that imports onnxruntime.

The model file carries everything the runtime needs (app.model_info.ModelInfo as JSON under the metadata key
"awr"): a file without it is refused as "not a hand-tracker model". Provider choice: 'auto' = CUDA when a
CUDA driver is present (falls back to CPU silently when the CUDA libraries are missing), else CPU; 'cuda' and
'tensorrt' ask for those (TensorRT falls back to CUDA, then CPU). onnxruntime never fails when a GPU provider
cannot load, it runs on the CPU instead, so `.provider` reports what the session actually uses
(session.get_providers()[0]) and `.provider_note` says, in one line, why CUDA was not used when it was asked for
(--provider cuda/tensorrt, or auto on a machine with an NVIDIA driver).
The GPU build needs the CUDA 13 and cuDNN 9 libraries; `./setup.sh --gpu` installs them as NVIDIA's pip wheels
(onnxruntime-gpu[cuda,cudnn]), which are not on the loader path: before a CUDA session is asked for,
prepare_cuda() lets onnxruntime load them (onnxruntime.preload_dlls()). It is harmless without a GPU.
Idle intra-op threads spin and starve the capture thread on a 2-core machine: spinning is turned off.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import io
import os
import re
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

from app.errors import InputError, TrackerError
from app.joints import JOINT_NAMES, LAYOUT_NAME
from app.model_info import INPUT_NAME, METADATA_KEY, OUTPUT_JOINTS, OUTPUT_OFFSETS, OUTPUT_WEIGHTS, ModelInfo

PROVIDERS = ("auto", "cuda", "cpu", "tensorrt")
_ORT_NAMES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
              "tensorrt": "TensorrtExecutionProvider"}
_LOG_LOCK = threading.Lock()


def cuda_driver_present() -> bool:
    """True when the NVIDIA driver library loads: without it CUDA cannot work and is not even tried."""
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


_CUDA_LOCK = threading.Lock()
_cuda_problem: str | None = None
_cuda_prepared = False


def prepare_cuda() -> str | None:
    """Make the CUDA and cuDNN libraries of NVIDIA's pip wheels loadable by onnxruntime (once per process), before
    a CUDA session is created. Returns why CUDA cannot work here (one line), or None when it may.

    onnxruntime.preload_dlls() loads them from site-packages/nvidia (or the loader path) and prints what it
    could not find to stdout, where the JSONL output may go: its output is captured and summarised instead."""
    global _cuda_problem, _cuda_prepared
    with _CUDA_LOCK:
        if _cuda_prepared:
            return _cuda_problem
        _cuda_prepared = True
        if "CUDAExecutionProvider" not in ort.get_available_providers():
            _cuda_problem = ("this onnxruntime build has no CUDA support (install the GPU build with "
                             "./setup.sh --gpu)")
        elif not cuda_driver_present():
            _cuda_problem = "no NVIDIA driver found (libcuda.so.1 does not load)"
        else:
            _cuda_problem = _preload_cuda_libraries()
        return _cuda_problem


def _preload_cuda_libraries() -> str | None:
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:   # onnxruntime < 1.21: the loader path (LD_LIBRARY_PATH) must hold the libraries
        return None
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            preload()
    except Exception as exc:   # a broken installation: CUDA will fail, and this is why
        text = str(exc).strip()
        return f"loading the CUDA libraries failed ({text.splitlines()[0] if text else type(exc).__name__})"
    missing = sorted({os.path.basename(name) for name in re.findall(r"Failed to load (\S+?):", captured.getvalue())})
    if missing:
        return (f"the CUDA/cuDNN libraries were not found ({', '.join(missing)}; ./setup.sh --gpu installs "
                f"them)")
    return None


def _library_present(name: str) -> bool:
    return ctypes.util.find_library(name) is not None


def requested_providers(provider: str) -> list[str]:
    """onnxruntime provider list, best first, for a --provider value."""
    if provider not in PROVIDERS:
        raise InputError(f"--provider must be one of {', '.join(PROVIDERS)}, got '{provider}'")
    available = set(ort.get_available_providers())
    if provider == "cpu":
        chain = ["cpu"]
    elif provider == "auto":
        chain = ["cuda", "cpu"] if cuda_driver_present() else ["cpu"]
    elif provider == "cuda":
        chain = ["cuda", "cpu"]
    else:
        # Without the TensorRT libraries onnxruntime prints an error block to stdout before falling back.
        chain = (["tensorrt"] if _library_present("nvinfer") else []) + ["cuda", "cpu"]
    return [_ORT_NAMES[p] for p in chain if _ORT_NAMES[p] in available or p == "cpu"]


def _provider_note(requested: str, chain: list[str], used: str, cuda_problem: str | None) -> str:
    """'' when the session runs on what was asked for (auto: CUDA where a driver is present, else CPU), else one
    line saying what was asked for, why it is not used, and what runs instead."""
    wanted = _ORT_NAMES.get(requested) if requested != "auto" else (
        "CUDAExecutionProvider" if "CUDAExecutionProvider" in chain else "CPUExecutionProvider")
    if used == wanted:
        return ""
    if used == "CUDAExecutionProvider" and wanted == "TensorrtExecutionProvider":
        why = "the TensorRT libraries were not found" if not _library_present("nvinfer") else \
            "onnxruntime could not start TensorRT"
    else:
        why = cuda_problem or "onnxruntime could not start CUDA with the libraries found"
    asked = f"{wanted} was requested" if requested != "auto" else f"{wanted} (--provider auto) was tried"
    return f"{asked} but is not usable here: {why}; running on {used}"


def open_session(path: Path, providers: list[str], intra_op_threads: int = 1, what: str = "hand-tracker model"):
    """An onnxruntime session of the model file at path with these providers, intra_op_threads CPU threads
    (no spinning). InputError (one line, 'not a <what>: ...') when the file is no model onnxruntime can load."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(intra_op_threads)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    # A GPU provider that cannot load logs multi-line errors before onnxruntime falls back to the CPU; the
    # fallback is reported in one line through Estimator.provider / provider_note instead, so the global logger
    # is silenced while the session is created.
    with _LOG_LOCK:
        ort.set_default_logger_severity(4)
        try:
            return ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:   # onnxruntime raises its own exception types for unreadable models
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"not a {what}: {path}: {first[:200]}") from None
        finally:
            ort.set_default_logger_severity(2)


def session_metadata(session, path: Path, key: str, what: str, exporter: str) -> str:
    """The text under key in an open session's model metadata; InputError (one line, 'not a <what>: ...') when
    it is unreadable or missing (exporter: the command that writes it)."""
    try:
        meta = session.get_modelmeta().custom_metadata_map
    except (UnicodeDecodeError, RuntimeError) as exc:   # a damaged file: its metadata is not text
        raise InputError(f"not a {what}: {path}: unreadable metadata ({exc})"[:300]) from None
    if key not in meta:
        raise InputError(f"not a {what}: {path} has no '{key}' metadata (export it with {exporter})")
    return meta[key]


class Estimator:
    """One onnxruntime session. Not thread-safe: owned by the tracker thread.

    model_path: .onnx exported by models/export.py; provider: 'auto' | 'cuda' | 'cpu' | 'tensorrt';
    intra_op_threads: onnxruntime CPU threads (1 keeps a core free for capture and display).
    Attributes: info (ModelInfo), provider (the provider actually used), provider_note (why it differs from
    the request, or ''), model_path, model_name, has_offsets (the model also outputs each pixel's vote offset,
    app.model_info.OUTPUT_OFFSETS; see infer_votes).
    """

    def __init__(self, model_path: str | os.PathLike, provider: str = "auto", intra_op_threads: int = 1) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise InputError(f"model file not found: {path}")
        if intra_op_threads < 1:
            raise InputError(f"intra-op threads must be >= 1, got {intra_op_threads}")
        providers = requested_providers(provider)
        cuda_problem = prepare_cuda() if (provider in ("cuda", "tensorrt") or
                                          "CUDAExecutionProvider" in providers) else None
        self.session = open_session(path, providers, intra_op_threads)
        self.info = self._read_info(path)
        try:
            self._check_io(path)
        except UnicodeDecodeError as exc:   # a damaged file: names that are not text
            raise InputError(f"not a hand-tracker model: {path}: unreadable input/output names ({exc})"[:300]
                             ) from None
        self.has_offsets = OUTPUT_OFFSETS in [o.name for o in self.session.get_outputs()]
        self.model_path = str(path)
        self.model_name = path.name
        self.requested = provider
        self.provider = self.session.get_providers()[0]
        self.provider_note = _provider_note(provider, providers, self.provider, cuda_problem)
        try:
            self.infer(np.ones((1, self.info.input_size, self.info.input_size), np.float32))   # warm-up
        except TrackerError as exc:   # the graph does not produce what its metadata says: a bad model file
            raise InputError(f"not a hand-tracker model: {path}: {exc}") from None

    def _read_info(self, path: Path) -> ModelInfo:
        text = session_metadata(self.session, path, METADATA_KEY, "hand-tracker model", "python -m models.export")
        try:
            info = ModelInfo.from_json(text)
        except InputError as exc:
            raise InputError(f"not a hand-tracker model: {path}: {exc}") from None
        if (not 8 <= info.input_size <= 4096 or not 1 <= info.feature_size <= info.input_size
                or info.num_joints < 1 or not 0 < info.cube_mm <= 2000 or info.kernel_radius <= 0
                or info.beta <= 0 or not 0 <= info.depth_range_mm[0] < info.depth_range_mm[1]):
            raise InputError(f"not a hand-tracker model: {path}: implausible metadata (input {info.input_size}, "
                             f"feature {info.feature_size}, {info.num_joints} joints, cube {info.cube_mm} mm, "
                             f"kernel radius {info.kernel_radius}, beta {info.beta}, depth range "
                             f"{list(info.depth_range_mm)} mm)")
        if info.joint_layout != LAYOUT_NAME or tuple(info.joint_names) != JOINT_NAMES:
            raise InputError(f"not a hand-tracker model: {path}: joints are '{info.joint_layout}' "
                             f"({info.num_joints} joints); this runtime needs the {LAYOUT_NAME} layout")
        if info.hand not in ("right", "left"):
            raise InputError(f"not a hand-tracker model: {path}: hand must be right or left, got '{info.hand}'")
        return info

    def _check_io(self, path: Path) -> None:
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if inputs != [INPUT_NAME] or not {OUTPUT_JOINTS, OUTPUT_WEIGHTS} <= set(outputs):
            raise InputError(f"not a hand-tracker model: {path}: expected input '{INPUT_NAME}' and outputs "
                             f"'{OUTPUT_JOINTS}', '{OUTPUT_WEIGHTS}', got {inputs} -> {outputs}")
        shape = self.session.get_inputs()[0].shape
        static = [d for d in shape[2:] if isinstance(d, int)]
        if any(d != self.info.input_size for d in static):
            raise InputError(f"not a hand-tracker model: {path}: input shape {shape} does not match "
                             f"input_size {self.info.input_size} in its metadata")

    def infer(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """crops: N x S x S float32 normalised crops -> (joints_uvd N x J x 3 normalised crop coordinates,
        weights N x J x F x F softmax weight maps, each summing to 1)."""
        joints, weights, _ = self._run(crops, False)
        return joints, weights

    def infer_votes(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """As infer(), plus every pixel's vote offset N x J x 3 x F x F (normalised crop units, see
        app.model_info.OUTPUT_OFFSETS) when the model outputs it, else None."""
        return self._run(crops, self.has_offsets)

    def _run(self, crops: np.ndarray, with_offsets: bool):
        s = self.info.input_size
        crops = np.asarray(crops, dtype=np.float32)
        if crops.ndim != 3 or crops.shape[1:] != (s, s):
            raise InputError(f"estimator: expected N x {s} x {s} crops, got {crops.shape}")
        names = [OUTPUT_JOINTS, OUTPUT_WEIGHTS] + ([OUTPUT_OFFSETS] if with_offsets else [])
        try:
            outputs = self.session.run(names, {INPUT_NAME: np.ascontiguousarray(crops[:, None])})
        except Exception as exc:
            raise TrackerError(f"inference failed on {self.provider}: {str(exc).strip().splitlines()[0][:200]}") \
                from None
        joints, weights = outputs[0], outputs[1]
        offsets = outputs[2] if with_offsets else None
        j, f = self.info.num_joints, self.info.feature_size
        if joints.shape != (len(crops), j, 3) or weights.shape != (len(crops), j, f, f):
            raise TrackerError(f"model output {joints.shape}, {weights.shape} does not match its metadata "
                               f"({j} joints, feature {f})")
        if offsets is not None and offsets.shape != (len(crops), j, 3, f, f):
            raise TrackerError(f"model output '{OUTPUT_OFFSETS}' {offsets.shape} does not match its metadata "
                               f"(expected N x {j} x 3 x {f} x {f})")
        return joints, weights, offsets
