"""One rank of the two-rank gloo DDP test (tests/test_models_training_scale.py): trains, saves its weights."""
import os
import sys

import torch


def run(rank: int, world_size: int, port: int, cfg_json: str, run_dir: str, out_prefix: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(world_size), "LOCAL_RANK": str(rank)})
    from models.distributed import close_world, init_world
    from models.train import TrainConfig, train

    cfg = TrainConfig.from_file(cfg_json)
    world = init_world("cpu")
    try:
        result = train(cfg, run_dir, quiet=True, world=world, keep_model=True)
        torch.save({"state": result["model"].state_dict(), "steps": result["steps"],
                    "val_mean_mm": result.get("mean_mm")}, f"{out_prefix}{rank}.pt")
    finally:
        close_world(world)


if __name__ == "__main__":
    run(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6])
