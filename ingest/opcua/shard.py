"""Collectors in groups: ``collect --shard I/N`` takes a deterministic share of OPC-UA servers.

Rendezvous (highest-random-weight) hashing: every collector scores each endpoint against
every shard number and keeps the endpoints whose best score is its own. N processes with the
same configuration therefore cover every endpoint exactly once without talking to each other,
and going from N to N+1 collectors moves only the endpoints the new shard wins, about
1/(N+1) of them; none move between the old shards.

MQTT sources need no sharding: a group of collectors shares each subscription through the
broker (``shared_group``), which hands every message to one member.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ingest.config import IngestConfig

__all__ = ["Shard", "apply_shard", "owner", "parse_shard", "shard_sources"]

_FORM = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Collector ``index`` of ``count`` (1-based, as people count: ``1/2`` and ``2/2``)."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ValueError(
                f"shard {self.index}/{self.count} is out of range; expected I/N with"
                " 1 <= I <= N, e.g. 1/2 and 2/2 for two collectors."
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"2/3"`` → ``Shard(2, 3)``; anything else is a one-sentence error."""
    match = _FORM.match(text)
    if not match:
        raise ValueError(f"--shard expects I/N such as 1/2, got {text!r}.")
    return Shard(int(match.group(1)), int(match.group(2)))


def _score(endpoint: str, index: int) -> int:
    digest = hashlib.blake2b(f"{index}\x00{endpoint}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(endpoint: str, count: int) -> int:
    """The shard (1..count) that takes ``endpoint``."""
    return max(range(1, count + 1), key=lambda index: _score(endpoint, index))


T = TypeVar("T")


def shard_sources(sources: Sequence[T], shard: Shard) -> list[T]:
    """The sources whose ``endpoint`` this shard owns, in configured order."""
    return [s for s in sources if owner(str(getattr(s, "endpoint")), shard.count) == shard.index]  # noqa: B009


def apply_shard(config: IngestConfig, shard: Shard, data_dir: Path) -> IngestConfig:
    """This collector's configuration: its OPC-UA servers, the shard as a metrics label,
    and a store-and-forward file of its own (collectors of a group may share a data dir)."""
    buffer = config.buffer
    if buffer.path is None:
        name = f"ingest-buffer-shard{shard.index}of{shard.count}.sqlite"
        buffer = buffer.model_copy(update={"path": data_dir / name})
    return config.model_copy(
        update={"opcua": shard_sources(config.opcua, shard), "shard": str(shard), "buffer": buffer}
    )
