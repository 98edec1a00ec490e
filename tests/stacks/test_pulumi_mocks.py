"""Each cloud's program under Pulumi's documented unit-test pattern: ``pulumi.runtime.set_mocks``,
every test under ``@pulumi.runtime.test``, the checks inside ``apply`` on the outputs of the
resources the program created and of the stack itself.

The other stack tests read the recorded inputs instead (deployer.plan.engine, which refuses to
finish with an output left unresolved); these go through the SDK's own output path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
from stack_helpers import example_config

from deployer.plan.recorder import Recorder

Built = tuple[dict[str, Any], dict[tuple[str, str], pulumi.Resource]]  # (class, name)


@pytest.fixture
def program(request: pytest.FixtureRequest) -> Callable[[], Built]:
    """Mocks and config for the stack in ``request.param``; the returned function builds the
    program (call it inside the test, so that ``pulumi.runtime.test`` awaits what it starts)."""
    asyncio.set_event_loop(asyncio.new_event_loop())  # no loop left over by earlier tests
    pulumi.runtime.set_all_config(example_config(request.param), [])
    pulumi.runtime.set_mocks(
        Recorder(preview=False), project="deployer", stack=request.param, preview=False
    )

    def build() -> Built:
        from stacks.program import build, read_settings

        created: dict[tuple[str, str], pulumi.Resource] = {}

        def collect(args: pulumi.ResourceTransformationArgs) -> None:
            created[type(args.resource).__name__, args.name] = args.resource

        pulumi.runtime.register_stack_transformation(collect)
        return build(read_settings()), created

    return build


def on(stack: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("program", [stack], indirect=True)


def rules(items: list[dict], **match: object) -> list[dict]:
    return [r for r in items if all(r.get(k) == v for k, v in match.items())]


@on("aws-prod")
@pulumi.runtime.test
def test_aws_ssh_only_from_the_operator_database_private_and_protected(
    program: Callable[[], Built],
) -> pulumi.Output:
    outputs, made = program()
    web, db = made["SecurityGroup", "app-prod-web"], made["Instance", "app-prod-db"]

    def verify(values: list) -> None:
        ingress, public, encrypted, protected, url = values
        ssh = rules(ingress, from_port=22)
        assert ssh and all(r["cidr_blocks"] == ["203.0.113.7/32"] for r in ssh)
        assert {r["from_port"] for r in ingress} == {22, 80, 443}
        assert public is False and encrypted is True and protected is True
        assert url.startswith("postgresql") and "sslmode=require" in url

    return pulumi.Output.all(
        web.ingress,
        db.publicly_accessible,
        db.storage_encrypted,
        db.deletion_protection,
        outputs["database_url"],
    ).apply(verify)


@on("gcp-prod")
@pulumi.runtime.test
def test_gcp_database_has_no_public_ip_and_run_serves_its_image(
    program: Callable[[], Built],
) -> pulumi.Output:
    outputs, made = program()
    db, service = made["DatabaseInstance", "app-prod-db"], made["Service", "app-prod-app"]

    def verify(values: list) -> None:
        settings, protected, template, url = values
        assert settings["ip_configuration"]["ipv4_enabled"] is False
        assert settings["ip_configuration"]["ssl_mode"] == "ENCRYPTED_ONLY"
        assert protected is True
        assert template["containers"][0]["image"].split("@")[1].startswith("sha256:")
        assert url == "https://api.example.com"

    return pulumi.Output.all(
        db.settings, db.deletion_protection, service.template, outputs["url"]
    ).apply(verify)


@on("azure-prod")
@pulumi.runtime.test
def test_azure_https_only_and_database_closed_to_the_internet(
    program: Callable[[], Built],
) -> pulumi.Output:
    _, made = program()
    app, db = made["WebApp", "app-prod-app"], made["Server", "app-prod-db"]

    def verify(values: list) -> None:
        https_only, site, network = values
        assert https_only is True
        assert site["min_tls_version"] == "1.2" and site["ftps_state"] == "Disabled"
        assert network["public_network_access"] == "Disabled"

    return pulumi.Output.all(app.https_only, app.site_config, db.network).apply(verify)


@on("digitalocean-prod")
@pulumi.runtime.test
def test_digitalocean_firewalls_admit_the_operator_and_the_droplet_only(
    program: Callable[[], Built],
) -> pulumi.Output:
    outputs, made = program()
    firewall = made["Firewall", "app-prod-firewall"]
    db_firewall = made["DatabaseFirewall", "app-prod-db-firewall"]
    droplet = made["Droplet", "app-prod-server"]

    def verify(values: list) -> None:
        inbound, db_rules, droplet_id, host_key = values
        ssh = rules(inbound, port_range="22")
        assert ssh and all(r["source_addresses"] == ["203.0.113.7/32"] for r in ssh)
        assert db_rules == [
            {"type": "droplet", "value": droplet_id},
            {"type": "ip_addr", "value": "203.0.113.7/32"},  # the operator, to grant the schema
        ]
        assert host_key.startswith("ssh-ed25519 ")

    return pulumi.Output.all(
        firewall.inbound_rules, db_firewall.rules, droplet.id, outputs["ssh_host_key"]
    ).apply(verify)
