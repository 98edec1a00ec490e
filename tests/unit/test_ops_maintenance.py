"""Maintenance mode: the nginx include, the page and the on/off scripts (no host)."""

import subprocess
from pathlib import Path

from deployer.ops import maintenance
from deployer.steps import web
from deployer.target import build_target

REPO = Path(__file__).resolve().parents[2]


def target(**app):
    data = {"source": str(REPO / "app"), **app}
    return build_target({"host": "203.0.113.10", "domain": "api.example.com", "app": data})


def test_site_includes_the_maintenance_conf_written_beside_it() -> None:
    files = {f.path: f.content for f in web.nginx_files(target(name="shop"), tls=True)}
    site = files["/etc/nginx/sites-available/shop.conf"]
    assert "include /etc/nginx/deployer/shop-maintenance.conf;" in site
    conf = files[maintenance.include_path("shop")]
    assert "if (-f /var/www/deployer-maintenance/shop.html)" in conf
    assert "return 503;" in conf and "error_page 503 /.deployer-maintenance/shop.html;" in conf
    assert "internal;" in conf and "alias /var/www/deployer-maintenance/shop.html;" in conf
    assert f"add_header Retry-After {maintenance.RETRY_AFTER} always;" in conf
    # the named location adds headers, so it must bring the security headers with it
    assert f"include {web.HEADERS_INCLUDE};" in conf


def test_health_and_readiness_paths_stay_reachable() -> None:
    conf = maintenance.include_conf("app", "/healthz", web.HEADERS_INCLUDE)
    ifs = [line for line in conf.splitlines() if line.startswith("if ($uri = ")]
    exempt = [line.split()[3].rstrip(")") for line in ifs]
    # the page's own URI too: the internal redirect to it passes the check again
    assert exempt == ["/healthz", "/ready", "/.deployer-maintenance/app.html"]
    # the exemptions come after the flag is read and before the 503 is returned
    assert conf.index("if (-f") < conf.index("$uri = /healthz") < conf.index("return 503")


def test_page_escapes_the_message() -> None:
    page = maintenance.page_html("<script>alert(1)</script> back at 5")
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert maintenance.DEFAULT_MESSAGE in maintenance.page_html("")


def test_page_is_overridable(tmp_path, monkeypatch) -> None:
    from deployer import render

    (tmp_path / "maintenance.html.j2").write_text("ours: {{ message }}\n")
    monkeypatch.setenv("DEPLOYER_TEMPLATES", str(tmp_path))
    assert maintenance.page_html("x&y") == "ours: x&amp;y\n"
    render._environment.cache_clear()


def test_on_refuses_a_site_without_the_include_and_off_removes_the_page(tmp_path) -> None:
    site = tmp_path / "site.conf"
    site.write_text("server {}\n")
    on = maintenance.on_script("app", str(site))
    proc = subprocess.run(["sh", "-c", on], capture_output=True, text=True, check=False)
    assert proc.returncode == 3 and "re-run deployer bootstrap" in proc.stderr
    for script in (on, maintenance.off_script("app"), maintenance.state_script("app")):
        assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0
    assert maintenance.page_path("app") in maintenance.off_script("app")
