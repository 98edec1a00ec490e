"""The sandbox's public operations: up, down, list (each safe to call from a new process)."""

from __future__ import annotations

from pathlib import Path

from deployer.sandbox import cgroups, config, image, lab, layers, lb, network, snapshot, state
from deployer.sandbox.doctor import require
from deployer.sandbox.errors import SandboxError
from deployer.sandbox.hosts import Host, boot, teardown, validate_name
from deployer.sandbox.proc import Proc


def _running(record: dict) -> bool:
    return any(p["name"] == "nspawn" and Proc(**p).alive() for p in record.get("procs", []))


def _cleanup_stale() -> None:
    """Remove what a crashed earlier run left: dead hosts, a broken lab, unrecorded leftovers."""
    record = state.read(state.lab_file())
    if record is not None and not lab.healthy(record) and lab.repairable(record):
        lab.repair(record)
    elif record is not None and not lab.healthy(record):
        for host in state.host_records():
            teardown(host)
        lab.stop_services(record)
    for host in state.host_records():
        if not _running(host):
            teardown(host)
    for record in lb.records():
        if not lb.LoadBalancer(**record).alive():
            lb.teardown(record)
    if state.read(state.lab_file()) is None:
        sweep()


def sweep() -> None:
    """Remove anything of ours no state file records: processes in our cgroups, cgroups,
    namespaces, mounts, then the host and lab records."""
    for group in cgroups.ours():
        cgroups.kill_all(group)
        cgroups.remove(group)
    for name in network.ours():
        network.delete(name)
    for point in layers.our_mounts():
        layers.unmount(Path(point))
    for path in state.hosts_dir().glob("*") if state.hosts_dir().is_dir() else []:
        path.unlink()
    for record in lb.records():
        lb.teardown(record)
    state.lab_file().unlink(missing_ok=True)


def _free_index(taken: set[int]) -> int:
    for index in range(2, config.MAX_HOSTS + 2):
        if index not in taken:
            return index
    raise SandboxError(f"too many hosts (max {config.MAX_HOSTS}); run: deployer sandbox down --all")


def _taken() -> set[int]:
    return {r["index"] for r in state.host_records()}


def _lowers(snap: str | None) -> list[Path]:
    """Overlay lower layers (top first) for a host from the base image or a snapshot."""
    sources, cas = image.apt_sources_file(), image.local_cas()
    base_key = image.cache_key(sources, cas)
    archive = image.image_path(base_key)
    if not archive.is_file():
        archive = image.build(base_key, sources, cas)
    base = layers.unpack(archive)
    if snap is None:
        return [base]
    if snap not in layers.SNAPSHOTS:
        raise SandboxError(f"unknown snapshot {snap!r}; known: {', '.join(layers.SNAPSHOTS)}")
    key = layers.snapshot_key(base_key)
    path = layers.snapshot_path(key)
    if not path.is_file():
        path = snapshot.build(key, base, _free_index(_taken()), layers.PROVISIONED_PACKAGES)
    return [layers.unpack(path), base]


def ensure_lab() -> None:
    """Start the shared services unless they already run (caller holds the lock)."""
    _cleanup_stale()
    if state.read(state.lab_file()) is None:
        lab.start()


def up(
    names: list[str],
    snapshot: str | None = None,
    lb_name: str | None = None,
    health_path: str = "/health",
) -> list[Host]:
    """Boot hosts `names` (already running ones are returned as they are); with `lb_name`,
    put them in the pool of that lab load balancer (started when it does not run yet)."""
    for name in [*names, *([lb_name] if lb_name else [])]:
        validate_name(name)
    if lb_name in names:
        raise SandboxError(f"{lb_name!r} cannot name both a host and the load balancer")
    require()
    with state.locked():
        ensure_lab()
        hosts = _boot_all(names, snapshot)
        if lb_name:
            if state.read(state.host_file(lb_name)):
                raise SandboxError(f"{lb_name!r} is a host, not a load balancer")
            lb.ensure(lb_name, names, health_path)
        return hosts


