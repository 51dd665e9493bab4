"""One output head per task, keyed by the task's own name, whatever text that is.

A task is a label column, and a spreadsheet's column may be called anything: ``label``,
``mood: v2``, ``Stimmung (ä)``. PyTorch names a submodule by its key and refuses keys with a
dot, the empty key and keys that are attributes of the dict (``keys``, ``type``...), so
`TaskHeads` stores such a name under a reversible hex spelling; every other name is its own
key, so the weights of runs saved before read back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from torch import nn

ENCODED_PREFIX = "task_hex_"  # a head key made of the UTF-8 bytes of its task's name


def head_key(task: str) -> str:
    """The submodule key of ``task``'s head: the name itself where PyTorch allows it."""
    allowed = task and "." not in task and not hasattr(nn.ModuleDict, task)
    if allowed and not task.startswith(ENCODED_PREFIX):
        return task
    return ENCODED_PREFIX + task.encode("utf-8").hex()


def task_name(key: str) -> str:
    """The task whose head is stored under ``key`` (the inverse of `head_key`)."""
    if key.startswith(ENCODED_PREFIX):
        return bytes.fromhex(key[len(ENCODED_PREFIX) :]).decode("utf-8")
    return key


class TaskHeads(nn.ModuleDict):
    """A `torch.nn.ModuleDict` of heads indexed, iterated and listed by task name."""

    def __init__(self, heads: Mapping[str, nn.Module] | None = None) -> None:
        super().__init__()
        for task, head in (heads or {}).items():
            self[task] = head

    def __getitem__(self, task: str) -> nn.Module:
        return super().__getitem__(head_key(task))

    def __setitem__(self, task: str, head: nn.Module) -> None:
        super().__setitem__(head_key(task), head)

    def __delitem__(self, task: str) -> None:
        super().__delitem__(head_key(task))

    def __contains__(self, task: object) -> bool:
        return isinstance(task, str) and super().__contains__(head_key(task))

    def __iter__(self) -> Iterator[str]:
        return (task_name(key) for key in super().__iter__())

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(self)

    def items(self) -> list[tuple[str, nn.Module]]:  # type: ignore[override]
        return [(task, self[task]) for task in self]
