"""Topic templates: ``plant/{line}/{machine}/{sensor}`` → a subscription filter and a matcher.

A placeholder fills one whole topic level; ``+`` matches a level that is not kept; a final
``#`` matches the rest. Matching is cached per topic because plants publish on a fixed set
of topics at high rates, and a dict lookup is cheaper than splitting the topic every time.
"""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")
_CACHE_LIMIT = 200_000


class TopicTemplate:
    """A parsed topic template; ``match`` returns the placeholder values or None."""

    def __init__(self, template: str) -> None:
        if not template or template.startswith("$"):
            raise ValueError(f"topic template {template!r} must be non-empty and not start with $")
        levels = template.split("/")
        self.template = template
        self.fields: list[tuple[int, str]] = []
        self._literals: list[tuple[int, str]] = []
        self.multi_level = False
        filter_levels = []
        for i, level in enumerate(levels):
            found = _PLACEHOLDER.match(level)
            if found:
                self.fields.append((i, found.group(1)))
                filter_levels.append("+")
            elif level == "#":
                if i != len(levels) - 1:
                    raise ValueError(f"topic template {template!r}: '#' must be the last level")
                self.multi_level = True
                filter_levels.append("#")
            elif level == "+":
                filter_levels.append("+")
            elif any(c in level for c in "{}+#"):
                raise ValueError(
                    f"topic template {template!r}: level {level!r} must be literal text, '+',"
                    " '#' or one whole placeholder such as {machine}"
                )
            else:
                self._literals.append((i, level))
                filter_levels.append(level)
        names = [name for _, name in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"topic template {template!r} repeats a placeholder")
        self.filter = "/".join(filter_levels)
        self._levels = len(levels) - (1 if self.multi_level else 0)
        self._cache: dict[str, dict[str, str] | None] = {}

    def match(self, topic: str) -> dict[str, str] | None:
        """Placeholder values of ``topic``, or None when it does not fit the template."""
        cache = self._cache
        if topic in cache:
            return cache[topic]
        levels = topic.split("/")
        result: dict[str, str] | None
        # MQTT's trailing '#' also matches its parent level: a/# matches a (Sparkplug NBIRTH
        # and NDEATH have no device level).
        fits = len(levels) >= self._levels if self.multi_level else len(levels) == self._levels
        if not fits or any(levels[i] != literal for i, literal in self._literals):
            result = None
        else:
            result = {name: levels[i] for i, name in self.fields}
            if any(not v for v in result.values()):
                result = None
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[topic] = result
        return result

    def subscription(self, shared_group: str | None = None) -> str:
        """The filter to subscribe to, as a shared subscription when a group is given."""
        return f"$share/{shared_group}/{self.filter}" if shared_group else self.filter
