"""Decoders are pure: exact rows for every format, and fuzzed input only ever yields reasons."""

from __future__ import annotations

import json
import math
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.decoders import decode
from ingest.sparkplug import SparkplugDecoder
from ingest.topics import TopicTemplate
from tests.ingest.sparkplug_support import MS, spb

RX = 1_714_564_800_123_000  # receive time, µs


def test_topic_templates_match_whole_levels_and_build_filters() -> None:
    t = TopicTemplate("plant/{line}/{machine}/{sensor}")
    assert t.filter == "plant/+/+/+"
    assert t.subscription("g1") == "$share/g1/plant/+/+/+"
    assert t.match("plant/L1/press-1/temp") == {
        "line": "L1",
        "machine": "press-1",
        "sensor": "temp",
    }
    assert t.match("plant/L1/press-1") is None
    assert t.match("other/L1/press-1/temp") is None
    assert TopicTemplate("a/{machine}/#").match("a/m1/x/y") == {"machine": "m1"}


def test_number_and_json_shapes() -> None:
    assert decode(b"-1.5e3", "auto", machine="m", sensor="s", receive_us=RX).rows == [
        ("m", "s", RX, -1500.0, 8)
    ]
    one = decode(
        b'{"ts": "2024-05-01T12:00:00.5+02:00", "value": 2}',
        "json",
        machine="m",
        sensor="s",
        receive_us=RX,
    )
    assert one.rows == [("m", "s", MS * 1000 - 2 * 3600 * 1_000_000 + 500_000, 2.0, 0)]
    cols = decode(
        json.dumps({"ts": [MS, MS + 1], "values": {"a": [1, 2], "b": [3, 4]}}).encode(),
        "auto",
        machine="m",
        sensor=None,
        receive_us=RX,
    )
    assert cols.rows == [
        ("m", "a", MS * 1000, 1.0, 0),
        ("m", "a", (MS + 1) * 1000, 2.0, 0),
        ("m", "b", MS * 1000, 3.0, 0),
        ("m", "b", (MS + 1) * 1000, 4.0, 0),
    ]
    untimed = decode(
        b'{"values": {"a": true}}', "json", machine="m", sensor=None, receive_us=RX, booleans=True
    )
    assert untimed.rows == [("m", "a", RX, 1.0, 8)]


def test_partial_batches_keep_good_items_and_explain_the_rest() -> None:
    d = decode(
        b'[{"value": 1, "ts": 1714564800000}, {"value": "x"}, 5]',
        "json",
        machine="m",
        sensor="s",
        receive_us=RX,
    )
    assert d.rows == [("m", "s", MS * 1000, 1.0, 0)]
    assert d.reason is not None and d.reason.startswith("2 of 3 items unusable")


def test_sparkplug_births_aliases_gaps_and_deaths() -> None:
    dec = SparkplugDecoder(reorder_window=1)  # no reordering allowed: a jump is a gap at once
    birth = dec.decode(
        "spBv1.0/G/NBIRTH/edge1",
        spb(
            0,
            [
                {"name": "bdSeq", "long_value": 1, "datatype": 8},
                {"name": "temp", "alias": 1, "datatype": 10, "double_value": 20.5},
                {"name": "delta", "alias": 2, "datatype": 3, "int_value": 2**32 - 5},  # Int32 -5
                {"name": "label", "alias": 3, "datatype": 12, "string_value": "x"},
            ],
        ),
        RX,
    )
    assert birth.rows == [
        ("edge1", "temp", MS * 1000, 20.5, 0),
        ("edge1", "delta", MS * 1000, -5.0, 0),
    ]
    assert [e.kind for e in birth.events] == ["online"]
    assert birth.reason == "metric 'label' is not numeric (string_value)"
    dbirth = dec.decode(
        "spBv1.0/G/DBIRTH/edge1/press",
        spb(
            1,
            [
                {"name": "rpm", "alias": 10, "datatype": 9, "float_value": 1.5},
            ],
        ),
        RX,
    )
    assert dbirth.rows == [("press", "rpm", MS * 1000, 1.5, 0)]
    data = dec.decode(
        "spBv1.0/G/DDATA/edge1/press",
        spb(
            2,
            [
                {"alias": 10, "float_value": 2.5, "timestamp": MS + 1},
            ],
        ),
        RX,
    )
    assert data.rows == [("press", "rpm", (MS + 1) * 1000, 2.5, 0)] and not data.events
    gap = dec.decode("spBv1.0/G/NDATA/edge1", spb(7, [{"alias": 1, "double_value": 3.0}]), RX)
    assert gap.rows == [("edge1", "temp", MS * 1000, 3.0, 0)]
    (event,) = gap.events
    assert (event.kind, event.details["expected_seq"], event.details["missing"]) == ("gap", 3, 4)
    assert gap.rebirths == [("G", "edge1")]
    unknown = dec.decode("spBv1.0/G/NDATA/edge1", spb(8, [{"alias": 99, "int_value": 1}]), RX)
    assert unknown.rows == [] and "unknown metric alias 99" in (unknown.reason or "")
    assert unknown.rebirths == []  # one rebirth request per rebirth_interval_s
    death = dec.decode(
        "spBv1.0/G/NDEATH/edge1", spb(None, [{"name": "bdSeq", "long_value": 1}]), RX
    )
    assert sorted((e.machine, e.kind) for e in death.events) == [
        ("edge1", "offline"),
        ("press", "offline"),
    ]
    after = dec.decode("spBv1.0/G/NDATA/edge1", spb(9, [{"alias": 1, "double_value": 1.0}]), RX)
    assert after.rows == [] and after.reason  # aliases forgotten until the next birth


