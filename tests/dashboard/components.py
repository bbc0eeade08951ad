"""Reading Dash component trees in tests: their text, and components by id or class."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def walk(node: Any) -> Iterator[Any]:
    if isinstance(node, list | tuple):
        for item in node:
            yield from walk(item)
        return
    if node is None or isinstance(node, str | int | float):
        return
    yield node
    yield from walk(getattr(node, "children", None))


def text_of(node: Any) -> str:
    parts: list[str] = []

    def visit(item: Any) -> None:
        if isinstance(item, list | tuple):
            for child in item:
                visit(child)
        elif isinstance(item, str | int | float):
            parts.append(str(item))
        elif item is not None:
            visit(getattr(item, "children", None))

    visit(node)
    return " ".join(parts)


def by_id(node: Any, component_id: Any) -> Any:
    return next(c for c in walk(node) if getattr(c, "id", None) == component_id)


def with_class(node: Any, cls: str) -> list[Any]:
    return [c for c in walk(node) if cls in (getattr(c, "className", None) or "").split()]
