"""Training on several processes under ``torchrun``, switched by the environment.

``torchrun --nproc_per_node=N -m tunetag train ...`` starts N copies of the command, each
with ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` set (as nanoGPT reads them). `train` opens
a process group (gloo on the CPU, NCCL on GPUs), every rank trains on its own shard of the
crops with gradients averaged by DistributedDataParallel, and rank 0 alone writes files.
Started plainly, ``WORLD_SIZE`` is absent (or 1): no process group is opened and every
function here leaves its input as it is.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Sampler

from tunetag.errors import ParameterError

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """Where this process stands among the processes of one job.

    ``rank`` counts processes over every machine, ``local_rank`` those on this machine (it
    picks the GPU), ``size`` is how many there are; a plain run is rank 0 of 1.
    """

    rank: int = 0
    local_rank: int = 0
    size: int = 1

    @property
    def distributed(self) -> bool:
        """Whether other processes share the work (and a process group is needed)."""
        return self.size > 1

    @property
    def writes_files(self) -> bool:
        """Whether this process writes the run folder and prints progress: rank 0 only."""
        return self.rank == 0


def environment_world(environ: Mapping[str, str] | None = None) -> World:
    """The `World` that ``torchrun`` describes in the environment; rank 0 of 1 without it.

    Parameters
    ----------
    environ : mapping of str to str, optional
        Where to read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (default: ``os.environ``).

    Raises
    ------
    ParameterError
        When a variable is not an integer, or the ranks do not fit the size.
    """
    environ = os.environ if environ is None else environ
    found = {}
    for name, default in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)):
        text = environ.get(name, "").strip()
        try:
            found[name] = int(text) if text else default
        except ValueError:
            raise ParameterError(f"{name} must be an integer, got {text!r}") from None
    world = World(rank=found["RANK"], local_rank=found["LOCAL_RANK"], size=found["WORLD_SIZE"])
    if world.size < 1 or not 0 <= world.rank < world.size or world.local_rank < 0:
        raise ParameterError(
            f"RANK={world.rank}, LOCAL_RANK={world.local_rank} and WORLD_SIZE={world.size} "
            "do not describe a process of a torchrun job"
        )
    return world


def active_world() -> World:
    """This process's place in the open process group; rank 0 of 1 when none is open."""
    if not _group_open():
        return World()
    local_rank = environment_world().local_rank
    return World(rank=dist.get_rank(), local_rank=local_rank, size=dist.get_world_size())


def rank_device(world: World | None = None) -> torch.device:
    """The device this process trains on: its own GPU (``cuda:LOCAL_RANK``) under torchrun,
    the current GPU alone, the CPU without CUDA.

    Parameters
    ----------
    world : World, optional
        Default: `active_world`.
    """
    world = world or active_world()
    if not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", world.local_rank) if world.distributed else torch.device("cuda")


@contextmanager
def process_group(world: World | None = None) -> Iterator[World]:
    """Open the process group of a torchrun job for the body, and close it after.

    NCCL when CUDA is present (each rank on ``cuda:LOCAL_RANK``), else gloo; the rendezvous
    address comes from torchrun's ``MASTER_ADDR`` and ``MASTER_PORT``. For a single process,
    or when the caller has opened a group already, nothing is opened or closed.

    Parameters
    ----------
    world : World, optional
        Default: `environment_world`.

    Yields
    ------
    World
        This process's place in the group.
    """
    world = world or environment_world()
    if _group_open():
        yield active_world()
        return
    if not world.distributed:
        yield world
        return
    if torch.cuda.is_available():
        if world.local_rank >= torch.cuda.device_count():
            raise ParameterError(
                f"LOCAL_RANK {world.local_rank} has no GPU of its own "
                f"({torch.cuda.device_count()} visible): start at most that many processes "
                "per machine, or hide the GPUs (CUDA_VISIBLE_DEVICES=) to train on the CPU"
            )
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", rank=world.rank, world_size=world.size, device_id=device)
    else:
        dist.init_process_group("gloo", rank=world.rank, world_size=world.size)
    try:
        yield world
    finally:
        dist.destroy_process_group()


def barrier() -> None:
    """Wait until every process gets here (nothing for a single process)."""
    if active_world().distributed:
        dist.barrier()


@contextmanager
def local_rank_first() -> Iterator[None]:
    """Run the body on each machine's local rank 0 first, then on the other ranks at once.

    So that the first process fills a cache on disk (decoded songs) that the others then
    read, instead of several decoding the same song at the same time.
    """
    world = active_world()
    if world.distributed and world.local_rank != 0:
        dist.barrier()
    yield
    if world.distributed and world.local_rank == 0:
        dist.barrier()


