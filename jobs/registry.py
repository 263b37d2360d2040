"""The job kinds the runner knows: each a name, its ordered stages, its typed parameters and its queue.

An app registers its kinds once, in its AppConfig.ready(); the runner looks a job's kind up by the
name stored on the job. A second kind under a taken name is refused, so two apps cannot silently
share one name.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .services import StageContext


class Parameters(Protocol):
    """What a kind's parameters type offers: built from the stored dict, stored as a dict."""

    @classmethod
    def from_dict(cls, data: dict | None) -> Parameters: ...

    def as_dict(self) -> dict: ...


@dataclass(frozen=True)
class NoParameters:
    """The parameters of a kind that takes none: any key is refused."""

    @classmethod
    def from_dict(cls, data: dict | None) -> NoParameters:
        if data:
            raise ValueError(f"this kind takes no parameters, got {', '.join(sorted(data))}")
        return cls()

    def as_dict(self) -> dict:
        return {}


@dataclass(frozen=True)
class Stage:
    """One step of a kind: a plain function of the stage context that writes its outputs itself.

    It may run twice (a worker killed before acknowledging it), so it must overwrite what it
    writes rather than append to it.
    """

    name: str
    run: Callable[[StageContext], Any]


@dataclass(frozen=True)
class JobKind:
    name: str
    stages: tuple[Stage, ...]
    parameters: type = NoParameters
    # A fingerprint of the code behind the outputs, stored with every job of the kind.
    code_version: Callable[[], str] = lambda: ""
    # The Celery queue of the kind's stages (training gets its own workers); None: the default queue.
    queue: str | None = None

    def __post_init__(self):
        names = [s.name for s in self.stages]
        if not names:
            raise ValueError(f"job kind {self.name!r} has no stages")
        if len(set(names)) != len(names):
            raise ValueError(f"job kind {self.name!r} names a stage twice: {names}")

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def stage_named(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"job kind {self.name!r} has no stage {name!r} (stages: {', '.join(self.stage_names)})")


_KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Make `kind` known to the runner; returns it. Registering the same object again is a no-op."""
    known = _KINDS.get(kind.name)
    if known is not None and known is not kind:
        raise ValueError(f"a job kind named {kind.name!r} is already registered")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a kind (tests register kinds of their own and remove them afterwards)."""
    _KINDS.pop(name, None)


def kind_named(name: str) -> JobKind:
    """The registered kind of that name; KeyError naming the known kinds otherwise."""
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"no job kind {name!r} is registered (known: {', '.join(sorted(_KINDS)) or 'none'})") from None
