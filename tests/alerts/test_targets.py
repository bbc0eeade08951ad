"""SSRF guard: loopback, private, link-local and metadata targets refused unless allowed."""

from __future__ import annotations

import pytest

from alerts.errors import TargetRefused, TargetUnresolvable
from alerts.targets import check_target


def fixed(*addresses: str):  # type: ignore[no-untyped-def]
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://0.0.0.0/", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://10.1.2.3/hook", "private"),
        ("http://172.16.0.9/hook", "private"),
        ("http://192.168.1.10/hook", "private"),
        ("http://100.64.0.1/hook", "private"),
        ("http://[fc00::1]/hook", "private"),
        ("http://169.254.10.10/hook", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ],
)
def test_internal_literals_are_refused_by_default(url: str, kind: str) -> None:
    with pytest.raises(TargetRefused, match=kind):
        check_target(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/hook", "http://[::1]/hook", "http://10.0.0.5/", "http://[fe80::1]/"]
)
def test_allow_private_lets_internal_targets_through(url: str) -> None:
    assert check_target(url, allow_private=True)


def test_metadata_needs_its_own_flag() -> None:
    with pytest.raises(TargetRefused, match="metadata"):
        check_target("http://169.254.169.254/", allow_private=True)
    assert check_target("http://169.254.169.254/", allow_private=True, allow_metadata=True)


def test_every_resolved_address_is_checked() -> None:
    # One public and one private A record: the private one is enough to refuse.
    resolver = fixed("93.184.216.34", "10.0.0.7")
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.7"):
        check_target("https://hooks.example.com/x", resolver=resolver)
    assert check_target("https://hooks.example.com/x", resolver=fixed("93.184.216.34"))


def test_names_resolving_to_loopback_are_refused() -> None:
    with pytest.raises(TargetRefused, match="loopback"):
        check_target("http://localhost:9/hook")


def test_unresolvable_and_non_http_urls() -> None:
    with pytest.raises(TargetUnresolvable):
        check_target("http://no-such-host.invalid/hook")
    with pytest.raises(TargetRefused):
        check_target("ftp://example.com/x")


def test_check_endpoints_reports_each_verdict() -> None:
    from pydantic import SecretStr

    from alerts.config import AlertsConfig, EndpointConfig
    from alerts.service import check_endpoints

    secret = [SecretStr("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    config = AlertsConfig(
        endpoints=[
            EndpointConfig(name="meta", url="http://169.254.169.254/", secrets=secret),
            EndpointConfig(name="lan", url="http://10.0.0.2/", secrets=secret, allow_private=True),
        ]
    )
    verdicts = check_endpoints(config)
    assert verdicts["lan"] is None
    assert verdicts["meta"] is not None and "metadata" in verdicts["meta"]
