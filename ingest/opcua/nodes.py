"""Resolving configured nodes (NodeId or browse path) to NodeIds on a connected server.

Browse paths are translated in one TranslateBrowsePathsToNodeIds call (batched, because a
line can have thousands of tags); a node that does not resolve is reported with the server's
reason and skipped, so one typo does not stop the other tags from being collected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from asyncua import Client, ua

from ingest.opcua.config import NodeMapping
from ingest.opcua.errors import NodeResolutionError
from ingest.opcua.uatypes import boolean, node_id

_CHUNK = 1000


@dataclass(frozen=True)
class Unresolved:
    """A configured node the server does not know, and why."""

    mapping: NodeMapping
    reason: str


def relative_path(elements: Sequence[str]) -> ua.RelativePath:
    """A RelativePath following hierarchical references through ``ns:Name`` elements."""
    path = ua.RelativePath()
    for element in elements:
        step = ua.RelativePathElement()
        step.ReferenceTypeId = node_id(ua.ObjectIds.HierarchicalReferences, 0)
        step.IsInverse = boolean(False)
        step.IncludeSubtypes = boolean(True)
        try:
            step.TargetName = ua.QualifiedName.from_string(element)
        except (ValueError, ua.UaError) as exc:
            raise NodeResolutionError(
                f"browse path element {element!r} is not a qualified name like 2:Name: {exc}"
            ) from exc
        path.Elements.append(step)
    return path


async def resolve(
    client: Client, mappings: Sequence[NodeMapping]
) -> tuple[list[tuple[NodeMapping, ua.NodeId]], list[Unresolved]]:
    """NodeIds of the mappings, in order, and the mappings that did not resolve."""
    by_path = [m for m in mappings if m.browse_path is not None]
    resolved_paths: dict[int, ua.NodeId | str] = {}
    objects = node_id(ua.ObjectIds.ObjectsFolder, 0)
    for start in range(0, len(by_path), _CHUNK):
        chunk = by_path[start : start + _CHUNK]
        results = await client.translate_browsepaths(
            objects, [relative_path(m.path_elements()) for m in chunk]
        )
        for mapping, result in zip(chunk, results, strict=True):
            if result.StatusCode.is_good() and result.Targets:
                target = result.Targets[0].TargetId
                resolved_paths[id(mapping)] = node_id(
                    target.Identifier, target.NamespaceIndex, target.NodeIdType
                )
            else:
                resolved_paths[id(mapping)] = (
                    f"browse path {mapping.browse_path} not found below Objects"
                    f" ({result.StatusCode.name})"
                )
    found: list[tuple[NodeMapping, ua.NodeId]] = []
    missing: list[Unresolved] = []
    for mapping in mappings:
        if mapping.node_id is not None:
            found.append((mapping, ua.NodeId.from_string(mapping.node_id)))
            continue
        outcome = resolved_paths[id(mapping)]
        if isinstance(outcome, str):
            missing.append(Unresolved(mapping, outcome))
        else:
            found.append((mapping, outcome))
    return found, missing
