"""The roof: every benchmark and evaluation (``millwright bench …``, ``millwright eval …``).

Ingest, OPC-UA, features and scoring benches; the JSSP model against the textbook one and LNS;
C-MAPSS RUL; the plant policy evaluation (:mod:`bench.plant`); the bench data
(``bench/data``). Bench code may use any stage's internals; nothing outside ``bench`` and
the tests imports it.

It ships as the ``bench`` extra (``pip install 'millwright[bench]'``): the package imports
only when the extra's requirements are installed, and the CLI says how to install them when
they are not.
"""

try:
    import psutil  # noqa: F401  (the bench extra: per-process CPU accounting in the benches)
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the installation
    raise ModuleNotFoundError(
        "the bench package needs the bench extra: pip install 'millwright[bench]'", name="bench"
    ) from exc
