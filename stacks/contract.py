"""The output contract every stack exports; defined once here (the README lists its keys)."""

from __future__ import annotations

from typing import Any

REQUIRED = ("cloud", "stage", "domain", "url")
VM_REQUIRED = ("host", "ssh_port", "ssh_user", "ssh_host_key", "hosts", "load_balancer")
SECRET = ("database_url",)


def outputs(
    *,
    cloud: str,
    stage: str,
    domain: str,
    host: Any = None,
    ssh_user: str | None = None,
    ssh_host_key: Any = None,
    ssh_port: int = 22,
    database_url: Any = None,
    artifact: dict[str, str] | None = None,
    hosts: list[dict[str, Any]] | None = None,
    load_balancer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The flat outputs mapping; VM fields only when ``host`` is given; the DB URL as a secret.

    VM stacks export every server in ``hosts`` (``host_entry``) and ``load_balancer``
    (``load_balancer_entry``, or None: one server, TLS on the host); ``host``/``ssh_*`` stay the
    first server's, for callers that know one host only.

    Platform stacks export ``artifact``: the config keys of the build they deployed
    (``deployer:image``, or ``deployer:appPackage`` + ``deployer:packageSha256``); promotion
    reads it from here, the only record of what a stage really runs.
    """
    import pulumi

    result: dict[str, Any] = {
        "cloud": cloud,
        "stage": stage,
        "domain": domain,
        "url": f"https://{domain}",
    }
    if host is not None:
        result |= {
            "host": host,
            "ssh_port": ssh_port,
            "ssh_user": ssh_user,
            "ssh_host_key": ssh_host_key,
            "hosts": hosts or [],
            "load_balancer": load_balancer,
        }
    if artifact is not None:
        result["artifact"] = dict(artifact)
    if database_url is not None:
        result["database_url"] = pulumi.Output.secret(database_url)
    return result


def host_entry(
    *,
    name: str,
    host: Any,
    ssh_user: str,
    ssh_host_key: Any,
    private_address: Any,
    ssh_port: int = 22,
) -> dict[str, Any]:
    """One server of ``hosts``: where to SSH (pinned key) and where the load balancer reaches it."""
    return {
        "name": name,
        "host": host,
        "ssh_port": ssh_port,
        "ssh_user": ssh_user,
        "ssh_host_key": ssh_host_key,
        "private_address": private_address,
    }


def load_balancer_entry(
    *, name: Any, dns_name: Any, source_range: str, address: Any = None
) -> dict[str, Any]:
    """The cloud's load balancer: TLS terminates there (``tls: "lb"``); the servers serve plain
    HTTP and trust forwarded headers only from ``source_range``, where its nodes connect from."""
    return {
        "name": name,
        "dns_name": dns_name,
        "address": address,
        "tls": "lb",
        "source_range": source_range,
    }


def postgres_url(
    user: Any, password: Any, host: Any, port: Any, database: Any, **query: str
) -> Any:
    """A SQLAlchemy URL ``postgresql+psycopg://user:password@host:port/db?...`` (secret Output)."""
    from urllib.parse import quote, urlencode

    import pulumi

    def render(args: list) -> str:
        u, p, h, n, db = args
        suffix = f"?{urlencode(query)}" if query else ""
        login = f"{quote(u, safe='')}:{quote(p, safe='')}"
        return f"postgresql+psycopg://{login}@{h}:{int(n)}/{db}{suffix}"

    parts = pulumi.Output.all(user, password, host, port, database)
    return pulumi.Output.secret(parts.apply(render))
