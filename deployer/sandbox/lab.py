"""The lab: shared services every host uses (bridge namespace, proxy, ACME server, forwarders).

Started once on demand, recorded in STATE_DIR/lab.json, stopped when the last host goes (unless a
live pytest session holds a lease on it).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from deployer.sandbox import acme, cgroups, config, layers, network, proxy, state
from deployer.sandbox.proc import Proc, spawn, stop, wait_until

SERVICES_CGROUP = "lab"


def _listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def procs(record: dict | None) -> list[Proc]:
    return [Proc(**p) for p in (record or {}).get("procs", [])]


def healthy(record: dict | None) -> bool:
    """True when every recorded service runs and the namespaces and tmpfs are in place."""
    if not record:
        return False
    return (
        all(p.alive() for p in procs(record))
        and network.exists(config.LAB_NETNS)
        and network.exists(config.OUTER_NETNS)
        and layers.is_mounted(state.fs_dir())
    )


def _service_argvs(lab_dir: Path, logs: Path) -> list[tuple[str, list[str], dict | None]]:
    """(name, argv, env) of every lab service, after writing their configuration files."""
    filter_file, proxy_conf = lab_dir / "proxy-filter", lab_dir / "tinyproxy.conf"
    filter_file.write_text(proxy.render_filter(proxy.allow_list()))
    proxy_conf.write_text(proxy.render_config(filter_file, logs / "tinyproxy.log"))
    acme.ensure_certificates()
    pebble_conf = lab_dir / "pebble.json"
    pebble_conf.write_text(json.dumps(acme.pebble_config(), indent=2))
    services: list[tuple[str, list[str], dict | None]] = [
        ("tinyproxy", ["tinyproxy", "-d", "-c", str(proxy_conf)], None),
        ("challtestsrv", acme.challtestsrv_argv(), None),
        ("pebble", acme.pebble_argv(pebble_conf), acme.ACME_ENV),
    ]
    for port in (config.PROXY_PORT, config.ACME_PORT):
        forward = network.forward_argv(
            f"{config.LAB_GATEWAY}:{port}", config.OUTER_NETNS, f"127.0.0.1:{port}"
        )
        services.append((f"forward-in-{port}", network.in_netns(config.LAB_NETNS, forward), None))
    return services


def _spawn_service(name: str, argv: list[str], env: dict | None) -> Proc:
    if name == "pebble":  # pebble resolves names through challtestsrv
        wait_until(lambda: _listening(config.CHALL_MGMT_PORT), 10, "pebble-challtestsrv")
    groups = cgroups.paths(SERVICES_CGROUP, roots=config.CGROUP_ROOTS[:1])
    return spawn(argv, state.logs_dir() / f"{name}.log", name=name, env=env, cgroups=groups)


def _wait_services() -> None:
    wait_until(lambda: _listening(config.PROXY_PORT), 10, "tinyproxy")
    wait_until(acme.ready, 20, "pebble (ACME server)", interval=0.2)


def start() -> dict:
    """Bring the lab up from nothing (the caller holds the state lock and cleaned leftovers)."""
    layers.mount_tmpfs()
    network.attach_outer(os.getpid())  # /proc/1/ns/net is not always openable
    network.add(config.LAB_NETNS)
    network.ip_batch(config.LAB_NETNS, network.lab_setup_commands())
    record: dict = {"procs": [], "services": []}
    state.write(state.lab_file(), record)  # so a failure below is still cleaned up
    cgroups.create(SERVICES_CGROUP, roots=config.CGROUP_ROOTS[:1])
    lab_dir = config.STATE_DIR / "lab"
    lab_dir.mkdir(parents=True, exist_ok=True)
    for name, argv, env in _service_argvs(lab_dir, state.logs_dir()):
        record["services"].append({"name": name, "argv": argv, "env": env})
        record["procs"].append(_spawn_service(name, argv, env).to_dict())
        state.write(state.lab_file(), record)
    _wait_services()
    return record


def repairable(record: dict | None) -> bool:
    """True when only service processes died: namespaces and tmpfs (hence hosts) are intact."""
    return bool(record and record.get("services")) and (
        network.exists(config.LAB_NETNS)
        and network.exists(config.OUTER_NETNS)
        and layers.is_mounted(state.fs_dir())
    )


def repair(record: dict) -> None:
    """Restart dead services in place, so running hosts keep working; re-add DNS names."""
    for i, service in enumerate(record["services"]):
        if not Proc(**record["procs"][i]).alive():
            proc = _spawn_service(service["name"], service["argv"], service["env"])
            record["procs"][i] = proc.to_dict()
            state.write(state.lab_file(), record)
    _wait_services()
    for host in state.host_records():
        acme.add_name(f"{host['name']}.{config.DOMAIN}", config.outer_address(host["index"]))


def stop_services(record: dict | None) -> None:
    """Stop the lab's processes, namespaces, tmpfs and cgroup (each step tolerant)."""
    for proc in reversed(procs(record)):
        stop(proc)
    for group in cgroups.paths(SERVICES_CGROUP):
        cgroups.kill_all(group)
        cgroups.remove(group)
    network.delete(config.LAB_NETNS)
    network.delete(config.OUTER_NETNS)
    for point in layers.our_mounts():
        layers.unmount(Path(point))
    state.lab_file().unlink(missing_ok=True)
