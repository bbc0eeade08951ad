"""Topic templates match as MQTT filters do."""

from ingest.topics import TopicTemplate


def test_placeholders_fill_whole_levels() -> None:
    template = TopicTemplate("plant/{line}/{machine}/{sensor}")
    assert template.filter == "plant/+/+/+"
    assert template.match("plant/l1/m1/temp") == {"line": "l1", "machine": "m1", "sensor": "temp"}
    assert template.match("plant/l1/m1") is None
    assert template.match("plant/l1/m1/temp/x") is None
    assert template.match("other/l1/m1/temp") is None


def test_trailing_hash_also_matches_the_parent_level() -> None:
    template = TopicTemplate("spBv1.0/{group}/+/{node}/#")
    assert template.filter == "spBv1.0/+/+/+/#"
    assert template.match("spBv1.0/g/NBIRTH/edge") == {"group": "g", "node": "edge"}
    assert template.match("spBv1.0/g/DDATA/edge/dev1") == {"group": "g", "node": "edge"}
    assert template.match("spBv1.0/g/NBIRTH") is None
