"""Several apps on one host: each its own user, unit, domain, certificate and release listener.

One host for the module: the sample app (the host's domain) and hello (hello.<domain>, its own
name in the sandbox's ACME DNS) both bootstrapped by config; deploying and rolling back the
sample under load on hello leaves every hello answer a 200 from hello (no retries).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bootstrap_helpers import deployer, write_outputs
from release_helpers import make_version

from deployer.http import get
from deployer.sandbox import Host
from deployer.target import build_target, from_outputs

pytestmark = pytest.mark.e2e
HELLO = Path(__file__).resolve().parent / "apps" / "hello"


@dataclass
class TwoApps:
    host: Host
    config: Path
    tmp: Path
    hello_domain: str

    def cli(self, *args: str) -> object:
        proc = deployer(*args, "--config", str(self.config))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    def get(self, domain: str, path: str):
        return get(build_target({**from_outputs(self.host.outputs()), "domain": domain}), path)


@pytest.fixture(scope="module")
def two(lab, tmp_path_factory) -> Iterator[TwoApps]:
    from deployer.sandbox import acme

    host = lab.host(snapshot="provisioned")
    tmp = tmp_path_factory.mktemp("apps")
    out = host.outputs()
    hello_domain = f"hello.{out['domain']}"
    acme.add_name(hello_domain, out["address"])
    outputs = write_outputs(host, tmp)
    sample = make_version(tmp, "1.0.0")
    config = tmp / "deployer.toml"
    config.write_text(f"""
[stages.app]
outputs = "{outputs}"
[stages.app.app]
source = "{sample}"
include = ["app"]
requirements = "app/requirements.txt"
version_file = "app/VERSION"
migrations = "app/alembic.ini"
ready_path = "/ready"
env = {{ ENVIRONMENT = "production" }}
secrets_from_env = ["SECRET_KEY"]

[stages.hello]
outputs = "{outputs}"
domain = "{hello_domain}"
[stages.hello.app]
name = "hello"
source = "{HELLO}"
asgi = "hello.api:application"
requirements = "hello/requirements.txt"
health_path = "/healthz"
workers = 1
""")
    two = TwoApps(host, config, tmp, hello_domain)
    two.cli("bootstrap", "--stage", "app")
    two.cli("bootstrap", "--stage", "hello")
    yield two
    acme.remove_name(hello_domain)
    lab.release(host)


def served_cert_names(two: TwoApps, domain: str) -> list[str]:
    import socket
    import ssl

    from cryptography import x509

    out = two.host.outputs()
    ctx = ssl.create_default_context(cafile=out["acme_root"])
    with (
        socket.create_connection((out["address"], 443), timeout=5) as sock,
        ctx.wrap_socket(sock, server_hostname=domain) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.DNSName)


def test_each_app_answers_on_its_own_domain_certificate_and_socket(two: TwoApps) -> None:
    domain = two.host.outputs()["domain"]
    hello = two.get(two.hello_domain, "/healthz")
    assert hello.status == 200 and json.loads(hello.body) == {"hello": "world", "app": "hello"}
    sample = two.get(domain, "/health")
    assert sample.status == 200 and json.loads(sample.body)["version"] == "1.0.0"
    assert served_cert_names(two, two.hello_domain) == [two.hello_domain]
    assert served_cert_names(two, domain) == [domain]
    links = two.host.ssh("readlink /var/lib/deployer/app/serving.sock "
                         "/var/lib/deployer/hello/serving.sock").stdout.split()  # fmt: skip
    assert [p.split("/")[3] for p in links] == ["app", "hello"]  # each app its own socket
    listed = two.cli("apps", "app").stdout
    for name, on in (("app", domain), ("hello", two.hello_domain)):
        cells = [line.replace("│", " ").split()[:2] for line in listed.splitlines()]
        assert [name, on] in cells, listed


def test_deploy_and_rollback_of_one_app_leave_the_other_untouched(two: TwoApps) -> None:
    from deployer.release.loadcheck import Background

    out = two.host.outputs()
    pid = "systemctl show -p MainPID --value $(systemctl list-units --plain --no-legend " \
          "--state=active 'hello@*' | cut -d' ' -f1)"  # fmt: skip
    before = two.host.ssh(pid).stdout.strip()
    url = f"https://{two.hello_domain}/healthz"
    load = Background(url, requests=600, concurrency=5, max_seconds=300,
                      resolve_to=out["address"], cafile=out["acme_root"])
    with load:
        two.cli("deploy", "app", "--source", str(make_version(two.tmp, "2.0.0")))
        assert json.loads(two.get(out["domain"], "/health").body)["version"] == "2.0.0"
        two.cli("rollback", "app")
    result = load.result
    assert result.failed == 0, result.summary()
    assert set(result.statuses) == {200}, result.summary()
    assert json.loads(two.get(out["domain"], "/health").body)["version"] == "1.0.0"
    assert two.host.ssh(pid).stdout.strip() == before  # hello's instance never restarted
