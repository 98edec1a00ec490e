"""TLS at a load balancer: the target's mode from the outputs, nginx and nftables for it, no
certbot on hosts; a stage's hosts list assembled into fleet members."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer.fleet.members import members
from deployer.steps import web
from deployer.target import TargetError, build_target, from_outputs

LB = {"name": "front", "dns_name": "front.example.com", "address": "127.0.1.200", "tls": "lb",
      "source_range": "10.0.0.0/16"}


def _lb_target(**changes):
    return build_target({"host": "10.0.1.5", "domain": "front.example.com", "tls": "lb",
                         "lb_source": "10.0.0.0/16", **changes})


def test_outputs_with_a_load_balancer_switch_tls_to_it() -> None:
    data = from_outputs({"cloud": "sandbox", "stage": "f", "load_balancer": LB,
                         "hosts": [{"host": "127.0.0.1", "ssh_port": 2202}]})
    assert data["tls"] == "lb" and data["lb_source"] == "10.0.0.0/16"
    assert data["domain"] == "front.example.com" and data["address"] == "127.0.1.200"
    assert "host" not in data  # each host comes from the hosts list
    assert "tls" not in from_outputs({"host": "203.0.113.5", "domain": "a.example.com"})


@pytest.mark.parametrize(
    "fields",
    [{"tls": "lb"}, {"lb_source": "10.0.0.0/16"}, {"tls": "lb", "lb_source": "10.0.0.1/8"},
     {"tls": "lb", "lb_source": "not a range"}],
)
def test_lb_mode_needs_a_valid_range_and_a_range_needs_lb_mode(fields) -> None:
    with pytest.raises(TargetError):
        build_target({"host": "10.0.1.5", "domain": "a.example.com", **fields})


def test_nginx_behind_the_balancer_serves_plain_http_and_trusts_only_its_range() -> None:
    site = web.nginx_files(_lb_target(), tls=True)[-1].data.decode()
    assert "listen 443" not in site and "ssl_certificate" not in site
    assert "return 301" not in site and "acme-challenge" not in site
    assert "set_real_ip_from 10.0.0.0/16;" in site and "real_ip_header X-Forwarded-For;" in site
    assert site.count("set_real_ip_from") == 1
    assert "10.0.0.0/16 1;" in site  # X-Forwarded-Proto believed from the balancer only
    assert "proxy_set_header X-Forwarded-Proto $forwarded_proto_app;" in site
    single = web.nginx_files(build_target({"host": "h", "domain": "a.example.com"}),
                             tls=True)[-1].data.decode()
    assert "set_real_ip_from" not in single and "listen 443 ssl" in single
    assert "return 301 https://" in single


def test_firewall_behind_the_balancer_admits_http_from_its_range_alone() -> None:
    assert web.firewall_ports(["22"], "10.0.0.0/16") == [22]
    assert web.firewall_ports(["22"]) == [22, 80, 443]
    text = web.nftables_file([22], "10.0.0.0/16").data.decode()
    assert "ip saddr 10.0.0.0/16 tcp dport 80 accept" in text
    assert "tcp dport { 22 } accept" in text
    assert "ip6 saddr fd00::/64 tcp dport 80" in web.nftables_file([22], "fd00::/64").data.decode()
    assert "saddr" not in web.nftables_file([22, 80, 443]).data.decode()


def test_no_certbot_on_hosts_behind_a_balancer() -> None:
    from types import SimpleNamespace

    from deployer.steps.facts import parse_facts

    assert web.certificate_changes(parse_facts(""), _lb_target()) == []
    assert "load balancer" in web.Certbot().skipped(SimpleNamespace(target=_lb_target()))
    single = build_target({"host": "h", "domain": "a.example.com"})
    assert web.Certbot().skipped(SimpleNamespace(target=single)) == ""
    assert web.certificate_changes(parse_facts(""), single)  # a certificate to issue


def _config(tmp: Path, stage: str) -> Path:
    path = tmp / "deployer.toml"
    path.write_text(stage)
    return path


def test_a_stage_hosts_list_becomes_members(tmp_path: Path) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDokGqmQXl4B2RDcff7k6DLqzI0W+txf7sHOvKMK+xTL"
    config = _config(tmp_path, f"""
[stages.prod]
hosts = ["deploy@10.0.1.5", {{ host = "10.0.1.6", ssh_port = 2222, ssh_host_key = "{key}" }}]
domain = "api.example.com"
tls = "lb"
lb_source = "10.0.0.0/16"
""")
    got = members("prod", config)
    assert [m.name for m in got] == ["10.0.1.5", "10.0.1.6:2222"]
    first, second = (m.target for m in got)
    assert (first.host, first.ssh_user, first.tls) == ("10.0.1.5", "deploy", "lb")
    assert (second.ssh_port, str(second.ssh_host_key)) == (2222, key)
    assert second.domain == "api.example.com" and second.lb_source == "10.0.0.0/16"


def test_the_outputs_hosts_list_becomes_members(tmp_path: Path) -> None:
    outputs = tmp_path / "fleet.json"
    hosts = [{"name": n, "host": "127.0.0.1", "ssh_port": p, "ssh_user": "deploy"}
             for n, p in (("web1", 2202), ("web2", 2203))]
    outputs.write_text(json.dumps({"cloud": "sandbox", "stage": "f", "hosts": hosts,
                                   "domain": "front.deployer.test", "load_balancer": LB}))
    config = _config(tmp_path, f'[stages.f]\noutputs = "{outputs}"\n')
    got = members("f", config)
    assert [(m.name, m.target.ssh_port) for m in got] == [("web1", 2202), ("web2", 2203)]
    assert {m.target.address for m in got} == {"127.0.1.200"}  # clients go to the balancer
    assert members("single", _config(tmp_path, '[stages.single]\nhost = "h"\ndomain = "a.b.c"\n'
                                     )) == []


@pytest.mark.parametrize(
    ("hosts", "error"),
    [('[{ port = 22 }]', "unknown keys"), ('[{ name = "x" }]', "no host"), ("[3]", "expected"),
     ('["a", "a"]', "repeat")],
)
def test_bad_hosts_lists(tmp_path: Path, hosts: str, error: str) -> None:
    config = _config(tmp_path, f'[stages.p]\nhosts = {hosts}\ndomain = "a.example.com"\n')
    with pytest.raises(TargetError, match=error):
        members("p", config)


def test_one_server_without_a_balancer_stays_a_single_host_stage(tmp_path: Path) -> None:
    outputs = tmp_path / "one.json"
    outputs.write_text(json.dumps({"cloud": "aws", "stage": "s", "domain": "a.example.com",
                                   "host": "203.0.113.5", "hosts": [{"host": "203.0.113.5"}],
                                   "load_balancer": None}))
    assert members("s", _config(tmp_path, f'[stages.s]\noutputs = "{outputs}"\n')) == []
