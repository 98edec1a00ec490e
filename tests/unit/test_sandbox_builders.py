"""Pure builders of the sandbox: command lines and ip batches, checked without booting anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.sandbox import config, hosts, image, layers, network, snapshot
from deployer.sandbox.errors import SandboxError


def test_mmdebstrap_reads_the_machines_own_sources() -> None:
    argv = image.mmdebstrap_argv(Path("/tmp/root"), Path("/etc/apt/sources.list.d/x.sources"))
    assert argv[:3] == ["mmdebstrap", "--mode=root", "--variant=minbase"]
    assert argv[-2:] == ["/tmp/root", "/etc/apt/sources.list.d/x.sources"]
    include = next(a for a in argv if a.startswith("--include="))
    assert set(include.removeprefix("--include=").split(",")) >= {"systemd", "openssh-server",
                                                                  "sudo", "python3"}
    assert not any("://" in a for a in argv)  # no mirror written into the project


def test_nspawn_runs_in_the_hosts_namespace_without_registering() -> None:
    argv = hosts.nspawn_argv("web", Path("/r"), "deployer-sb-web")
    assert argv[0] == "systemd-nspawn" and "--boot" in argv
    assert "--network-namespace-path=/run/netns/deployer-sb-web" in argv
    assert {"--register=no", "--keep-unit", "--resolv-conf=off"} <= set(argv)


def test_forwarder_listens_here_and_connects_in_the_target_namespace() -> None:
    argv = network.forward_argv("127.0.0.1:2202", "deployer-sb-lab", "10.77.0.2:22")
    assert argv[:3] == ["systemd-socket-activate", "-l", "127.0.0.1:2202"]
    assert argv[4:] == ["nsenter", "--net=/run/netns/deployer-sb-lab", network.PROXYD,
                        "10.77.0.2:22"]


def test_host_forwards_bind_loopback_only() -> None:
    host = hosts.Host(name="web", index=5)
    listens = [listen for listen, _ in hosts.forwards(host)]
    assert listens == [f"127.0.0.1:{config.ssh_port(5)}", "127.0.1.5:80", "127.0.1.5:443"]
    assert all(listen.startswith("127.") for listen in listens)


def test_veth_goes_into_the_host_namespace_as_eth0() -> None:
    lines = network.host_lab_commands("web", 3)
    assert lines[0] == "neigh flush to 10.77.0.3"  # the address may have had another MAC
    assert lines[1] == "link add dsbv3 type veth peer name eth0 netns deployer-sb-web"
    assert "link set dsbv3 master dsb0" in lines
    assert "addr add 10.77.0.3/24 dev eth0" in network.host_inner_commands(3)
    # no delayed ACKs on the lab network (the forwarders leave Nagle on), on either side
    quick = "route replace 10.77.0.0/24 dev eth0 src 10.77.0.3 quickack 1"
    assert network.host_inner_commands(3)[-1] == quick
    assert network.lab_setup_commands()[-1].endswith("src 10.77.0.1 quickack 1")


def test_overlay_lists_lower_layers_top_first() -> None:
    argv = layers.overlay_argv([Path("/snap"), Path("/base")], Path("/u"), Path("/w"), Path("/m"))
    assert argv[-2] == "lowerdir=/snap:/base,upperdir=/u,workdir=/w"
    assert argv[-1] == "/m"


@pytest.mark.parametrize("name", ["Web", "1web", "web-", "a" * 32, "we b", "lab", "x;rm"])
def test_bad_host_names_are_rejected(name: str) -> None:
    with pytest.raises(SandboxError):
        hosts.validate_name(name)


@pytest.mark.parametrize("name", ["web", "staging", "t123-4", "a" * 31])
def test_good_host_names_pass(name: str) -> None:
    assert hosts.validate_name(name) == name


def test_snapshot_install_command_quotes_package_names() -> None:
    command = snapshot.install_command(["nginx", "evil;reboot"])
    assert command.startswith("sudo sh -c ")
    assert "'\"'\"'evil;reboot'\"'\"'" in command  # quoted twice: inner argv, outer sh -c
    assert "--no-install-recommends" in command


def test_snapshot_scrub_removes_per_host_files(tmp_path: Path) -> None:
    for rel in ("etc/ssh/ssh_host_ed25519_key", "etc/hostname", "home/deploy/.ssh/authorized_keys",
                "etc/nginx/nginx.conf"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    snapshot.scrub(tmp_path)
    assert not (tmp_path / "etc/ssh/ssh_host_ed25519_key").exists()
    assert not (tmp_path / "etc/hostname").exists()
    assert not (tmp_path / "home/deploy/.ssh").exists()
    assert (tmp_path / "etc/nginx/nginx.conf").exists()


def test_load_balancer_config_terminates_tls_on_loopback_and_checks_readiness() -> None:
    from deployer.sandbox import lb

    balancer = lb.LoadBalancer(name="front", index=200, health_path="/ready")
    text = lb.render_config(balancer, [("web1", "10.77.0.2"), ("web2", "10.77.0.3")])
    binds = [line.split()[1] for line in text.splitlines() if line.strip().startswith("bind ")]
    assert binds == ["127.0.1.200:443", "127.0.1.200:80"]  # loopback only
    assert f"ssl crt {balancer.pem}" in text
    assert "http-check send meth GET uri /ready ver HTTP/1.1 hdr Host front.deployer.test" in text
    assert "http-check expect status 200" in text and "http-check disable-on-404" in text
    assert "retries 0" in text  # a failed backend reaches the client: load tests see it
    for name, address in (("web1", "10.77.0.2"), ("web2", "10.77.0.3")):
        assert (f"server {name} {address}:80 namespace deployer-sb-lab source 10.77.0.200"
                in text)


def test_load_balancer_certificate_comes_from_the_sandbox_acme_only() -> None:
    from deployer.sandbox import acme, lb

    argv = lb.certbot_argv(lb.LoadBalancer(name="front", index=200))
    server = argv[argv.index("--server") + 1]
    assert server == acme.directory_url(inside=False) == "https://127.0.0.1:14000/dir"
    assert "--preferred-challenges" in argv and argv[argv.index("--preferred-challenges") + 1] \
        == "dns"
    hook = argv[argv.index("--manual-auth-hook") + 1]
    assert hook.endswith("http://127.0.0.1:8055/set-txt")  # the ACME server's own DNS
    assert all(not a.startswith("/etc/letsencrypt") for a in argv)


def test_fleet_outputs_list_every_host_and_the_balancer() -> None:
    from deployer.sandbox import lb

    balancer = lb.LoadBalancer(name="front", index=200, members=["web1", "web2"])
    members = [hosts.Host(name="web1", index=2, host_key="ssh-ed25519 AAAA1"),
               hosts.Host(name="web2", index=3, host_key="ssh-ed25519 AAAA2")]
    out = balancer.outputs(members)
    assert out["domain"] == "front.deployer.test" and out["url"] == "https://front.deployer.test"
    assert [h["name"] for h in out["hosts"]] == ["web1", "web2"]
    assert out["hosts"][1] | {"ssh_key": ""} == {
        "name": "web2", "host": "127.0.0.1", "ssh_port": config.ssh_port(3),
        "ssh_user": "deploy", "ssh_host_key": "ssh-ed25519 AAAA2", "ssh_key": "",
        "private_address": "10.77.0.3"}
    assert out["load_balancer"] == {"name": "front", "dns_name": "front.deployer.test",
                                    "address": "127.0.1.200", "tls": "lb",
                                    "source_range": "10.77.0.200/32"}
