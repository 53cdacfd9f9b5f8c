"""torch.distributed for training: one process per GPU (NCCL) or per CPU worker (gloo), started by torchrun.

    torchrun --nproc_per_node 4 -m models.train --config ... --run-dir ...          (one machine, 4 GPUs)
    torchrun --nnodes 2 --node_rank R --master_addr HOST --nproc_per_node 8 -m models.train ...   (two machines)

A plain `python -m models.train` is a world of one and touches none of this. Rank 0 alone writes checkpoints,
logs and the export; `broadcast_object` and `gather_objects` move small Python objects (a resumed checkpoint,
the generators' states) between ranks, so resuming needs the run folder on rank 0's machine only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def pick_device(requested: str, local_rank: int = 0) -> torch.device:
    """'auto' -> the local GPU when torch sees one, else the CPU; 'cuda' without a GPU is an error."""
    if requested not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got '{requested}'")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch sees no CUDA GPU")
    if requested == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def init_world(requested_device: str) -> World:
    """Join the process group that torchrun describes in the environment (WORLD_SIZE > 1), else a world of one."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(requested_device, local_rank)
    if size <= 1:
        return World(device=device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return World(rank=rank, size=size, local_rank=local_rank, device=device)


def close_world(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_object(world: World, obj=None):
    """Rank 0's `obj` on every rank."""
    if not world.distributed:
        return obj
    box = [obj if world.is_main else None]
    dist.broadcast_object_list(box, src=0, device=world.device if world.device.type == "cuda" else None)
    return box[0]


def gather_objects(world: World, obj) -> list:
    """Every rank's `obj`, in rank order (on every rank)."""
    if not world.distributed:
        return [obj]
    out = [None] * world.size
    dist.all_gather_object(out, obj)
    return out


def broadcast_float(world: World, value: float) -> float:
    """Rank 0's value on every rank (the time-budget clock, so that all ranks change stage and stop together)."""
    if not world.distributed:
        return value
    t = torch.tensor([value], dtype=torch.float64, device=world.device)
    dist.broadcast(t, src=0)
    return float(t.item())


def broadcast_buffers(world: World, module: torch.nn.Module) -> None:
    """Rank 0's buffers (BatchNorm running statistics) on every rank, so the final weights are identical."""
    if not world.distributed:
        return
    for buf in module.buffers():
        dist.broadcast(buf.data, src=0)
