"""``millwright opcua browse`` (registered by ``ingest.cli``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import typer
from pydantic import ValidationError

from millwright.core.commands import CliGroups

opcua_app = typer.Typer(
    help="OPC-UA servers: browse the address space, write a config snippet, make the client"
    " certificate."
)
cert_app = typer.Typer(help="The collector's OPC-UA client certificate.")
opcua_app.add_typer(cert_app, name="cert")


@cert_app.command("create")
def cert_create_command(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to write the certificate and key.")
    ] = Path("pki"),
    application_uri: Annotated[
        str, typer.Option(help="Must equal application_uri in the [[ingest.opcua]] config.")
    ] = "urn:millwright:collector",
    name: Annotated[str, typer.Option(help="Common name and file name stem.")] = (
        "millwright-collector"
    ),
    hostname: Annotated[
        list[str], typer.Option("--hostname", help="DNS names in the SAN (default: this host).")
    ] = [],  # noqa: B006
    days: Annotated[int, typer.Option(min=1, help="Validity in days.")] = 3650,
    overwrite: Annotated[bool, typer.Option("--overwrite")] = False,
) -> None:
    """Make a self-signed client certificate (application URI SAN, OPC-UA key usage) and its
    key, and say what the server must trust."""
    from ingest.opcua.certs import create_client_certificate

    try:
        made = create_client_certificate(
            directory,
            application_uri=application_uri,
            name=name,
            hostnames=hostname or None,
            days=days,
            overwrite=overwrite,
        )
    except (ValueError, FileExistsError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"certificate: {made.certificate} (also {made.certificate_pem})")
    typer.echo(f"private key: {made.private_key} (owner-only; keep it on this host)")
    typer.echo(f"application URI: {made.application_uri}; valid until {made.not_after:%Y-%m-%d}")
    typer.echo(f"sha256: {made.sha256}")
    typer.echo(
        f"On the server, trust {made.certificate} (copy it into its trusted certificates"
        " folder, or accept it from its rejected list), then configure:"
    )
    typer.echo(
        f'  certificate = "{made.certificate}"\n  private_key = "{made.private_key}"\n'
        f'  application_uri = "{made.application_uri}"'
    )


@opcua_app.command("browse")
def browse_command(
    endpoint: Annotated[str, typer.Argument(help="opc.tcp://host:port/path")],
    depth: Annotated[int, typer.Option(min=1, max=20, help="Levels below Objects.")] = 4,
    write_config: Annotated[
        Path | None, typer.Option("--write-config", help="Write a TOML snippet here.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Source name in the snippet.")] = None,
    policy: Annotated[str, typer.Option(help="None, Basic256Sha256, ...")] = "None",
    mode: Annotated[str, typer.Option(help="None, Sign, SignAndEncrypt")] = "None",
    certificate: Annotated[Path | None, typer.Option(help="Client certificate.")] = None,
    private_key: Annotated[Path | None, typer.Option(help="Client private key.")] = None,
    application_uri: Annotated[str, typer.Option()] = "urn:millwright:collector",
    trust: Annotated[
        list[Path], typer.Option("--trust", help="Trusted server certificate (file or dir).")
    ] = [],  # noqa: B006
    allow_untrusted: Annotated[bool, typer.Option("--allow-untrusted")] = False,
    username: Annotated[str | None, typer.Option()] = None,
    password: Annotated[
        str | None, typer.Option(envvar="MILLWRIGHT_OPCUA_PASSWORD", help="Prompted if needed.")
    ] = None,
    save_server_cert: Annotated[
        Path | None,
        typer.Option("--save-server-cert", help="Save the server's certificate (to review)."),
    ] = None,
) -> None:
    """Print node ids, browse paths, data types and current values; optionally write a
    ready-to-edit config snippet (an ingest.opcua table)."""
    from ingest.opcua.config import OpcUaSourceConfig
    from ingest.opcua.errors import OpcUaError

    if username is not None and password is None:
        password = typer.prompt(f"password for {username}", hide_input=True)
    try:
        config = OpcUaSourceConfig.model_validate(
            {
                "name": name or (urlparse(endpoint).hostname or "opcua"),
                "endpoint": endpoint,
                "security_policy": policy,
                "security_mode": mode,
                "certificate": certificate,
                "private_key": private_key,
                "application_uri": application_uri,
                "trusted_certificates": trust,
                "allow_untrusted_server": allow_untrusted,
                "username": username,
                "password": password,
            }
        )
    except ValidationError as exc:
        typer.echo(f"invalid options: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        asyncio.run(_browse(config, depth, write_config, save_server_cert))
    except OpcUaError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


async def _browse(
    config: Any, depth: int, write_config: Path | None, save_server_cert: Path | None
) -> None:
    from ingest.opcua.browse import (
        browse,
        config_snippet,
        format_table,
        revised_publishing_interval,
    )
    from ingest.opcua.security import connect, save_server_certificate

    if save_server_cert is not None:
        digest = await save_server_certificate(config, save_server_cert)
        typer.echo(f"server certificate saved to {save_server_cert} (sha256 {digest})")
        typer.echo("compare the fingerprint with the server's, then add it to --trust")
        return
    client = await connect(config, auto_reconnect=False)
    probe_echo = _DropRecords("BadNoSubscription")  # the answer to our probe's last publish
    protocol_log = logging.getLogger("asyncua.client.ua_client.UASocketProtocol")
    protocol_log.addFilter(probe_echo)
    try:
        variables = await browse(client, depth=depth)
        publishing = await revised_publishing_interval(client, config.publishing_interval_ms)
    finally:
        await client.disconnect()
        protocol_log.removeFilter(probe_echo)
    typer.echo(format_table(variables))
    typer.echo(f"{len(variables)} variables")
    if write_config is not None:
        snippet = config_snippet(config, variables, publishing_interval_ms=publishing)
        write_config.write_text(snippet)
        typer.echo(f"config snippet written to {write_config}")


class _DropRecords(logging.Filter):
    """Drops log records containing a text (an expected, harmless asyncua complaint)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def filter(self, record: logging.LogRecord) -> bool:
        return self.text not in record.getMessage()


def register_opcua(groups: CliGroups) -> None:
    """Add ``opcua`` to the CLI."""
    groups.root.add_typer(opcua_app, name="opcua")
