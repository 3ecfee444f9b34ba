"""Who scripts run as: keepalived's ``script_user`` / ``user USER [GROUP]`` rule, and the uid, gid and
(no) supplementary groups the script really gets."""

from __future__ import annotations

import asyncio
import grp
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path
from types import SimpleNamespace

import pytest

from pykeepalived.check.probes import MiscSpec
from pykeepalived.check.probes.misc import misc_probe
from pykeepalived.config.kaconf import parse
from pykeepalived.config.load import Syntax, check_config
from pykeepalived.config.model import Config
from pykeepalived.config.script_security import AS_DAEMON, ScriptIdentity, script_identity
from pykeepalived.host.notify_fifo import NotifyFifos
from pykeepalived.host.scripts import EXIT_NOT_RUN, ScriptRunner
from pykeepalived.host.track_script import TrackScript
from pykeepalived.vrrp.from_config import vrrp_plan

USERS = {"keepalived_script": (990, 980), "web": (1000, 1000), "root": (0, 0)}
GROUPS = {"staff": 50, "wheel": 10, "root": 0}


def _pw(name: str) -> SimpleNamespace:
    uid, gid = USERS[name]  # KeyError for an unknown user, like pwd.getpwnam
    return SimpleNamespace(pw_uid=uid, pw_gid=gid)


def _gr(name: str) -> SimpleNamespace:
    return SimpleNamespace(gr_gid=GROUPS[name])


def ident(user: str | None = None, group: str | None = None, *, euid: int = 0,
          users: tuple[str, ...] = tuple(USERS), **defaults: str | None) -> ScriptIdentity:
    def getpwnam(name: str) -> SimpleNamespace:
        if name not in users:
            raise KeyError(name)
        return _pw(name)
    return script_identity(user, group, euid=euid, getpwnam=getpwnam, getgrnam=_gr, **defaults)


def test_the_scripts_own_user_wins_and_the_group_defaults_to_its_primary_group() -> None:
    assert ident("web", default_user="keepalived_script") == ScriptIdentity("web", 1000, 1000)
    assert ident("web", "staff", default_user="keepalived_script", default_group="wheel") == \
        ScriptIdentity("web", 1000, 50)


def test_script_user_is_the_default_with_its_group() -> None:
    assert ident(default_user="web") == ScriptIdentity("web", 1000, 1000)
    assert ident(default_user="web", default_group="staff") == ScriptIdentity("web", 1000, 50)


def test_keepalived_script_if_it_exists_else_root() -> None:
    assert ident() == ScriptIdentity("keepalived_script", 990, 980)
    assert ident(users=("web",)) is AS_DAEMON


def test_root_and_a_non_root_daemon_run_scripts_as_the_daemon() -> None:
    assert ident("root") is AS_DAEMON
    assert ident("web", euid=1000) is AS_DAEMON
    assert ident("root", "staff") == ScriptIdentity("root", 0, 50)


def test_an_unknown_user_or_group_is_an_error_not_root() -> None:
    assert ident("ghost").error == "script user 'ghost' does not exist"
    assert ident(default_user="ghost").error == "script user 'ghost' does not exist"
    assert ident("web", "ghosts").error == "script group 'ghosts' does not exist"
    assert ident("web", "ghosts").subprocess_kwargs() == {}


def test_subprocess_arguments_drop_supplementary_groups() -> None:
    kwargs = ScriptIdentity("web", 1000, 50).subprocess_kwargs()
    assert kwargs == {"user": 1000, "group": 50, "extra_groups": []}
    assert AS_DAEMON.subprocess_kwargs() == {}


CONF = """global_defs {
    script_user nobody nogroup
}
vrrp_script chk {
    script "/bin/true"
    user daemon daemon
}
vrrp_script plain {
    script "/bin/true"
}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.1/24
    }
    track_script {
        chk
        plain
    }
}
virtual_server 192.0.2.1 80 {
    real_server 192.0.2.10 80 {
        MISC_CHECK {
            misc_path /bin/true
            user daemon daemon
        }
    }
}
"""


def test_keepalived_conf_user_and_group_are_read_without_warnings(tmp_path: Path) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    result = parse(path)
    assert result.diagnostics == []
    config = Config.model_validate(result.data)
    assert (config.global_defs.script_user, config.global_defs.script_group) == ("nobody", "nogroup")
    assert (config.vrrp_scripts["chk"].user, config.vrrp_scripts["chk"].group) == ("daemon", "daemon")
    misc = config.virtual_servers[0].real_servers[0].checkers[0]
    assert (misc.user, misc.group) == ("daemon", "daemon")  # type: ignore[union-attr]
    report = check_config(str(path), syntax=Syntax.KEEPALIVED)
    assert not [d for d in report.diagnostics if d.code in {"not_implemented", "unsupported_keyword"}]


