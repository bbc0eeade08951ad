"""The OPC-UA collector's pure parts: status → quality, overflow bit, conversions, gaps,
config validation and the package's public surface."""

from __future__ import annotations

import pytest
from asyncua import ua
from pydantic import ValidationError

from ingest.opcua.config import NodeMapping, OpcUaSourceConfig
from ingest.opcua.gaps import Gap, GapTracker
from ingest.opcua.values import NotNumeric, is_overflow, make_converter, quality_of

S = ua.StatusCodes


@pytest.mark.parametrize(
    ("status", "quality"),
    [
        (S.Good, 0),
        (S.GoodClamped, 0),
        (S.UncertainLastUsableValue, 1),
        (S.UncertainSensorNotAccurate, 1),
        (S.BadSensorFailure, 2),
        (S.BadWaitingForInitialData, 2),
        (0xC0000000, 2),  # reserved severity 11 is bad
    ],
)
def test_quality_follows_the_severity_bits(status: int, quality: int) -> None:
    assert quality_of(status) == quality


def test_overflow_is_the_data_value_info_bit() -> None:
    data_value_info = 0x400  # InfoType = DataValue
    assert is_overflow(S.Good | data_value_info | 0x80)
    assert is_overflow(S.UncertainLastUsableValue | data_value_info | 0x80)
    assert not is_overflow(S.Good | data_value_info)
    assert not is_overflow(S.Good | 0x80)  # overflow bit without InfoType DataValue


def mapping(**kw: object) -> NodeMapping:
    return NodeMapping.model_validate({"node_id": "ns=2;s=x", "machine": "m", "sensor": "s", **kw})


def test_conversions_compose_field_index_and_value_map() -> None:
    class Status:
        def __init__(self) -> None:
            self.modes = ["idle", "run"]
            self.temp = 71.5

    assert make_converter(mapping(value_map={"run": 1, "idle": 0}))("run") == 1.0
    assert make_converter(mapping(index=1))([1.0, 2.5]) == 2.5
    assert make_converter(mapping(field="temp"))(Status()) == 71.5
    assert make_converter(mapping(field="modes", index=1, value_map={"run": 7}))(Status()) == 7.0
    assert make_converter(mapping(value_map={"a": 1}))(ua.LocalizedText("a")) == 1.0
    assert make_converter(mapping())(True) == 1.0


@pytest.mark.parametrize(
    ("kw", "value", "reason"),
    [
        ({"value_map": {"run": 1}}, "stop", "'stop' is not in value_map"),
        ({"index": 5}, [1.0], "index 5 out of range for an array of 1"),
        ({"index": 0}, 3.0, "index 0 configured but the value is float value"),
        ({"field": "nope"}, {"temp": 1}, "no field 'nope'"),
        ({}, "text", "string 'text' is not a number; configure value_map"),
        ({}, [1, 2], "array of 2 elements is not a number"),
    ],
)
def test_what_cannot_be_converted_says_why(
    kw: dict[str, object], value: object, reason: str
) -> None:
    with pytest.raises(NotNumeric, match=reason):
        make_converter(mapping(**kw))(value)


def test_gap_spans_the_lossy_nodes_of_a_machine_and_ignores_unchanged_ones() -> None:
    tracker = GapTracker(["m1", "m1", "m2"], close_after_s=5)
    tracker.seen(0, 100)
    tracker.seen(1, 120)
    tracker.seen(2, 50)
    tracker.lost(now=0.0)
    tracker.seen(2, 50)  # m2 did not change: nothing lost
    tracker.seen(0, 400)
    assert tracker.due(now=1.0) == []  # node 1 of m1 has not reported again
    tracker.seen(1, 300)
    assert tracker.due(now=1.0) == [Gap("m1", 100, 400, 2)]
    assert not tracker.recovering


def test_a_silent_node_does_not_hold_a_gap_open_forever() -> None:
    tracker = GapTracker(["m1", "m1"], close_after_s=5)
    tracker.seen(0, 100)
    tracker.seen(1, 100)
    tracker.lost(now=0.0)
    tracker.seen(0, 200)
    assert tracker.due(now=4.0) == []
    assert tracker.due(now=5.0) == [Gap("m1", 100, 200, 1)]


def test_config_refuses_inconsistent_security_and_mappings() -> None:
    base = {"name": "s", "endpoint": "opc.tcp://h:4840"}
    with pytest.raises(ValidationError, match="needs security_mode Sign or SignAndEncrypt"):
        OpcUaSourceConfig.model_validate({**base, "security_policy": "Basic256Sha256"})
    with pytest.raises(ValidationError, match="needs certificate and private_key"):
        OpcUaSourceConfig.model_validate(
            {**base, "security_policy": "Basic256Sha256", "security_mode": "Sign"}
        )
    with pytest.raises(ValidationError, match="exactly one of node_id or browse_path"):
        OpcUaSourceConfig.model_validate({**base, "nodes": [{"machine": "m", "sensor": "s"}]})
    with pytest.raises(ValidationError, match="expected a NodeId"):
        OpcUaSourceConfig.model_validate(
            {**base, "nodes": [{"node_id": "ns=x;q=1", "machine": "m", "sensor": "s"}]}
        )
    with pytest.raises(ValidationError, match="m/s is mapped twice"):
        OpcUaSourceConfig.model_validate(
            {**base, "nodes": [{"node_id": "i=1", "machine": "m", "sensor": "s"}] * 2}
        )
    with pytest.raises(ValidationError, match=r"expected opc\.tcp://"):
        OpcUaSourceConfig.model_validate({"name": "s", "endpoint": "http://h"})


def test_errors_are_ingest_errors() -> None:
    from ingest.errors import IngestError
    from ingest.opcua import errors

    for name in dir(errors):
        obj = getattr(errors, name)
        if (
            isinstance(obj, type)
            and issubclass(obj, Exception)
            and obj.__module__ == errors.__name__
        ):
            assert issubclass(obj, IngestError), name
