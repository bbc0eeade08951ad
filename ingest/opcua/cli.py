"""``millwright opcua browse`` (registered by ``ingest.cli``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import typer
from pydantic import ValidationError

from millwright.core.commands import CliGroups

opcua_app = typer.Typer(help="OPC-UA servers: browse the address space, write a config snippet.")


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
    from ingest.opcua.browse import browse, config_snippet, format_table
    from ingest.opcua.security import connect, save_server_certificate

    if save_server_cert is not None:
        digest = await save_server_certificate(config, save_server_cert)
        typer.echo(f"server certificate saved to {save_server_cert} (sha256 {digest})")
        typer.echo("compare the fingerprint with the server's, then add it to --trust")
        return
    client = await connect(config, auto_reconnect=False)
    try:
        variables = await browse(client, depth=depth)
    finally:
        await client.disconnect()
    typer.echo(format_table(variables))
    typer.echo(f"{len(variables)} variables")
    if write_config is not None:
        write_config.write_text(config_snippet(config, variables))
        typer.echo(f"config snippet written to {write_config}")


def register_opcua(groups: CliGroups) -> None:
    """Add ``opcua`` to the CLI."""
    groups.root.add_typer(opcua_app, name="opcua")