def _boot_all(names: list[str], snapshot: str | None) -> list[Host]:
    """Boot the hosts not running yet (the caller holds the lock and started the lab)."""
    lowers = _lowers(snapshot)
    existing = {r["name"]: r for r in state.host_records()}
    result = []
    for name in names:
        if name in existing:
            if existing[name]["snapshot"] != snapshot:
                raise SandboxError(
                    f"host {name} already runs from snapshot {existing[name]['snapshot']}",
                    fix=f"deployer sandbox down {name}",
                )
            result.append(Host(**existing[name]))
            continue
        try:
            result.append(boot(name, _free_index(_taken()), lowers, snapshot))
        except BaseException:
            record = state.read(state.host_file(name))
            if record:
                teardown(record)
            raise
    return result


def _stop_lab_if_unused(force: bool = False) -> bool:
    """Stop the lab when forced, or when no host and no live session use it; True if stopped."""
    if force or (not state.host_records() and not state.live_leases()):
        for record in lb.records():
            lb.teardown(record)
        lab.stop_services(state.read(state.lab_file()))
        sweep()
        return True
    return False


def stop_hosts(names: list[str]) -> list[str]:
    """Stop the named hosts only (the lab keeps running); returns the names stopped."""
    with state.locked():
        chosen = [r for r in state.host_records() if r["name"] in names]
        for record in chosen:
            _leave_pools(record["name"])
            teardown(record)
        return [r["name"] for r in chosen]


def _leave_pools(host: str) -> None:
    """Drain `host` out of every load balancer pool it is in (before it stops)."""
    for record in lb.records():
        lb.remove_member(lb.LoadBalancer(**record), host)


def stop_load_balancers(names: list[str]) -> list[str]:
    """Stop the named load balancers (their hosts keep running)."""
    with state.locked():
        chosen = [r for r in lb.records() if r["name"] in names]
        for record in chosen:
            lb.teardown(record)
        return [r["name"] for r in chosen]


def down(names: list[str] | None = None, all: bool = False) -> list[str]:
    """Stop hosts `names` (or every host with all=True); returns the names stopped.

    The lab stops with the last host unless a pytest session holds a lease on it; all=True
    stops it regardless and sweeps every leftover of ours.
    """
    if not all and not names:
        raise SandboxError("name the hosts to stop, or pass all=True (--all)")
    with state.locked():
        balancers = [r for r in lb.records() if all or r["name"] in (names or [])]
        for record in balancers:
            lb.teardown(record)
        chosen = [r for r in state.host_records() if all or r["name"] in (names or [])]
        for record in chosen:
            _leave_pools(record["name"])
            teardown(record)
        _stop_lab_if_unused(force=all)
        return [r["name"] for r in balancers + chosen]


def release_lab(lease: Path, names: list[str]) -> bool:
    """End a session: stop its hosts, drop its lease, stop the lab if nobody else uses it.

    Returns True when this session was the lab's last user (and everything was stopped).
    """
    with state.locked():
        for record in state.host_records():
            if record["name"] in names:
                teardown(record)
        lease.unlink(missing_ok=True)
        return _stop_lab_if_unused()


def list_hosts() -> list[Host]:
    """Hosts recorded on disk whose container still runs."""
    return [Host(**r) for r in state.host_records() if _running(r)]


def list_load_balancers() -> list[lb.LoadBalancer]:
    """Lab load balancers whose HAProxy still runs."""
    return [b for b in (lb.LoadBalancer(**r) for r in lb.records()) if b.alive()]


def fleet_outputs(name: str) -> dict:
    """The output contract of load balancer `name`: its pool's hosts plus the balancer."""
    balancer = next((b for b in list_load_balancers() if b.name == name), None)
    if balancer is None:
        raise SandboxError(f"no running sandbox load balancer named {name!r}")
    running = {h.name: h for h in list_hosts()}
    return balancer.outputs([running[m] for m in balancer.members if m in running])