def test_sparkplug_without_timestamps_uses_receive_time_flagged() -> None:
    dec = SparkplugDecoder()
    r = dec.decode("spBv1.0/G/NDATA/e", spb(0, [{"name": "t", "double_value": 1.0}], ts=None), RX)
    assert r.rows == [("e", "t", RX, 1.0, 8)]


VALID = [
    b"21.5",
    b'{"ts": 1714564800000, "value": 1.5}',
    b'{"ts": "2024-05-01T12:00:00Z", "values": {"a": 1, "b": 2}}',
    b'{"ts": [1714564800000, 1714564800001], "values": {"a": [1, 2]}}',
    b'[{"sensor": "x", "ts": 1714564800000, "value": 3}]',
    b'{"readings": [{"sensor": "x", "value": 3, "quality": "bad"}]}',
]


def _check(payload: bytes, fmt: str) -> None:
    d = decode(payload, fmt, machine="m", sensor="s", receive_us=RX)
    # an empty batch ([] or {"readings": []}) is the one case with neither rows nor reason
    assert d.reason is None or isinstance(d.reason, str)
    for machine, sensor, ts, value, quality in d.rows:
        assert machine and sensor and isinstance(ts, int) and 0 <= ts < 2**63
        assert math.isfinite(value) and quality in (0, 1, 2, 8, 9, 10)


def _mutate(data: st.DataObject, payload: bytes) -> bytes:
    raw = bytearray(payload)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        i = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[i] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[i:]
        else:
            raw[i:i] = data.draw(st.binary(max_size=8))
    return bytes(raw)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512), st.sampled_from(["auto", "number", "json"]))
def test_fuzz_random_bytes_never_crash(payload: bytes, fmt: str) -> None:
    _check(payload, fmt)


@settings(max_examples=600, deadline=None)
@given(st.data(), st.sampled_from(VALID))
def test_fuzz_mutated_payloads_never_crash(data: st.DataObject, payload: bytes) -> None:
    _check(_mutate(data, payload), "auto")


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    ["ts", "value", "values", "readings", "sensor", "machine", "quality", "x"]
                ),
                children,
                max_size=5,
            )
        ),
        max_leaves=20,
    )
)
def test_fuzz_json_structures_never_crash(doc: object) -> None:
    _check(json.dumps(doc).encode(), "json")


SPB_VALID = spb(0, [{"name": "t", "alias": 1, "datatype": 10, "double_value": 1.0}])


@settings(max_examples=400, deadline=None)
@given(st.data(), st.sampled_from(["NBIRTH", "NDATA", "DDATA", "DBIRTH", "NDEATH", "DDEATH"]))
def test_fuzz_sparkplug_never_crashes(data: st.DataObject, kind: str) -> None:
    dec = SparkplugDecoder()
    topic = f"spBv1.0/G/{kind}/e" + ("/d" if kind.startswith("D") else "")
    payload = data.draw(st.one_of(st.binary(max_size=256), st.just(SPB_VALID)))
    result = dec.decode(topic, _mutate(data, payload), RX)
    for row in result.rows:
        assert math.isfinite(row[3]) and isinstance(row[2], int)


def test_columnar_shape_decodes_to_numpy_columns() -> None:
    doc = {"ts": [MS, MS + 1, MS + 2], "values": {"a": [1, 2.5, True], "b": [4, 5, 6]}}
    d = decode(
        json.dumps(doc).encode(), "json", machine="m", sensor=None, receive_us=RX, booleans=True
    )
    assert d.columns is not None and d.reason is None and len(d.columns) == 6
    assert d.rows[:3] == [
        ("m", "a", MS * 1000, 1.0, 0),
        ("m", "a", (MS + 1) * 1000, 2.5, 0),
        ("m", "a", (MS + 2) * 1000, 1.0, 0),
    ]
    # anything unusual takes the per-value path, which names the problem
    bad = {"ts": [MS, MS + 1], "values": {"a": [1, "x"], "b": [1, 2]}}
    slow = decode(json.dumps(bad).encode(), "json", machine="m", sensor=None, receive_us=RX)
    assert slow.columns is None and ("m", "b", MS * 1000, 1.0, 0) in slow.rows
    assert slow.reason is not None and "values['a']" in slow.reason


_CELL = (
    st.integers(-(2**70), 2**70)
    | st.floats()
    | st.booleans()
    | st.none()
    | st.text(max_size=3)
    | st.lists(st.integers(), max_size=2)
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(MS - 10**6, MS + 10**6), max_size=4),
    st.dictionaries(
        st.sampled_from(["a", "b", "c", ""]),
        st.lists(st.integers(0, 10**6) | st.floats(allow_nan=False), max_size=4)
        | st.lists(_CELL, max_size=4),
        min_size=1,
        max_size=3,
    ),
)
def test_columnar_fast_path_matches_the_per_value_path(
    ts: list[int], values: dict[str, list[object]]
) -> None:
    payload = json.dumps({"ts": ts, "values": values}).encode()
    fast = decode(payload, "json", machine="m", sensor=None, receive_us=RX)
    with patch("ingest.decoders._columnar", return_value=None):
        slow = decode(payload, "json", machine="m", sensor=None, receive_us=RX)
    assert fast.rows == slow.rows
    assert fast.reason == slow.reason
    if fast.columns is not None:
        assert fast.reason is None and not fast.items
