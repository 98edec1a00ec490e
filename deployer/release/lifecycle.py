"""Deploy and rollback as named phases over one SSH connection.

deploy:   lock → upload → install → migrate → start → health → switch → drain → record →
          cleanup → unlock
rollback: lock → start → health → switch → drain → record → unlock

The new release runs beside the old one, on its own unix socket; traffic moves to it only after
it answers its health (and readiness) path there, by renaming the serving socket's symlink (no
nginx reload: no client connection is closed). The old instance is then kept warm for the
app's ``keep_warm`` window (a rollback inside it is a switch, not a boot), or drained and
stopped. A failure in any phase up to the switch stops the new instance, points the symlink
back if needed, marks the new release bad and leaves the previous release serving. The
mechanics (install, units, socket) are those of ``install.py`` / ``switch.py``; this module
decides order, undo and bookkeeping.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from deployer import engine
from deployer.engine import Change, Done, Outcome, Result, Stop, UnitError
from deployer.layout import Layout
from deployer.names import new_release_id
from deployer.release import install, ledger, migrations, switch
from deployer.release.audit import AuditEntry
from deployer.release.lock import LockInfo, now_iso, release_script, whoami
from deployer.release.phases import DEPLOY_PHASES, GATED, ROLLBACK_PHASES, with_hooks
from deployer.release.state import (
    HostState,
    acquire_lock,
    append_audit,
    read_state,
    release_lock,
    write_ledger,
)

if TYPE_CHECKING:
    from deployer.artifact import Artifact
    from deployer.remote import Remote
    from deployer.target import Target

STOP = "stop"  # the unit that ends a two-stage run between its stages (``Run.resume``)



@dataclass(frozen=True)
class ReleaseChange(Change):
    """What a phase changed on the host, for one release (``kind`` names the phase's act)."""

    release_id: str

    @property
    def summary(self) -> str:
        return f"{self.verb} {self.release_id}"

    verb: ClassVar[str] = ""


@dataclass(frozen=True)
class Uploaded(ReleaseChange):
    kind: ClassVar[str] = "artifact"
    verb: ClassVar[str] = "uploaded the artifact of"


@dataclass(frozen=True)
class Installed(ReleaseChange):
    kind: ClassVar[str] = "release"
    verb: ClassVar[str] = "installed"


@dataclass(frozen=True)
class Migrated(ReleaseChange):
    kind: ClassVar[str] = "migrations"
    verb: ClassVar[str] = "migrated the database for"


@dataclass(frozen=True)
class Started(ReleaseChange):
    kind: ClassVar[str] = "unit"
    verb: ClassVar[str] = "started"


@dataclass(frozen=True)
class Switched(ReleaseChange):
    kind: ClassVar[str] = "traffic"
    verb: ClassVar[str] = "traffic to"


@dataclass(frozen=True)
class Stopped(ReleaseChange):
    kind: ClassVar[str] = "unit"
    verb: ClassVar[str] = "stopped the instance of"


@dataclass(frozen=True)
class Recorded(ReleaseChange):
    kind: ClassVar[str] = "ledger"
    verb: ClassVar[str] = "recorded as current:"


@dataclass(frozen=True)
class Removed(ReleaseChange):
    kind: ClassVar[str] = "release"
    verb: ClassVar[str] = "removed"


def prune_script(layout: Layout, release_ids: list[str], keep_shas: set[str]) -> str:
    """Stop/disable units of removed releases, delete their directories and stray artifacts."""
    q = shlex.quote
    units = " ".join(q(layout.unit(r)) for r in release_ids)
    dirs = " ".join(q(str(layout.release(r))) for r in release_ids)
    keep = " ".join(q(f"{s}.tar") for s in sorted(keep_shas)) or "''"
    parts = []
    if release_ids:
        parts += [
            f"systemctl disable --quiet --now {units} 2>/dev/null || true",
            f"rm -rf -- {dirs}",
        ]
    parts.append(
        f"cd {q(str(layout.artifacts))} 2>/dev/null && for f in *.tar; do "
        f'[ -e "$f" ] || continue; case " {keep} " in *" $f "*) ;; *) rm -f -- "$f";; esac; done'
    )
    return "; ".join(parts) + "; true"


@dataclass
class Run:
    """One deploy or rollback of one app on one host (connected ``remote``)."""

    remote: Remote
    target: Target
    action: str = "deploy"
    artifact: Artifact | None = None
    rollback_to: str = ""  # rollback: release id ('' = previous good release)
    message: str = ""
    keep: int = ledger.DEFAULT_KEEP
    who: str = field(default_factory=whoami)
    report: Callable[[Result], None] | None = None
    audit_as: str = ""  # e.g. "promote": how the audit log names this deploy
    bootstrap: bool = False  # a first release may be deployed (nothing serves yet)
    before_switch: Callable[[], str] | None = None  # e.g. wait for nginx to be installed
    # deploy: the new .env, in place from the install phase (undone on failure); without an
    # artifact, the current release's files are copied (an environment change)
    env_text: str = ""
    # an environment change computed under the lock: the current .env's text -> (new text,
    # note), or None when nothing changes (a no-op); raises ops.env.EnvError on bad input
    env_for: Callable[[str], tuple[str, str] | None] | None = None

    layout: Layout = field(init=False)
    info: LockInfo = field(init=False)
    state: HostState | None = None
    release_id: str = ""
    release: ledger.Release | None = None
    old_serving: str = ""  # the release traffic went to before this run ('' if none)
    old_units: list[str] = field(default_factory=list)
    started: bool = False
    env_swapped: bool = False
    copy_from: str = ""  # an environment change: the release whose files are copied
    switched: bool = False
    noop: bool = False
    unlocked: bool = False  # released in the round trip of the last phase before ``unlock``
    recorded: ledger.Ledger = field(default_factory=ledger.Ledger)
    recheck: bool = False  # health asked again right before the switch (warmed long before)
    staged: list[engine.Unit] = field(default_factory=list, init=False, repr=False)  # stage two

    def __post_init__(self) -> None:
        self.layout = self.target.layout
        what = self.artifact.sha256[:12] if self.artifact else (self.rollback_to or "previous")
        what = "environment" if (self.env_text or self.env_for) and not self.artifact else what
        self.info = LockInfo(who=self.who, what=f"{self.action} {what}", message=self.message)

    # -- running -------------------------------------------------------------------------------
    @property
    def phase_names(self) -> tuple[str, ...]:
        base = DEPLOY_PHASES if self.action == "deploy" else ROLLBACK_PHASES
        return with_hooks(base, self.action, self.target.app.hooks)

    def _units(self) -> list[engine.Unit]:
        return [
            engine.Unit(
                name,
                getattr(self, f"phase_{name}"),
                undo=getattr(self, f"undo_{name}", None),
                gated=name in GATED,
                always=name == "unlock",
            )
            for name in self.phase_names
        ]

    def execute(self) -> Outcome:
        outcome = engine.run(self._units(), report=self.report)
        self._audit_failure(outcome)
        return outcome

    def _audit_failure(self, outcome: Outcome) -> None:
        if outcome.error is not None and outcome.failed_unit != "lock":
            self._audit("failed", f"{outcome.failed_unit}: {outcome.error.message}"[:500])

    # -- in stages (a fleet's: installed on every host, warmed, then switched batch by batch) ---
    def prepare(self) -> Outcome:
        """Stage one: the phases up to the install (a rollback: the lock), the lock kept for
        ``advance`` and ``resume``. A failure or a Stop ends the run here (undone, unlocked):
        ``pending`` is then False."""
        self.staged = self._units()
        names = [u.name for u in self.staged]
        return self.advance(Outcome(), "install" if "install" in names else names[0])

    def advance(self, outcome: Outcome, through: str) -> Outcome:
        """The staged phases up to and including *through* (e.g. ``health``: the new release
        warm beside the serving one; ``switch``), the rest kept. A failure or a Stop runs the
        rest at once (undone, unlocked); a phase not staged (any more) runs nothing."""
        names = [u.name for u in self.staged]
        cut = names.index(through) + 1 if through in names else 0
        now, self.staged = self.staged[:cut], self.staged[cut:]
        outcome = engine.run(now, report=self.report, after=outcome)
        return outcome if self.pending(outcome) else self.resume(outcome)

    def pending(self, outcome: Outcome) -> bool:
        """Phases are still staged (the ones so far went through)."""
        return bool(self.staged) and outcome.ok and not outcome.stopped

    def resume(self, outcome: Outcome, stop: str = "") -> Outcome:
        """The last stage, under the lock stage one holds: the remaining phases. ``stop`` (why
        the caller gives up, e.g. another host failed) fails it at once instead: what ran is
        undone (the release is not marked bad: it was never tried) and the lock released."""
        rest, self.staged = self.staged, []
        if stop:
            def refuse() -> None:
                raise UnitError(stop)

            rest = [engine.Unit(STOP, refuse), *[u for u in rest if u.always]]
        outcome = engine.run(rest, report=self.report, after=outcome)
        self._audit_failure(outcome)
        return outcome

    def _entry(self, result: str, detail: str = "") -> AuditEntry:
        rel = self.release
        sha = rel.sha256 if rel else (self.artifact.sha256 if self.artifact else "")
        action = "noop" if self.noop else (self.audit_as or self.action)
        version = rel.version if rel else ""
        return AuditEntry(action, result, self.release_id, sha, version, detail, self.who)

    def _audit(self, result: str, detail: str = "") -> None:
        with contextlib.suppress(Exception):  # the audit must never hide the real outcome
            append_audit(self.remote, self.layout, self._entry(result, detail))

    # -- phases ----------------------------------------------------------------------------------
    def phase_lock(self) -> str:
        self.state = acquire_lock(self.remote, self.layout, self.info)
        self.old_serving = self.state.serving
        cur = self.state.ledger.current()
        if self.action == "deploy":
            return self._plan_deploy(cur)
        return self._plan_rollback(cur)

    def _plan_deploy(self, cur: ledger.Release | None) -> str:
        if not self.state.serving and not self.bootstrap:
            raise UnitError("nothing is serving on this host yet: run `deployer bootstrap` first")
        art = self.artifact
        if art is None:  # an environment change: a copy of the current release's files
            if cur is None or cur.id not in self.state.release_dirs:
                raise UnitError("no current release to restart with the new environment")
            self.copy_from = cur.id
            sha, version, commit = cur.sha256, cur.version, cur.commit
            if self.env_for is not None:
                self._compute_env()
        else:
            sha, version, commit = art.sha256, art.version or "", art.commit or ""
            same = already_current(self.state, sha)
            if same is not None:
                self.noop, self.release_id, self.release = True, same.id, same
                self._audit("ok", "artifact already current")
                raise Stop(f"artifact {sha[:12]} is already current (release {same.id}): no-op")
        self.release_id = new_release_id(sha)
        self.release = ledger.Release(
            id=self.release_id,
            sha256=sha,
            version=version,
            commit=commit,
            time=now_iso(),
            who=self.who,
            status="good",
            note=self.message,
        )
        return f"held; new release {self.release_id}"

    def _compute_env(self) -> None:
        """The new .env from the one on the host, read under the lock (a concurrent change
        is either done before, and kept, or refused by the lock: never lost)."""
        from deployer.ops.exec import env_file

        env_path = env_file(self.layout)
        current = self.remote.run(["cat", "--", env_path], sudo=True, what="read .env").stdout
        change = self.env_for(current)
        if change is None:
            self.noop = True
            raise Stop("environment unchanged: no-op")
        self.env_text, note = change
        self.message = self.message or note

    def _plan_rollback(self, cur: ledger.Release | None) -> str:
        target = rollback_target(self.state, self.rollback_to)
        if cur is not None and target.id == cur.id:
            self.noop, self.release_id, self.release = True, cur.id, cur
            raise Stop(f"release {cur.id} is already current: no-op")
        self.release_id, self.release = target.id, target
        warm = " (warm)" if target.id in self.state.warm else ""
        return f"held; rolling back to {target.id} ({target.version}){warm}"

    def phase_upload(self) -> Done | str:
        art = self.artifact
        if art is None:
            return f"nothing to upload: the files of {self.copy_from}"
        path = str(self.layout.artifact(art.sha256))
        q = shlex.quote
        have = self.remote.sh(f"test -s {q(path)} && sha256sum {q(path)} || true").stdout
        if have.split()[:1] == [art.sha256]:
            return "already on the host"
        self.remote.sh(f"mkdir -p -m 0750 -- {q(str(self.layout.artifacts))}")
        self.remote.write_file(path, art.path.read_bytes(), mode="0640")
        return Done([Uploaded(self.release_id)], f"{art.path.stat().st_size // 1024} KiB")

    def phase_install(self) -> Done:
        spec = self.target.app
        if self.copy_from:
            venv = install.copy_release(
                self.remote,
                self.layout,
                self.copy_from,
                self.release_id,
                workers=spec.workers,
                deps=spec.dependencies(),
            )
        else:
            venv = install.install_release(
                self.remote,
                self.layout,
                self.artifact,
                self.release_id,
                workers=spec.workers,
                deps=spec.dependencies(),
                reuse_from=self.old_serving,  # its venv, when the requirements are the same
            )
        if self.env_text:  # from here on (migrations too); the old instance keeps its own
            from deployer.ops import env as app_env

            self.remote.sh(app_env.swap_script(self.app_env_path, self.layout.app),
                           stdin=self.env_text.encode(), what="write .env")  # fmt: skip
            self.env_swapped = True
        where = str(self.layout.release(self.release_id))
        return Done([Installed(self.release_id)], f"{where}; {venv}" if venv else where)

    def undo_install(self, _err: UnitError) -> str:
        if not self.env_swapped:
            return ""
        from deployer.ops.env import restore_script

        self.remote.sh(restore_script(self.app_env_path), what="restore .env")
        return "previous .env restored"

    @property
    def keep_warm(self) -> int:
        """Seconds the retired release stays warm: none for an environment change (its
        instance holds the old values)."""
        return 0 if self.copy_from else self.target.app.keep_warm

    @property
    def app_env_path(self) -> str:
        from deployer.ops.exec import env_file

        return env_file(self.layout)

    def phase_migrate(self) -> Done | str:
        if not self.target.app.migrations:
            return "no migrations configured"
        if not migrations.migrate(self.remote, self.target, self.release_id):
            return "skipped: the database has run these migration scripts already"
        return Done([Migrated(self.release_id)], "alembic upgrade head")

    def phase_start(self) -> Done | str:
        new_unit = self.layout.unit(self.release_id)
        self.old_units = [u for u in self.state.active_units if u != new_unit]
        self._write_role_units()
        self.started = True
        if self.action == "rollback" and new_unit in self.state.active_units:
            # kept warm since it served: end its window, start it again at boot
            q = shlex.quote
            script = f"{switch.unwarm_script(self.layout, [self.release_id])}; "
            script += f"systemctl enable --quiet --no-reload {q(new_unit)}"
            self.remote.sh(script, what=f"keep {new_unit}")
            return f"{new_unit} is running (warm): no start"
        # Enabled without a daemon reload (0.1-0.3 s on the way to the health check): that only
        # writes the boot-time symlink; the role units written above are loaded in drain.
        switch.start_instance(self.remote, self.layout, self.release_id, restart=True, reload=False)
        return Done([Started(self.release_id)], new_unit)

    def _write_role_units(self) -> None:
        """The process roles' template units and the scheduled jobs' services and timers, made
        from the web unit (loaded by the daemon reload in the drain phase)."""
        from deployer.ops import processes
        from deployer.ops.schedule import job_units
        from deployer.release.unit import web_unit

        spec, app = self.target.app, self.layout.app
        web = web_unit(self.target) if spec.processes or spec.schedule else ""
        for role, command in sorted(spec.processes.items()):
            text = processes.role_unit(web, app, role, command)
            self.remote.write_file(processes.unit_path(app, role), text.encode())
        for name, job in sorted(spec.schedule.items()):
            for unit, text in job_units(web, app, name, job).items():
                self.remote.write_file(f"/etc/systemd/system/{unit}", text.encode())

    def _hook(self, name: str) -> str:
        """Run deployer.toml's hook *name* as the app user in the release being made current."""
        from deployer.ops.exec import as_app_shell_argv

        cmd = self.target.app.hooks[name]
        argv = as_app_shell_argv(self.layout, self.layout.release(self.release_id), cmd)
        out = self.remote.run(argv, sudo=True, what=f"{name} hook").stdout
        return out.strip().splitlines()[-1][:120] if out.strip() else cmd[:120]

    def phase_pre_switch(self) -> str:
        return self._hook("pre_switch")

    def phase_post_switch(self) -> str:
        return self._hook("post_switch")

    def phase_post_rollback(self) -> str:
        return self._hook("post_rollback")

    def phase_health(self) -> str:
        paths = self.target.app.gate_paths  # health, then readiness: the gate
        body = switch.wait_healthy(self.remote, self.layout, self.release_id, paths)
        return body.strip()[:120]

    def phase_switch(self) -> Done:
        waited = self.before_switch() if self.before_switch else ""
        self.switched = True  # from here on, undo points the symlink back
        # warmed ahead of its batch (a fleet's): asked again, in the switch's round trip
        gate = self.target.app.gate_paths if self.recheck else ()
        switch.switch_traffic(self.remote, self.layout, self.release_id, gate=gate)
        to = f"{self.layout.serving_socket} -> {self.layout.socket(self.release_id)}"
        return Done([Switched(self.release_id)], "; ".join(d for d in (to, waited) if d))

    def phase_drain(self) -> Done:
        # The release that served stays warm (deploys only) or, like every other old instance,
        # is stopped once no connection waits in its accept queue; systemd finishes the graceful
        # stop on its own. Same round trip: the daemon reload for role and job units.
        keep = warm_keeper(self.old_serving, self.release_id, self.action, self.keep_warm)
        if keep and self.layout.unit(keep) not in self.old_units:
            keep = ""  # not running: nothing to keep
        doomed = [u for u in self.old_units if not keep or u != self.layout.unit(keep)]
        rids = [self.layout.release_of_unit(u) for u in doomed]
        sockets = [str(self.layout.socket(r)) for r in rids if r]
        # unit files written by the start phase (roles, jobs) need the daemon reload; enabling
        # with --no-reload only wrote a boot-time symlink, which systemd reads at boot anyway
        reload = bool(self.target.app.processes or self.target.app.schedule)
        parts = ["systemctl daemon-reload & r=$!" if reload else "r="]
        if keep:
            until = time_in(self.keep_warm)
            parts.append(switch.keep_warm_script(self.layout, keep, self.keep_warm, until))
        parts += [switch.drain_script(sockets), '[ -z "$r" ] || wait $r']
        parts.append(switch.unwarm_script(self.layout, [r for r in rids if r in self.state.warm]))
        if self.env_swapped:  # the old values are not needed any more
            parts.append(f"rm -f -- {shlex.quote(self.app_env_path + '.previous')}")
        switch.stop_instances(self.remote, doomed, wait=False, before="; ".join(parts))
        stopped = [Stopped(r) for r in rids if r]
        detail = f"stopped {', '.join(doomed) or 'nothing'}"
        if keep:
            detail += f"; {keep} kept warm for {self.keep_warm} s"
        roles = self.target.app.processes
        if roles:  # started on the release that now serves; the older ones drained
            from deployer.ops.processes import move_script

            self.remote.sh(move_script(self.layout, roles, self.release_id), what="processes")
            detail += f"; {', '.join(sorted(roles))} moved to {self.release_id}"
        jobs = self.target.app.schedule
        if jobs:  # they run in `current`: enabling their timers is all a deploy does
            from deployer.ops.schedule import timer_name

            timers = " ".join(timer_name(self.layout.app, n) for n in sorted(jobs))
            self.remote.sh(f"systemctl enable --now --quiet {timers}", what="timers")
            detail += f"; timers {timers}"
        retired = self._retire_roles()
        detail += f"; retired {retired}" if retired else ""
        return Done(list(stopped), detail)

    def _retire_roles(self) -> str:
        """Stop and remove the units of roles and jobs that deployer.toml no longer names."""
        from deployer.ops import retire

        app, spec = self.layout.app, self.target.app
        listed = self.remote.sh(retire.found_script(app), what="list role units").stdout
        gone = retire.stale(app, spec.processes, spec.schedule, retire.parse_found(listed))
        if gone:
            self.remote.sh(retire.retire_script(app, gone), what="retire roles and jobs")
        return gone.summary()

    def phase_record(self) -> Done:
        led = self.state.ledger  # read under the lock we still hold
        rel = self.release
        assert rel is not None
        deployed = self.action == "deploy"
        led = led.add(led.get(rel.id) or rel).make_current(rel.id, deployed=deployed)
        write_ledger(
            self.remote,
            self.layout,
            led,
            self._entry("ok", self.message),
            then=self._unlock_after(
                "record", switch.set_current_script(self.layout, self.release_id)
            ),
        )
        self.recorded = led
        self.unlocked = self._last_before_unlock("record")
        return Done([Recorded(rel.id)], f"{rel.id} current")

    def phase_cleanup(self) -> Done:
        recorded = self.recorded
        dirs = {*self.state.release_dirs, self.release_id}
        doomed = ledger.retention(list(dirs), recorded, self.keep)
        present = dirs - set(doomed)
        led = recorded.without({r.id for r in recorded.releases if r.id not in present})
        keep_shas = {r.sha256 for r in led.releases}
        prune = prune_script(self.layout, doomed, keep_shas)
        if led == recorded:
            self.remote.sh(self._unlock_after("cleanup", prune), what="remove old releases")
        else:  # the ledger is written last, still under the lock
            self.remote.sh(prune, what="remove old releases")
            write_ledger(self.remote, self.layout, led, then=self._unlock_after("cleanup"))
        self.unlocked = self._last_before_unlock("cleanup")
        detail = f"removed {len(doomed)}; {len(present)} kept (keep={self.keep})"
        return Done([Removed(r) for r in doomed], detail)

    def phase_unlock(self) -> str:
        if self.unlocked:
            return "released with the step before"
        release_lock(self.remote, self.layout, self.info)
        return ""

    def _last_before_unlock(self, phase: str) -> bool:
        names = self.phase_names
        return names.index("unlock") == names.index(phase) + 1

    def _unlock_after(self, phase: str, script: str = "") -> str:
        """*script*, then the lock release when *phase* is the last before ``unlock``: one
        round trip fewer. Released last, after the phase's work (a ledger write stops the
        script at its first error, so a failed write keeps the lock for the unlock phase)."""
        if not self._last_before_unlock(phase):
            return script
        release = release_script(self.layout.lock_dir, self.info.token)
        return f"{script}; {release}" if script else release

    # -- undo (newest first, after a failure up to the switch: see ``deployer.engine``) ----------
    def undo_switch(self, _err: UnitError) -> str:
        if not self.switched or not self.old_serving:
            return ""
        switch.switch_traffic(self.remote, self.layout, self.old_serving)
        return f"traffic back to {self.old_serving}"

    def undo_start(self, _err: UnitError) -> str:
        if not self.started or self.release_id == self.old_serving:
            return ""
        switch.stop_instances(self.remote, [self.layout.unit(self.release_id)])
        return f"stopped {self.layout.unit(self.release_id)}"

    def undo_lock(self, err: UnitError) -> str:
        """The release this run planned is marked bad (so rollback never picks it)."""
        if err.unit in ("lock", STOP) or self.release is None:
            return ""
        return self._mark_bad(f"{err.unit}: {err.message}"[:300])

    def _mark_bad(self, note: str) -> str:
        rel = self.release
        assert rel is not None
        led = marked_bad(read_state(self.remote, self.layout).ledger, rel, note)
        if led is None:
            return ""
        write_ledger(self.remote, self.layout, led)
        return f"marked {rel.id} bad"


# -- decisions: pure functions of the host's release state ---------------------------------------
def warm_keeper(serving: str, new: str, action: str, seconds: int) -> str:
    """The release kept warm after a switch to *new*: the one that served, after a deploy
    with a window ('' if none: a rollback retires a release that failed its users)."""
    if action != "deploy" or seconds <= 0 or not serving or serving == new:
        return ""
    return serving


def time_in(seconds: int) -> str:
    """UTC time *seconds* from now, ISO 8601 (when a warm window ends, for ``status``)."""
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def already_current(state: HostState, sha256: str) -> ledger.Release | None:
    """The current release when it runs this artifact and ``current`` names it (deploying it
    again is a no-op); None when a deploy must happen."""
    cur = state.ledger.current()
    if cur is not None and cur.sha256 == sha256 and state.current_link == cur.id:
        return cur
    return None


def rollback_target(state: HostState, release_id: str = "") -> ledger.Release:
    """The release a rollback goes to (*release_id*, or the previous good one); refused with a
    UnitError when there is none, it is marked bad, or its directory is gone."""
    led = state.ledger
    target = led.get(release_id) if release_id else led.rollback_target()
    if target is None:
        wanted = release_id or "previous good release"
        raise UnitError(f"no {wanted} to roll back to (see `deployer releases`)")
    if target.status == "bad":
        raise UnitError(f"release {target.id} is marked bad; refusing to roll back to it")
    if target.id not in state.release_dirs and target != led.current():
        raise UnitError(f"release directory of {target.id} is gone (retention)")
    return target


def marked_bad(led: ledger.Ledger, release: ledger.Release, note: str) -> ledger.Ledger | None:
    """The ledger with *release* marked bad (added if it is new); None if it is serving."""
    existing = led.get(release.id)
    if existing is not None and existing.status == "current":
        return None
    return led.add(replace(existing or release, status="bad", note=note))


def fetch_artifact(remote: Remote, layout: Layout, sha256: str, out_dir: Path) -> Path:
    """Download the artifact a host keeps for ``sha256`` and check its hash (for promotion)."""
    path = str(layout.artifact(sha256))
    res = remote.sh(f"base64 -w0 -- {shlex.quote(path)}", what="read artifact")
    data = base64.b64decode(res.stdout.strip())
    if hashlib.sha256(data).hexdigest() != sha256:
        raise UnitError(f"artifact on the source host does not match {sha256[:12]}")
    out_dir.mkdir(parents=True, exist_ok=True)
    local = out_dir / f"{layout.app}-{sha256[:16]}.tar"
    local.write_bytes(data)
    return local
