"""Sparkplug B decoding beyond the basics: compression, reordering, rebirths, controls,
quality properties and names (pure decoder, no I/O)."""

from __future__ import annotations

import zlib

import pytest

from ingest.sparkplug import COMPRESSED_UUID, SparkplugDecoder, rebirth_payload
from millwright.core import sparkplug_b_pb2 as pb  # messages made at import: no stubs
from tests.ingest.sparkplug_support import MS, compressed, spb

RX = 1_714_564_900_000_000


def _birth(dec: SparkplugDecoder, node: str = "e") -> None:
    birth = dec.decode(
        f"spBv1.0/G/NBIRTH/{node}",
        spb(0, [{"name": "t", "alias": 1, "datatype": 10, "double_value": 0.0}]),
        RX,
    )
    assert birth.reason is None


@pytest.mark.parametrize("algorithm", ["DEFLATE", "GZIP", None])
def test_compressed_payloads_are_inflated_and_stored(algorithm: str | None) -> None:
    dec = SparkplugDecoder()
    _birth(dec)
    inner = spb(1, [{"alias": 1, "double_value": 21.5, "timestamp": MS + 5}])
    result = dec.decode("spBv1.0/G/NDATA/e", compressed(inner, algorithm), RX)
    assert result.reason is None and result.events == []
    assert result.rows == [("e", "t", (MS + 5) * 1000, 21.5, 0)]


def test_a_broken_compressed_payload_is_a_reason_not_a_crash() -> None:
    dec = SparkplugDecoder()
    outer = pb.Payload(uuid=COMPRESSED_UUID, body=b"not deflate at all")  # type: ignore[attr-defined]
    result = dec.decode("spBv1.0/G/NDATA/e", outer.SerializeToString(), RX)
    assert result.rows == [] and result.reason == "compressed payload is not valid DEFLATE data"
    bomb = pb.Payload(uuid=COMPRESSED_UUID, body=zlib.compress(b"\0" * (17 * 1024 * 1024)))  # type: ignore[attr-defined]
    result = dec.decode("spBv1.0/G/NDATA/e", bomb.SerializeToString(), RX)
    assert result.reason == "compressed payload inflates to more than 16 MiB"


def test_reordered_messages_raise_no_gap_and_keep_every_value() -> None:
    dec = SparkplugDecoder(reorder_window=8)
    _birth(dec)
    rows = []
    for seq in [1, 3, 2, 4, 7, 5, 6, 8, 255 % 256]:  # the last one: a late duplicate of 255
        result = dec.decode(
            "spBv1.0/G/NDATA/e", spb(seq, [{"alias": 1, "double_value": float(seq)}]), RX
        )
        assert result.events == [] and result.rebirths == [], seq
        rows += result.rows
    assert [r[3] for r in rows] == [1.0, 3.0, 2.0, 4.0, 7.0, 5.0, 6.0, 8.0, 255.0]


def test_reordering_across_the_wrap_at_256_is_not_a_gap() -> None:
    dec = SparkplugDecoder(reorder_window=8)
    _birth(dec)
    for seq in range(1, 254):
        assert not dec.decode("spBv1.0/G/NDATA/e", spb(seq, []), RX).events
    for seq in [255, 254, 1, 0, 2]:
        assert dec.decode("spBv1.0/G/NDATA/e", spb(seq, []), RX).events == [], seq


def test_a_real_gap_is_reported_once_with_the_exact_count_and_one_rebirth() -> None:
    dec = SparkplugDecoder(reorder_window=4)
    _birth(dec)
    seen = []
    rebirths = []
    for seq in [1, 2, 5, 6, 7, 8, 9]:  # 3 and 4 never come
        result = dec.decode("spBv1.0/G/NDATA/e", spb(seq, []), RX + seq)
        seen += [(e.kind, e.details["expected_seq"], e.details["missing"]) for e in result.events]
        rebirths += result.rebirths
    assert seen == [("gap", 3, 2)]  # given up when the window (4 seqs ahead) filled
    assert rebirths == [("G", "e")]
    late = dec.decode("spBv1.0/G/NDATA/e", spb(3, []), RX + 20)
    assert late.events == []  # arrived after it was given up: late, not a new gap


def test_a_hole_is_given_up_after_the_timeout_and_at_death() -> None:
    dec = SparkplugDecoder(reorder_window=16, reorder_timeout_s=1.0)
    _birth(dec)
    assert dec.decode("spBv1.0/G/NDATA/e", spb(3, []), RX).events == []  # 1, 2 missing
    later = dec.decode("spBv1.0/G/NDATA/e", spb(4, []), RX + 1_500_000)
    assert [(e.kind, e.details["missing"]) for e in later.events] == [("gap", 2)]
    assert dec.decode("spBv1.0/G/NDATA/e", spb(7, []), RX + 1_600_000).events == []
    death = dec.decode("spBv1.0/G/NDEATH/e", spb(None, []), RX + 1_700_000)
    assert [(e.kind, e.details.get("missing")) for e in death.events] == [
        ("gap", 2),
        ("offline", None),
    ]