def test_a_repeated_user_keyword_replaces_the_group_too(tmp_path: Path) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF.replace("user daemon daemon\n}", "user daemon daemon\n    user bin\n}", 1))
    config = Config.model_validate(parse(path).data)
    assert (config.vrrp_scripts["chk"].user, config.vrrp_scripts["chk"].group) == ("bin", None)


def test_the_vrrp_plan_carries_who_every_script_runs_as(tmp_path: Path) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    config = Config.model_validate(parse(path).data)
    plan = vrrp_plan(config, lambda _name, _family: IPv4Address("192.0.2.2"))
    assert plan.script_identity == script_identity("nobody", "nogroup")
    assert plan.scripts["chk"].identity == script_identity("daemon", "daemon")
    assert plan.scripts["plain"].identity == plan.script_identity


# --- really running as another user (root only) ----------------------------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing user needs root")


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory other users can reach (pytest's tmp_path is under a 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="pyka-script-identity-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def _id_script(tmp_path: Path) -> tuple[Path, Path]:
    """A script writing ``id -u``, ``id -g`` and ``id -G`` to a file that anyone may write."""
    out = tmp_path / "id.out"
    out.touch()
    out.chmod(0o666)
    script = tmp_path / "id.sh"
    script.write_text(f"#!/bin/sh\n{{ id -u; id -g; id -G; }} > {out}\n")
    script.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return script, out


def _nobody() -> tuple[int, int]:
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


@needs_root
def test_a_notify_script_runs_with_the_users_uid_gid_and_no_other_groups(open_dir: Path) -> None:
    script, out = _id_script(open_dir)
    uid, gid = _nobody()
    runner = ScriptRunner(identity=script_identity(default_user="nobody"))
    result = asyncio.run(runner.run([str(script)], 10))
    assert result.ok, result
    assert out.read_text().split() == [str(uid), str(gid), str(gid)]


@needs_root
def test_the_notify_fifo_script_runs_as_script_user_too(open_dir: Path) -> None:
    script, out = _id_script(open_dir)
    uid, gid = _nobody()
    runner = ScriptRunner(identity=script_identity(default_user="nobody"))

    async def start_and_wait() -> str:
        fifos = NotifyFifos([str(open_dir / "events.fifo")], str(script))
        await fifos.start(runner)
        try:
            async with asyncio.timeout(10):
                while len(out.read_text().split()) < 3:  # written by three commands
                    await asyncio.sleep(0.02)
        finally:
            await fifos.close()
        return out.read_text()

    assert asyncio.run(start_and_wait()).split() == [str(uid), str(gid), str(gid)]


@needs_root
def test_a_vrrp_script_runs_as_its_own_user_and_group(open_dir: Path) -> None:
    from pykeepalived.vrrp.tracking import TrackScriptSpec  # noqa: PLC0415 - test-local

    script, out = _id_script(open_dir)
    uid, _gid = _nobody()
    root_group = grp.getgrgid(0).gr_name
    spec = TrackScriptSpec("chk", (str(script),), identity=script_identity("nobody", root_group))
    track = TrackScript(spec, ScriptRunner(identity=script_identity("root")), lambda _n, _up: None)
    asyncio.run(track.check_once())
    assert track.last_exit == 0
    assert out.read_text().split() == [str(uid), "0", "0"]


@needs_root
def test_a_misc_check_runs_with_the_users_gid_not_roots(open_dir: Path) -> None:
    script, out = _id_script(open_dir)
    uid, gid = _nobody()
    result = asyncio.run(misc_probe(MiscSpec((str(script),), 10, identity=script_identity("nobody"))))
    assert result.ok, result
    assert out.read_text().split() == [str(uid), str(gid), str(gid)]


def test_an_unknown_user_refuses_the_script_instead_of_running_it_as_root(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    argv = ["/bin/sh", "-c", f"touch {marker}"]
    bad = ScriptIdentity("ghost", error="script user 'ghost' does not exist")
    result = asyncio.run(ScriptRunner(identity=bad).run(argv, 10))
    assert (result.exit_code, result.reason) == (EXIT_NOT_RUN, "script user 'ghost' does not exist")
    probe = asyncio.run(misc_probe(MiscSpec(tuple(argv), 10, identity=bad)))
    assert not probe.ok and not marker.exists()
