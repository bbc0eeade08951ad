"""The view controls and the URL, kept in step; the plant clock in the header.

One callback owns the URL's query and the controls that mirror it (Dash allows a component
to be both input and output of the same callback): a changed control writes the query, a
changed query (a link, the back button, a bookmark) sets the controls. The refresh interval
and pause act on the shared ``tick`` interval.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dash import Dash, Input, Output, State, ctx, no_update

from dashboard.context import DashboardContext
from dashboard.layouts.shell import NAV
from dashboard.view import normalise_local, parse_view


def sync_view(
    search: str | None,
    trigger: str | None,
    preset: str | None,
    refresh: int | None,
    theme: list[str] | None,
    start: str | None,
    end: str | None,
    default_refresh_s: float,
) -> tuple[Any, ...]:
    """(new query or no_update, preset, from, to, refresh, theme, interval ms, paused)."""
    view = parse_view(search)
    new_search: Any = no_update
    if trigger == "range-preset" and preset and preset != "custom":
        view = replace(view, range_label=preset, start_local=None, end_local=None)
    elif trigger == "range-apply":
        start, end = normalise_local(start), normalise_local(end)
        if start and end and end > start:
            view = replace(view, start_local=start, end_local=end)
    elif trigger == "refresh-choice" and refresh is not None:
        view = replace(view, refresh_s=int(refresh))
    elif trigger == "theme-choice":
        view = replace(view, theme="hp" if theme else "dark")
    if trigger not in (None, "url"):
        query = view.query()
        if query != (search or ""):
            new_search = query
    refresh_s = view.refresh_s if view.refresh_s is not None else int(default_refresh_s)
    return (
        new_search,
        "custom" if view.custom else view.range_label,
        (view.start_local or "").replace("T", " ") or None,
        (view.end_local or "").replace("T", " ") or None,
        refresh_s,
        ["hp"] if view.theme == "hp" else [],
        max(1000, refresh_s * 1000),
        refresh_s == 0,
    )


def register(app: Dash, context: DashboardContext) -> None:
    base = context.base_path

    @app.callback(
        Output("url", "search"),
        Output("range-preset", "value"),
        Output("range-from", "value"),
        Output("range-to", "value"),
        Output("refresh-choice", "value"),
        Output("theme-choice", "value"),
        Output("tick", "interval"),
        Output("tick", "disabled"),
        *[Output(f"nav-{label.lower()}", "href") for label, _ in NAV],
        Input("url", "search"),
        Input("range-preset", "value"),
        Input("range-apply", "n_clicks"),
        Input("refresh-choice", "value"),
        Input("theme-choice", "value"),
        State("range-from", "value"),
        State("range-to", "value"),
    )
    def _sync(
        search: str | None,
        preset: str | None,
        _: int | None,
        refresh: int | None,
        theme: list[str] | None,
        start: str | None,
        end: str | None,
    ) -> tuple[Any, ...]:
        trigger = ctx.triggered_id if isinstance(ctx.triggered_id, str) else None
        out = sync_view(
            search, trigger, preset, refresh, theme, start, end, context.config.refresh_s
        )
        query = out[0] if isinstance(out[0], str) else (search or "")
        return (*out, *[f"{base}{path}{query}" for _, path in NAV])

    @app.callback(Output("plant-clock", "children"), Output("plant-clock", "title"),
                  Input("tick", "n_intervals"))  # fmt: skip
    def _clock(_: int | None) -> tuple[str, str]:
        now = context.clock.now()
        mode = "data clock" if context.clock.mode == "data" else "wall clock"
        return (
            f"Plant time {context.clock.label(now, '%a %d %b %H:%M')}",
            f"{now:%Y-%m-%d %H:%M:%S} UTC ({mode})",
        )