def test_a_quiet_node_s_hole_is_declared_by_the_timer_with_one_rebirth() -> None:
    dec = SparkplugDecoder(reorder_window=16, reorder_timeout_s=1.0, rebirth_interval_s=30)
    _birth(dec)
    _birth(dec, "f")
    assert dec.decode("spBv1.0/G/NDATA/e", spb(3, []), RX).events == []  # 1, 2 held
    assert dec.decode("spBv1.0/G/NDATA/f", spb(1, []), RX).events == []  # in order
    early = dec.expire(RX + 900_000)
    assert early.events == [] and early.rebirths == []  # still within the timeout
    due = dec.expire(RX + 1_100_000)
    assert [(e.machine, e.kind, e.details["missing"]) for e in due.events] == [("e", "gap", 2)]
    assert due.rebirths == [("G", "e")]
    assert dec.expire(RX + 5_000_000).events == []  # declared once
    assert dec.decode("spBv1.0/G/NDATA/e", spb(2, []), RX + 5_100_000).events == []  # late
    assert dec.decode("spBv1.0/G/NDATA/e", spb(4, []), RX + 5_200_000).events == []
    # a second hole within the rebirth interval: a gap, but no second rebirth request
    dec.decode("spBv1.0/G/NDATA/e", spb(6, []), RX + 5_300_000)
    again = dec.expire(RX + 6_400_000)
    assert [e.details["missing"] for e in again.events] == [1] and again.rebirths == []


def test_unknown_alias_asks_for_a_rebirth_rate_limited() -> None:
    dec = SparkplugDecoder(rebirth_interval_s=10)
    first = dec.decode("spBv1.0/G/NDATA/e", spb(0, [{"alias": 5, "double_value": 1}]), RX)
    assert first.rebirths == [("G", "e")] and "unknown metric alias 5" in (first.reason or "")
    again = dec.decode("spBv1.0/G/NDATA/e", spb(1, [{"alias": 5, "double_value": 1}]), RX + 1)
    assert again.rebirths == []
    later = dec.decode(
        "spBv1.0/G/NDATA/e", spb(2, [{"alias": 5, "double_value": 1}]), RX + 11_000_000
    )
    assert later.rebirths == [("G", "e")]


def test_rebirth_command_payload() -> None:
    message = pb.Payload()  # type: ignore[attr-defined]
    message.ParseFromString(rebirth_payload(MS))
    (metric,) = message.metrics
    assert (metric.name, metric.datatype, metric.boolean_value) == (
        "Node Control/Rebirth",
        11,
        True,
    )


def test_controls_and_properties_are_not_sensors() -> None:
    dec = SparkplugDecoder()
    birth = dec.decode(
        "spBv1.0/G/DBIRTH/e/d",
        spb(
            0,
            [
                {"name": "Node Control/Rebirth", "alias": 1, "datatype": 11, "boolean_value": 0},
                {"name": "Device Control/Reboot", "alias": 2, "datatype": 11, "boolean_value": 0},
                {"name": "Properties/Hardware Make", "alias": 3, "datatype": 3, "int_value": 7},
                {"name": "bdSeq", "datatype": 8, "long_value": 3},
                {"name": "temp", "alias": 4, "datatype": 10, "double_value": 20.0},
            ],
        ),
        RX,
    )
    assert [r[1] for r in birth.rows] == ["temp"] and birth.reason is None
    data = dec.decode(
        "spBv1.0/G/DDATA/e/d",
        spb(1, [{"alias": 1, "boolean_value": 1}, {"alias": 3, "int_value": 8}]),
        RX,
    )
    assert data.rows == [] and data.reason is None


def test_quality_property_becomes_the_reading_quality() -> None:
    p = pb.Payload(timestamp=MS, seq=0)  # type: ignore[attr-defined]
    for name, code in [("good", 192), ("uncertain", 64), ("bad", 0), ("stale", 500)]:
        m = p.metrics.add(name=name, datatype=10, double_value=1.0)
        m.properties.keys.append("Quality")
        m.properties.values.add(type=3, int_value=code)
    p.metrics.add(name="plain", datatype=10, double_value=2.0)
    rows = SparkplugDecoder().decode("spBv1.0/G/NDATA/e", p.SerializeToString(), RX).rows
    assert [(r[1], r[4]) for r in rows] == [
        ("good", 0),
        ("uncertain", 1),
        ("bad", 2),
        ("stale", 2),
        ("plain", 0),
    ]


def test_bad_metric_names_cost_that_metric_and_bad_node_names_the_message() -> None:
    dec = SparkplugDecoder()
    result = dec.decode(
        "spBv1.0/G/NDATA/e",
        spb(
            0,
            [
                {"name": "a\x00b", "datatype": 10, "double_value": 1.0},
                {"name": "x" * 3000, "datatype": 10, "double_value": 2.0},
                {"name": "ok", "datatype": 10, "double_value": 3.0},
                {"name": "Cafe\u0301", "datatype": 10, "double_value": 4.0},
            ],
        ),
        RX,
    )
    assert [(r[1], r[3]) for r in result.rows] == [("ok", 3.0), ("Caf\u00e9", 4.0)]
    assert result.reasons == [
        "Sparkplug metric name 'a\\x00b' contains a NUL character",
        "Sparkplug metric name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... is 3000 characters"
        " long (at most 200)",
    ]
    node = dec.decode(f"spBv1.0/G/NDATA/{'n' * 300}", spb(0, [{"name": "t"}]), RX)
    assert node.rows == [] and node.reason is not None
    assert node.reason.startswith("Sparkplug edge node name 'nnn")
