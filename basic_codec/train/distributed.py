"""Several training processes (`torchrun --nproc_per_node N -m basic_codec train ...`).

Every process draws the same structure, qualities and global batch from the same seeded RNG and
trains on its own slice of the batch; gradients are averaged with one all-reduce per step, which
is what DistributedDataParallel does. We average by hand because each step trains one sampled
structure, so most per-width parameters get no gradient (DDP would need find_unused_parameters
and a hook per step), and because the spike guard must skip a step on every process at once.
Backend: gloo on the CPU, nccl on CUDA. Without torchrun's environment, nothing changes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def slice(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's share of the global batch."""
        n = batch.shape[0] // self.world
        return batch[self.rank * n : (self.rank + 1) * n]

    def mean(self, values: list[float]) -> list[float]:
        """Average scalars over processes (identity for one process)."""
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return (t / self.world).tolist()

    def any(self, flag: bool) -> bool:
        """True on every process if it is true on any (time limits, checkpoint clocks)."""
        if self.world == 1:
            return flag
        t = torch.tensor([float(flag)])
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item())

    def average_gradients(self, params: list[torch.nn.Parameter]) -> None:
        if self.world == 1:
            return
        # Every process ran the same structure, so the same parameters have gradients; the
        # others keep grad None (as in one process), so Adam leaves them alone.
        used = [p for p in params if p.grad is not None]
        flat = torch.cat([p.grad.reshape(-1) for p in used])
        dist.all_reduce(flat)
        flat /= self.world
        i = 0
        for p in used:
            n = p.numel()
            p.grad = flat[i : i + n].view_as(p).clone()
            i += n

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()


def setup(batch: int) -> Dist:
    """Join the process group torchrun set up (if any); the global batch must split evenly."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Dist()
    if batch % world:
        raise ValueError(f"batch {batch} does not split over {world} processes")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Dist(dist.get_rank(), world)


def teardown(d: Dist) -> None:
    if d.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
