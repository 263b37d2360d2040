"""Training beyond one process: the same trainer under `torchrun` with DistributedDataParallel, no code change.

`torchrun --nproc_per_node=N manage.py train ...` sets RANK, WORLD_SIZE and LOCAL_RANK in each
process; `dist_setup` reads them and joins the process group (NCCL on CUDA, gloo on the CPU). A
plain `python manage.py train` sees none of them and gets a one-process `DistEnv` on which every
helper here is the identity, so the trainers have one code path.

What makes N processes train as one with the same global batch:
- `dist_sampler`: DistributedSampler hands rank r the items r, r + N, r + 2N ... of one seeded
  permutation, so the union of the ranks' k-th local batches is the single process's k-th batch;
- `gather_with_grad`: the paper's losses (Norm-in-Norm, KL, PLCC, rank) are batch-level, not a
  mean over items, so each rank computes the loss on the predictions of the whole global batch;
  the backward pass sums the ranks' gradients for each local prediction, DDP then averages over
  the N ranks, which gives exactly the one-process gradient (tests/modeling/test_distributed.py);
- `gather_indexed`: the validation predictions of all ranks, so every rank picks the same best epoch;
- `is_main`: only rank 0 writes checkpoints and reports.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, DistributedSampler


@dataclass(frozen=True)
class DistEnv:
    """Where this process stands: its rank among world_size processes and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def dist_env(device: str = "cpu") -> DistEnv:
    """The torchrun environment (RANK, WORLD_SIZE, LOCAL_RANK) without joining anything; one process when unset.

    On CUDA each process takes the GPU of its local rank (cuda:LOCAL_RANK), as torchrun intends.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    if world > 1 and str(device).startswith("cuda"):
        device = f"cuda:{local}"
    return DistEnv(rank=rank, world_size=world, local_rank=local, device=str(device))


def dist_setup(device: str = "cpu") -> DistEnv:
    """Join the process group torchrun describes (NCCL on CUDA, gloo on the CPU); a no-op for one process.

    Idempotent: a process already in a group (a second fit in the same run) keeps it.
    """
    env = dist_env(device)
    if not env.distributed:
        return env
    if env.device.startswith("cuda"):
        torch.cuda.set_device(env.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if env.device.startswith("cuda") else "gloo",
                                rank=env.rank, world_size=env.world_size)
    return env


def dist_teardown() -> None:
    """Leave the process group (end of a torchrun process); nothing when there is none."""
    if dist.is_initialized():
        dist.destroy_process_group()


def is_main(env: DistEnv | None = None) -> bool:
    """Whether this process writes files (checkpoints, reports, registry rows): rank 0, or the only process."""
    return (env or dist_env()).rank == 0


def barrier(env: DistEnv) -> None:
    if env.distributed:
        dist.barrier()


def dist_wrap(module: nn.Module, env: DistEnv) -> nn.Module:
    """The module as DistributedDataParallel when there are several processes, else unchanged.

    On CUDA the BatchNorm layers become SyncBatchNorm (statistics over the global batch); gloo has
    no SyncBatchNorm, and the fine-tuning trainer keeps the backbone's BatchNorm statistics frozen anyway.
    """
    if not env.distributed:
        return module
    if env.device.startswith("cuda"):
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        return nn.parallel.DistributedDataParallel(module, device_ids=[env.local_rank], output_device=env.local_rank)
    return nn.parallel.DistributedDataParallel(module)


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DistributedDataParallel wrapper (what checkpoints store)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def dist_sampler(dataset: Dataset, env: DistEnv, *, shuffle: bool, seed: int) -> DistributedSampler:
    """This rank's share of one seeded permutation (the whole of it for one process); call set_epoch(e) per epoch.

    The number of items is padded up to a multiple of world_size by repeating the first ones (all
    ranks then take the same number of steps); for validation `gather_indexed` drops the repeats.
    """
    return DistributedSampler(dataset, num_replicas=env.world_size, rank=env.rank, shuffle=shuffle, seed=seed, drop_last=False)


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward sums each rank's gradient for the gathered items and returns this rank's share."""

    @staticmethod
    def forward(ctx, local: torch.Tensor) -> torch.Tensor:
        world, rank = dist.get_world_size(), dist.get_rank()
        parts = [torch.empty_like(local) for _ in range(world)]
        dist.all_gather(parts, local.contiguous())
        ctx.rank, ctx.size = rank, local.shape[0]
        return torch.cat(parts)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.size:(ctx.rank + 1) * ctx.size]


def gather_with_grad(local: torch.Tensor, env: DistEnv) -> torch.Tensor:
    """The global batch (rank 0's items first) from each rank's local batch, differentiable; identity for one process.

    Every rank must pass the same number of items (DistributedSampler's padding sees to it).
    """
    if not env.distributed:
        return local
    return _GatherWithGrad.apply(local)


def gather(local: torch.Tensor, env: DistEnv) -> torch.Tensor:
    """The global batch of a tensor that needs no gradient (the labels), in the order of gather_with_grad."""
    if not env.distributed:
        return local
    parts = [torch.empty_like(local) for _ in range(env.world_size)]
    dist.all_gather(parts, local.contiguous())
    return torch.cat(parts)


def gather_indexed(indices: Sequence[int], values: np.ndarray, count: int, env: DistEnv) -> np.ndarray:
    """Assemble per-item values computed on the ranks' shards into one array of `count` items, on every rank.

    `indices` name the items this rank computed (a DistributedSampler's share, padding included); a
    repeated item keeps one value. Raises ValueError when an item was computed by no rank.
    """
    values = np.asarray(values, dtype=np.float64)
    if env.distributed:
        shards: list = [None] * env.world_size
        dist.all_gather_object(shards, (list(map(int, indices)), values.tolist()))
    else:
        shards = [(list(map(int, indices)), values.tolist())]
    out = np.full(count, np.nan)
    seen = np.zeros(count, dtype=bool)
    for shard_indices, shard_values in shards:
        where = np.asarray(shard_indices, dtype=np.int64)
        out[where] = shard_values
        seen[where] = True
    if not seen.all():
        raise ValueError(f"{int((~seen).sum())} of {count} items were computed by no rank")
    return out
