"""The one place that talks SSH: a single connection per host, verified host keys, sudo,
atomic file writes over stdin, and commands that report the tail of their stderr.

Fabric gives us the connection (it honours ``~/.ssh/config``); commands run on raw channels of
that one transport so several can run at once and stdin is closed properly. Host keys are never
accepted blindly: a key pinned by the target wins, otherwise known_hosts decides; an unknown key
is refused unless ``trust_new_host`` is set (then it is recorded), a changed key is refused.
Secrets travel on stdin only, never in a command line.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import paramiko
from fabric import Connection

from deployer.shell import sh_c, write_file_script
from deployer.target import Target

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


class RemoteError(Exception):
    """The host could not be reached, or the connection broke."""


class HostKeyError(RemoteError):
    """The host's key is unknown or does not match the one on record."""


class CommandError(Exception):
    """A remote command failed; carries its exit code and the tail of its stderr."""

    def __init__(self, what: str, code: int, stderr: str, stdout: str = "") -> None:
        self.what, self.code, self.stderr, self.stdout = what, code, stderr, stdout
        super().__init__(f"{what} failed (exit {code})\n{tail(stderr or stdout)}")


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


def tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def endpoint(conn: Connection) -> str:
    """Where SSH really went: host and port after ~/.ssh/config (``Host`` alias -> ``HostName``,
    ``Port``; 22 when nothing sets one), naming the alias when there was one."""
    where = f"{conn.host}:{conn.port}"
    return where if conn.original_host == conn.host else f"{conn.original_host} ({where})"


def host_key_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class _Refuse(paramiko.MissingHostKeyPolicy):
    def __init__(self, where: str) -> None:
        self.where = where

    def missing_host_key(self, client, hostname, key) -> None:  # type: ignore[override]
        raise HostKeyError(
            f"unknown host key for {hostname} ({key.get_name()} "
            f"SHA256:{fingerprint(key)}), not in {self.where}. Check it out of band, then pin "
            "it in the target (ssh_host_key) or re-run with --trust-new-host to record it."
        )


class _TrustAndRecord(paramiko.MissingHostKeyPolicy):
    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(self, client, hostname, key) -> None:  # type: ignore[override]
        self.known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self.known_hosts.open("a", encoding="ascii") as fh:
            fh.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        client.get_host_keys().add(hostname, key.get_name(), key)


def fingerprint(key: paramiko.PKey) -> str:
    import base64
    import hashlib

    digest = hashlib.sha256(key.asbytes()).digest()
    return base64.b64encode(digest).decode().rstrip("=")