def shard(indices: Sequence[int], rank: int, world: int, epoch: int, seed: int) -> list[int]:
    """This rank's share of one epoch's shuffle of ``indices``.

    The indices are shuffled by (``seed``, ``epoch``), identically on every rank, cut to a
    multiple of ``world`` and dealt out: rank r takes positions r, r + world, ... So the
    shards of one epoch are disjoint and of equal length (every rank makes the same number
    of steps, as DDP needs), together they hold all but ``len(indices) % world`` indices,
    and a new epoch deals a new shuffle (the few left out change too).

    Parameters
    ----------
    indices : sequence of int
        What to share out (crop indices of a dataset).
    rank, world : int
        This process's rank and the number of processes, ``0 <= rank < world``.
    epoch : int
        Epoch number; a new one gives a new shuffle.
    seed : int
        The run's random seed.
    """
    if world < 1 or not 0 <= rank < world:
        raise ParameterError(f"rank must be in 0..{world - 1} (world {world}), got {rank}")
    order = np.random.default_rng([seed, epoch]).permutation(len(indices))
    usable = len(order) - len(order) % world
    return [indices[k] for k in order[rank:usable:world]]


class EpochShards(Sampler[int]):
    """A DataLoader sampler of this rank's `shard` of ``range(n)``; call `set_epoch` before
    each epoch, as with torch's DistributedSampler (which pads instead of dropping)."""

    def __init__(self, n: int, world: World, seed: int) -> None:
        if n < world.size:
            raise ParameterError(
                f"{n} training examples cannot be shared among {world.size} processes"
            )
        self.n, self.world, self.seed = n, world, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Deal the shuffle of ``epoch`` (counted from 1) next."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        return iter(shard(range(self.n), self.world.rank, self.world.size, self.epoch, self.seed))

    def __len__(self) -> int:
        return self.n // self.world.size


def rank_batch_size(batch_size: int, world: World) -> int:
    """Examples per step on each process, so that a step of every process together takes
    ``batch_size`` (rounded up to a multiple of the processes), as one process would."""
    return math.ceil(batch_size / world.size)


def wrap(model: nn.Module, device: torch.device, *, some_heads_idle: bool = False) -> nn.Module:
    """The model in DistributedDataParallel, which averages gradients over the processes;
    the model itself for a single process.

    Parameters
    ----------
    model : torch.nn.Module
        Already on ``device``; its weights are trained in place.
    device : torch.device
        This rank's device (`rank_device`).
    some_heads_idle : bool
        True when a batch may leave a head without loss (a task no song of the batch is
        labelled for): DDP then looks for parameters without gradient at every step.
    """
    if not active_world().distributed:
        return model
    ids = None
    if device.type == "cuda":
        ids = [device.index if device.index is not None else torch.cuda.current_device()]
    return DistributedDataParallel(model, device_ids=ids, find_unused_parameters=some_heads_idle)


def sum_over_ranks(values: Sequence[float]) -> list[float]:
    """Each value summed over the processes (float64); the values as they are alone."""
    if not active_world().distributed:
        return list(values)
    total = torch.tensor(values, dtype=torch.float64, device=_collective_device())
    dist.all_reduce(total)
    return total.tolist()


def broadcast_object(value: T) -> T:
    """Rank 0's ``value`` on every process (any picklable object); ``value`` alone."""
    if not active_world().distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(value: Any) -> list[Any]:
    """Every process's ``value``, by rank, on every process; ``[value]`` alone."""
    world = active_world()
    if not world.distributed:
        return [value]
    found: list[Any] = [None] * world.size
    dist.all_gather_object(found, value)
    return found


def require_same(value: Any, what: str) -> None:
    """Stop every process when they do not hold the same ``value`` (then ranks would train
    on different songs, or wait for each other forever).

    Raises
    ------
    ParameterError
        On every rank, naming ``what``, when the values differ.
    """
    found = gather_objects(value)
    if any(other != found[0] for other in found[1:]):
        raise ParameterError(
            f"the {len(found)} processes disagree on {what}; "
            "do they all see the same files and cache?"
        )


def broadcast_buffers(model: nn.Module) -> None:
    """Copy rank 0's buffers (batch-norm statistics) to every process, so that all score
    songs with the same model; nothing alone."""
    if not active_world().distributed:
        return
    for buffer in model.buffers():
        dist.broadcast(buffer, src=0)


def _group_open() -> bool:
    return dist.is_available() and dist.is_initialized()


def _collective_device() -> torch.device:
    """Where tensors of a collective must live: the GPU for NCCL, the CPU for gloo."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
