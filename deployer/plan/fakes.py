"""Plausible values for what a cloud computes (ids, IPs, keys), used when not previewing.

In preview mode the mocks return nothing computed, so dependent values stay unknown exactly as in
``pulumi preview``; in apply mode (tests) these fakes let the outputs resolve to checkable data.
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

_numbers = itertools.count(410000001)


@cache
def ed25519_pair(name: str) -> tuple[str, str]:
    """A real Ed25519 key pair in OpenSSH format (private, public), one per resource name."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public.decode() + "\n"


def resource_id(typ: str, name: str) -> str:
    """DigitalOcean droplets have numeric ids; everything else gets a readable one."""
    if typ == "digitalocean:index/droplet:Droplet":
        return str(next(_numbers))
    return f"{name}-id"


def computed(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Outputs a provider would compute for a new resource of type ``typ``."""
    maker = _COMPUTED.get(typ)
    computed = maker(name, inputs) if maker else {}
    if typ.startswith("azure-native:") and "name" not in inputs:
        cls = typ.rsplit(":", 1)[1]
        computed.setdefault("name", inputs.get(cls[0].lower() + cls[1:] + "Name", name))
    return computed


def _address(prefix: str, name: str, first: int) -> str:
    """``prefix.first`` for the first of several resources, ``prefix.(first+N)`` for ``name-N``."""
    tail = name.rsplit("-", 1)[-1]
    return f"{prefix}.{first + int(tail) if tail.isdigit() else first}"


def _tls_key(name: str, inputs: dict) -> dict:
    private, public = ed25519_pair(name)
    return {"privateKeyOpenssh": private, "publicKeyOpenssh": public}


def _db_cluster(name: str, inputs: dict) -> dict:
    return {
        "host": f"{name}.db.ondigitalocean.com",
        "privateHost": f"private-{name}.db.ondigitalocean.com",
        "port": 25060,
        "user": "doadmin",
        "password": "mock-admin-password",
        "database": "defaultdb",
    }


_COMPUTED = {
    "tls:index/privateKey:PrivateKey": _tls_key,
    "random:index/randomPassword:RandomPassword": lambda n, i: {"result": "mockGeneratedPassw0rd"},
    "aws:ec2/eip:Eip": lambda n, i: {"publicIp": _address("198.51.100", n, 7)},
    "aws:ec2/instance:Instance": lambda n, i: {"privateIp": _address("10.20.0", n, 10)},
    "aws:lb/loadBalancer:LoadBalancer": lambda n, i: {
        "arn": f"arn:aws:elasticloadbalancing:eu-central-1:123456789012:loadbalancer/app/{n}",
        "dnsName": f"{n}-123456789.eu-central-1.elb.amazonaws.com",
        "zoneId": "Z215JYRZR1TBD5",
        "name": i.get("name", n),
    },
    "aws:lb/targetGroup:TargetGroup": lambda n, i: {
        "arn": f"arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/{n}"
    },
    "aws:acm/certificate:Certificate": lambda n, i: {
        "arn": f"arn:aws:acm:eu-central-1:123456789012:certificate/{n}",
        "domainValidationOptions": [
            {
                "domainName": i.get("domainName"),
                "resourceRecordName": f"_x1.{i.get('domainName')}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": "_x2.acm-validations.aws.",
            }
        ],
    },
    "aws:acm/certificateValidation:CertificateValidation": lambda n, i: {
        "certificateArn": i.get("certificateArn")
    },
    "aws:route53/record:Record": lambda n, i: {"fqdn": str(i.get("name", n)).rstrip(".")},
    "aws:rds/instance:Instance": lambda n, i: {"address": f"{n}.rds.internal", "port": 5432},
    "aws:rds/subnetGroup:SubnetGroup": lambda n, i: {"name": n},
    "digitalocean:index/droplet:Droplet": lambda n, i: {
        "ipv4Address": _address("203.0.113", n, 20),
        "ipv4AddressPrivate": _address("10.30.0", n, 20),
    },
    "digitalocean:index/reservedIp:ReservedIp": lambda n, i: {
        "ipAddress": _address("203.0.113", n, 50)
    },
    "digitalocean:index/loadBalancer:LoadBalancer": lambda n, i: {
        "ip": "203.0.113.80",
        "name": i.get("name", n),
    },
    "digitalocean:index/certificate:Certificate": lambda n, i: {"name": i.get("name", n)},
    "digitalocean:index/databaseCluster:DatabaseCluster": _db_cluster,
    "digitalocean:index/databaseUser:DatabaseUser": lambda n, i: {"password": "mock-db-password"},
    "gcp:sql/databaseInstance:DatabaseInstance": lambda n, i: {
        "connectionName": f"project:region:{n}",
        "privateIpAddress": "10.30.0.3",
    },
    "gcp:serviceaccount/account:Account": lambda n, i: {
        "email": f"{i.get('accountId', n)}@project.iam.gserviceaccount.com"
    },
    "gcp:cloudrunv2/service:Service": lambda n, i: {"uri": f"https://{n}-abc.a.run.app"},
    "gcp:compute/network:Network": lambda n, i: {"selfLink": f"projects/p/global/networks/{n}"},
    "azure-native:web:WebApp": lambda n, i: {
        "defaultHostName": f"{n}.azurewebsites.net",
        "customDomainVerificationId": "0123456789ABCDEF",
        "identity": {
            "type": "SystemAssigned",
            "principalId": "11111111-2222-3333-4444-555555555555",
        },
    },
    "azure-native:dbforpostgresql:Server": lambda n, i: {
        "fullyQualifiedDomainName": f"{n}.postgres.database.azure.com"
    },
    "azure-native:storage:StorageAccount": lambda n, i: {
        "primaryEndpoints": {"blob": f"https://{n}.blob.core.windows.net/"}
    },
    "azure-native:storage:Blob": lambda n, i: {
        "url": f"https://account.blob.core.windows.net/packages/{n}"
    },
    "azure-native:web:Certificate": lambda n, i: {"thumbprint": "ABCDEF0123456789"},
}

INVOKES: dict[str, dict[str, Any]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": {
        "names": ["eu-central-1a", "eu-central-1b", "eu-central-1c"],
        "zoneIds": ["euc1-az2", "euc1-az3", "euc1-az1"],
    },
    "aws:ec2/getAmi:getAmi": {"id": "ami-0123456789abcdef0", "imageId": "ami-0123456789abcdef0"},
    "aws:route53/getZone:getZone": {"id": "Z0EXAMPLE", "zoneId": "Z0EXAMPLE"},
    "azure-native:authorization:getClientConfig": {
        "subscriptionId": "00000000-0000-0000-0000-000000000000",
        "tenantId": "00000000-0000-0000-0000-000000000001",
        "objectId": "00000000-0000-0000-0000-000000000002",
        "clientId": "00000000-0000-0000-0000-000000000003",
    },
}