def nodelay_socket(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to host:port with Nagle's algorithm off.

    SSH here is request/response in small packets; with Nagle on (paramiko's default) a small
    packet sent right after another waits for the server's delayed ACK, about 40 ms, during the
    handshake and on every command. Measured straight to a sandbox host's sshd: connect
    64 -> 20 ms, a command 48 -> 2.5 ms.
    """
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _Dropped(Exception):
    """The server closed a new connection during the handshake (worth another attempt)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Remote:
    """One SSH connection to a target host."""

    def __init__(
        self,
        target: Target,
        *,
        trust_new_host: bool = False,
        known_hosts: Path | None = None,
        connect_timeout: float = 15,
    ) -> None:
        self.target = target
        self.trust_new_host = trust_new_host
        env_kh = os.environ.get("DEPLOYER_KNOWN_HOSTS")
        self.known_hosts_override = known_hosts or (Path(env_kh) if env_kh else None)
        self.connect_timeout = connect_timeout
        self.conn: Connection | None = None
        self.user = ""

    # -- connecting ----------------------------------------------------------------------------
    #: Attempts at opening the connection: a server that drops or stalls a new connection in
    #: the handshake (sshd busy, a forwarder not ready) gets another; nothing has run on it yet.
    #: A refused connection or an unknown name fails at once.
    CONNECT_ATTEMPTS = 3

    def connect(self) -> Remote:
        for attempt in range(1, self.CONNECT_ATTEMPTS + 1):
            try:
                return self._connect_once()
            except _Dropped as dropped:
                if attempt == self.CONNECT_ATTEMPTS:
                    raise RemoteError(dropped.message) from None
                time.sleep(0.5 * attempt)
        raise AssertionError("unreachable")

    def _connect_once(self) -> Remote:
        t = self.target
        kwargs: dict = {"banner_timeout": self.connect_timeout, "auth_timeout": 30}
        if t.ssh_key:
            kwargs["key_filename"] = [str(t.ssh_key)]
        conn = Connection(
            t.host,
            user=t.ssh_user,
            port=t.ssh_port,
            connect_timeout=int(self.connect_timeout),
            connect_kwargs=kwargs,
        )
        self._set_host_key_policy(conn)
        try:
            self._open(conn)
        except HostKeyError:
            raise
        except paramiko.BadHostKeyException as exc:
            raise HostKeyError(
                f"host key for {exc.hostname} CHANGED: the server offers "
                f"{exc.key.get_name()} SHA256:{fingerprint(exc.key)}, but "
                f"SHA256:{fingerprint(exc.expected_key)} is on record. Refusing to connect "
                "(possible man-in-the-middle). If the host was rebuilt, update the pinned key "
                "or remove the old known_hosts line."
            ) from None
        except paramiko.AuthenticationException as exc:
            raise RemoteError(
                f"SSH authentication failed for {conn.user}@{conn.host}: {exc}"
            ) from None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            message = f"cannot connect to {endpoint(conn)}: {exc}"
            if isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
                raise RemoteError(message) from None  # no server there: final
            raise _Dropped(message) from None  # paramiko reports a banner timeout this way too
        conn.transport.set_keepalive(15)
        self.conn = conn
        self.user = conn.user
        return self

    def _open(self, conn: Connection) -> None:
        """Open *conn* over a Nagle-free socket; nothing is left open when that fails."""
        sock = None
        if not conn.gateway:  # a ProxyJump/ProxyCommand brings its own channel
            sock = nodelay_socket(conn.host, conn.port, self.connect_timeout)
            conn.connect_kwargs["sock"] = sock
        try:
            conn.open()
        except BaseException:
            conn.client.close()
            if sock is not None:
                sock.close()
            raise

    def _set_host_key_policy(self, conn: Connection) -> None:
        client = conn.client
        name = host_key_name(conn.host, conn.port)
        pinned = self.target.ssh_host_key
        if pinned:  # only this key is acceptable
            key = paramiko.PKey.from_type_string(pinned.kind, pinned.blob)
            client.get_host_keys().add(name, pinned.kind, key)
            client.set_missing_host_key_policy(_Refuse("the pinned ssh_host_key"))
            return
        known = self._known_hosts_file(conn)
        if self.known_hosts_override is None:
            with contextlib.suppress(OSError):
                client.load_system_host_keys()
        if known.is_file():
            client.get_host_keys().load(str(known))
        if self.trust_new_host:
            client.set_missing_host_key_policy(_TrustAndRecord(known))
        else:
            client.set_missing_host_key_policy(_Refuse(str(known)))

    def _known_hosts_file(self, conn: Connection) -> Path:
        if self.known_hosts_override is not None:
            return self.known_hosts_override
        configured = conn.ssh_config.get("userknownhostsfile")
        first = configured.split()[0] if configured else None
        return Path(first or DEFAULT_KNOWN_HOSTS).expanduser()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> Remote:
        return self.connect() if self.conn is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- running -------------------------------------------------------------------------------
    @property
    def is_root(self) -> bool:
        return self.user == "root"

    def command_line(self, argv: Sequence[str], *, sudo: bool = False) -> str:
        """The exact string sent to the server for *argv* (every word shell-quoted)."""
        if sudo and not self.is_root:
            argv = ["sudo", "-n", "-H", "--", *argv]
        return shlex.join(argv)

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        check: bool = True,
        what: str | None = None,
        timeout: float | None = None,
    ) -> Result:
        """Run *argv* (no shell unless argv says so); raise CommandError on failure if *check*."""
        result = self._exec(self.command_line(argv, sudo=sudo), stdin, timeout)
        if check and result.code != 0:
            raise CommandError(what or argv[0], result.code, result.stderr, result.stdout)
        return result

    def stream(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        out: BinaryIO,
        err: BinaryIO,
    ) -> int:
        """Run *argv*, writing its stdout and stderr to *out* / *err* as they arrive; return
        its exit code (a long or chatty command shows progress, nothing is buffered)."""
        return self._exec(self.command_line(argv, sudo=sudo), stdin, None, (out, err)).code

    def attach(self, argv: Sequence[str], *, sudo: bool = False) -> int:
        """Run *argv* on a terminal connected to the local one (interactive); return its exit
        code."""
        if self.conn is None:
            raise RemoteError("not connected")
        try:
            result = self.conn.run(self.command_line(argv, sudo=sudo), pty=True, warn=True)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise RemoteError(f"connection to {self.target.host} lost: {exc}") from None
        return result.exited

    def sh(self, script: str, *, sudo: bool = True, **kwargs) -> Result:
        """Run a compound shell script (``sh -c``), as root by default."""
        return self.run(sh_c(script), sudo=sudo, **kwargs)

    def write_file(
        self,
        path: str,
        data: bytes,
        *,
        mode: str = "0644",
        owner: str = "root",
        group: str = "root",
    ) -> None:
        """Atomically replace *path* with *data* (sent on stdin, so secrets stay off argv)."""
        self.sh(write_file_script(path, mode, owner, group), stdin=data, what=f"write {path}")

    def _exec(
        self,
        command: str,
        stdin: bytes | None,
        timeout: float | None,
        sinks: tuple[BinaryIO, BinaryIO] | None = None,
    ) -> Result:
        if self.conn is None or self.conn.transport is None:
            raise RemoteError("not connected")
        try:
            chan = self.conn.transport.open_session(timeout=self.connect_timeout)
            chan.exec_command(command)
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
            out, err = self._drain(chan, timeout, sinks)
            code = chan.recv_exit_status()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise RemoteError(f"connection to {self.target.host} lost: {exc}") from None
        if code == -1 or not self.conn.transport.is_active():
            raise RemoteError(f"connection to {self.target.host} lost while running a command")
        return Result(code, out.decode(errors="replace"), err.decode(errors="replace"))

    @staticmethod
    def _drain(
        chan: paramiko.Channel,
        timeout: float | None,
        sinks: tuple[BinaryIO, BinaryIO] | None = None,
    ) -> tuple[bytes, bytes]:
        """Read stdout and stderr until the command ends; with *sinks*, each chunk is written
        (and flushed) there as it arrives and nothing is kept."""
        out, err = bytearray(), bytearray()

        def keep(buf: bytearray, chunk: bytes, sink: int) -> None:
            if sinks is None:
                buf += chunk
            else:
                sinks[sink].write(chunk)
                sinks[sink].flush()

        deadline = None if timeout is None else time.monotonic() + timeout
        chan.settimeout(0.0)
        idle = 0.0005
        while True:
            got = False
            try:
                while chan.recv_ready():
                    keep(out, chan.recv(65536), 0)
                    got = True
                while chan.recv_stderr_ready():
                    keep(err, chan.recv_stderr(65536), 1)
                    got = True
            except TimeoutError:
                pass
            drained = not chan.recv_ready() and not chan.recv_stderr_ready()
            if chan.exit_status_ready() and drained and (chan.closed or chan.eof_received):
                break
            if chan.closed and not got:
                break
            if deadline is not None and time.monotonic() > deadline:
                chan.close()
                raise RemoteError("command timed out")
            if got:
                idle = 0.0005
            else:
                time.sleep(idle)
                idle = min(idle * 2, 0.02)
        return bytes(out), bytes(err)
