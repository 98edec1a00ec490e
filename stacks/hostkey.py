"""The server's SSH host key, generated in the program and installed with cloud-init.

The public half is exported as ``ssh_host_key`` so that bootstrap pins it: no trust on first use.
The private half lives only in the encrypted stack state and in the instance's user data. The
metadata service serves that user data to any local process that asks, so cloud-init's first
module (``bootcmd``, before any user or app exists) loads templates/nftables-metadata.nft: only
root may reach the metadata address; deployer's /etc/nftables.conf keeps the same table.
"""

from __future__ import annotations

import json
from typing import Any

from deployer.render import BUILTIN

LOGIN_USER = "deploy"
METADATA_GUARD = BUILTIN / "nftables-metadata.nft"


def metadata_guard_command() -> list[str]:
    """The bootcmd entry that loads the metadata guard (the ruleset travels as ``$0``)."""
    return ["sh", "-c", 'printf "%s\\n" "$0" | nft -f -', METADATA_GUARD.read_text()]


def host_key(resource_name: str, opts: Any = None) -> Any:
    """An Ed25519 key pair (pulumi_tls.PrivateKey); its outputs are secret where private."""
    import pulumi_tls as tls

    return tls.PrivateKey(resource_name, algorithm="ED25519", opts=opts)


def public_line(key: Any) -> Any:
    """The host key's public half as one OpenSSH line, without the trailing newline."""
    return key.public_key_openssh.apply(lambda text: text.strip())


def cloud_config(private_key: str, public_key: str, login_key: str) -> str:
    """Cloud-init user data: our host key only, key-only login for the sudo user ``deploy``."""
    document = {
        "bootcmd": [metadata_guard_command()],
        "ssh_deletekeys": True,
        "ssh_genkeytypes": [],
        "ssh_keys": {"ed25519_private": private_key, "ed25519_public": public_key.strip()},
        "disable_root": True,
        "ssh_pwauth": False,
        "users": [
            {
                "name": LOGIN_USER,
                "shell": "/bin/bash",
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "lock_passwd": True,
                "ssh_authorized_keys": [login_key],
            }
        ],
    }
    # JSON is valid YAML and quotes every string safely (the private key spans lines).
    return "#cloud-config\n" + json.dumps(document, indent=2) + "\n"


def user_data(key: Any, login_key: str) -> Any:
    """The cloud-config as a secret Output (it carries the private key)."""
    import pulumi

    rendered = pulumi.Output.all(key.private_key_openssh, key.public_key_openssh).apply(
        lambda pair: cloud_config(pair[0], pair[1], login_key)
    )
    return pulumi.Output.secret(rendered)
