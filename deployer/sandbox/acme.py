"""The local ACME server: pebble plus pebble-challtestsrv as its DNS, on loopback only.

Pebble's HTTPS certificate (our own small CA) is valid for 127.0.0.1 and for the lab gateway, so
hosts reach the ACME directory through a forwarder at https://<gateway>:14000/dir.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

from deployer.sandbox import config
from deployer.sandbox.proc import run

ACME_ENV = {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_VA_ALWAYS_VALID": "0", "PEBBLE_WFE_NONCEREJECT": "0"}


def acme_dir() -> Path:
    return config.DATA_DIR / "acme"


def ca_path() -> Path:
    """CA bundle signing pebble's HTTPS endpoint (certbot's REQUESTS_CA_BUNDLE)."""
    return acme_dir() / "ca.pem"


def root_path() -> Path:
    """Pebble's issuing root (changes every time pebble starts)."""
    return acme_dir() / "root.pem"


def directory_url(inside: bool = True) -> str:
    """ACME directory URL as seen from inside a host (or from the outer machine)."""
    address = config.LAB_GATEWAY if inside else "127.0.0.1"
    return f"https://{address}:{config.ACME_PORT}/dir"


def ensure_certificates() -> None:
    """Create the CA and pebble's server certificate once (kept in DATA_DIR)."""
    folder = acme_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o755)
    key, cert = folder / "server.key", folder / "server.pem"
    if cert.is_file() and ca_path().is_file():
        return
    ca_key = folder / "ca.key"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(ca_key), "-out", str(ca_path()), "-days", "3650",
         "-subj", "/CN=deployer sandbox ACME CA"])
    csr = folder / "server.csr"
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost"])
    ext = folder / "server.ext"
    ext.write_text(f"subjectAltName=DNS:localhost,IP:127.0.0.1,IP:{config.LAB_GATEWAY}\n"
                   "extendedKeyUsage=serverAuth\n")
    run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_path()), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(cert), "-days", "3650", "-extfile", str(ext)])
    for path in (ca_key, key):
        path.chmod(0o600)


def pebble_config() -> dict:
    folder = acme_dir()
    return {
        "pebble": {
            "listenAddress": f"127.0.0.1:{config.ACME_PORT}",
            "managementListenAddress": f"127.0.0.1:{config.ACME_MGMT_PORT}",
            "certificate": str(folder / "server.pem"),
            "privateKey": str(folder / "server.key"),
            "httpPort": 80,
            "tlsPort": 443,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }


def pebble_argv(config_file: Path) -> list[str]:
    return ["pebble", "-config", str(config_file), "-dnsserver", f"127.0.0.1:{config.DNS_PORT}"]


def challtestsrv_argv() -> list[str]:
    return [
        "pebble-challtestsrv",
        "-dns01", f"127.0.0.1:{config.DNS_PORT}",
        "-http01", "",
        "-https01", "",
        "-tlsalpn01", "",
        "-management", f"127.0.0.1:{config.CHALL_MGMT_PORT}",
        "-defaultIPv4", "127.0.0.1",
        "-defaultIPv6", "",
    ]


def _post(path: str, body: dict) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{config.CHALL_MGMT_PORT}{path}",
        data=json.dumps(body).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (loopback)
        response.read()


def add_name(name: str, address: str) -> None:
    """Make the ACME server's DNS resolve `name` to `address`."""
    _post("/add-a", {"host": f"{name}.", "addresses": [address]})


def remove_name(name: str) -> None:
    _post("/clear-a", {"host": f"{name}."})


def fetch_root() -> str:
    """Pebble's current issuing root (PEM), fetched over its management endpoint."""
    context = ssl.create_default_context(cafile=str(ca_path()))
    url = f"https://127.0.0.1:{config.ACME_MGMT_PORT}/roots/0"
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        return response.read().decode()


def ready() -> bool:
    try:
        root_path().write_text(fetch_root())
    except OSError:
        return False
    return True
