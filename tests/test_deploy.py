"""The deployment files name real commands: compose.yaml's services, the systemd
units' ExecStart lines and the Dockerfile's entry command parse with the real CLI
(every flag in the command's --help, every value accepted); the Dockerfile's entry
command and healthcheck run for real. No Docker daemon runs here: the compose file's
structure is checked by hand, and with ``docker compose config`` too where that
plugin is installed (it is not on the development machine)."""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from monitor.cli.main import app
from monitor.cli.run import Role
from tests.conftest import ROOT, cli_env, wait_for

CLI = typer.main.get_command(app)
RUN_ROLES = {"crawl", "process", "dispatch"}
UNITS = ROOT / "deploy" / "systemd"


def _help_flags(command: str) -> set[str]:
    """The long options ``crisiswatch COMMAND --help`` lists."""
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return set(re.findall(r"--[a-z][a-z-]*", result.output))


def check_command(argv: list[str]) -> dict:
    """Fail unless ``crisiswatch ARGV`` is a real command whose flags its --help
    lists and whose values the CLI accepts; return the parsed parameters."""
    name, *args = argv
    command = CLI.get_command(None, name)
    assert command is not None, f"no command crisiswatch {name}"
    flags = {a.split("=")[0] for a in args if a.startswith("--")}
    assert flags <= _help_flags(name), flags - _help_flags(name)
    return command.make_context(name, list(args)).params


def test_check_command_refuses_what_the_cli_would():
    assert check_command(["run", "--role", "process"])["role"] is Role.process
    with pytest.raises(AssertionError):
        check_command(["run", "--rolls", "process"])
    with pytest.raises(Exception, match="not one of"):
        check_command(["run", "--role", "bogus"])
    with pytest.raises(AssertionError):
        check_command(["serve"])


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_postgres_one_of_each_role_and_the_console():
    services = _compose()["services"]
    assert set(services) == {"postgres", "web", *RUN_ROLES}
    pg = services["postgres"]["environment"]
    roles = set()
    for name, svc in services.items():
        if name == "postgres":
            continue
        params = check_command(svc["command"])
        assert svc["build"] == "." and svc["depends_on"]["postgres"]["condition"] == \
            "service_healthy"
        url = svc["environment"]["CRISISWATCH_DATABASE"]
        assert url == (f"postgresql+psycopg://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}"
                       f"@postgres:5432/{pg['POSTGRES_DB']}")
        mounts = [v.split(":")[1] for v in svc["volumes"]]
        assert str(params["config"]) in mounts, name
        if svc["command"][0] == "run":
            roles.add(params["role"].value)
            assert name == params["role"].value and params["metrics_port"] == 9464
    assert roles == RUN_ROLES
    web = check_command(services["web"]["command"])
    assert services["web"]["ports"] == [f"127.0.0.1:{web['port']}:{web['port']}"]
    assert "healthcheck" in services["postgres"]
    if _docker_compose():
        result = subprocess.run(["docker", "compose", "-f", str(ROOT / "compose.yaml"),
                                 "config", "--quiet"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def _docker_compose() -> bool:
    """``docker compose`` is usable (the plugin, not only the docker CLI)."""
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


def _unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(interpolation=None)
    unit.optionxform = str  # systemd keys are case-sensitive
    unit.read(path, encoding="utf-8")
    return unit


def test_systemd_units_start_each_role_and_the_console():
    units = {p.stem: _unit(p) for p in sorted(UNITS.glob("*.service"))}
    assert set(units) == {f"crisiswatch-{r}" for r in (*RUN_ROLES, "web")}
    ports = set()
    for name, unit in units.items():
        service = unit["Service"]
        assert service["User"] == "crisiswatch" and service["KillSignal"] == "SIGTERM"
        exe, *argv = shlex.split(service["ExecStart"])
        assert exe == "/opt/crisiswatch/bin/crisiswatch"
        params = check_command(argv)
        if argv[0] == "run":
            assert name == f"crisiswatch-{params['role'].value}"
            ports.add(params["metrics_port"])
    assert len(ports) == 3  # one host: each worker its own metrics port
    if shutil.which("systemd-analyze"):
        _verify_units(units)


def _verify_units(units: dict[str, configparser.ConfigParser]) -> None:
    """``systemd-analyze verify`` each unit, its binary pointed at this checkout's."""
    here = str(Path(sys.executable).parent / "crisiswatch")
    for path in UNITS.glob("*.service"):
        text = path.read_text(encoding="utf-8").replace("/opt/crisiswatch/bin/crisiswatch",
                                                        here)
        copy = Path(shutil.os.environ.get("TMPDIR", "/tmp")) / f"cwtest-{path.name}"
        copy.write_text(text, encoding="utf-8")
        try:
            result = subprocess.run(["systemd-analyze", "verify", str(copy)],
                                    capture_output=True, text=True, timeout=30)
        finally:
            copy.unlink()
        problems = [line for line in result.stderr.splitlines() if path.stem in line]
        assert not problems, problems


def _dockerfile() -> dict[str, list[str]]:
    """Each instruction's arguments, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            out.setdefault(word.upper(), []).append(rest.strip())
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dockerfile_is_non_root_and_its_entry_command_and_healthcheck_run(
        site, make_config):
    docker = _dockerfile()
    assert docker["FROM"] == ["python:3.11-slim"]
    assert docker["USER"] == ["crisiswatch"]
    assert any(r.startswith("pip install") for r in docker["RUN"])
    assert json.loads(docker["ENTRYPOINT"][0]) == ["crisiswatch"]
    cmd = json.loads(docker["CMD"][0])
    params = check_command(cmd)
    health = json.loads(docker["HEALTHCHECK"][0].split(" CMD ", 1)[1])
    assert f"127.0.0.1:{params['metrics_port']}/healthz" in health[-1]
    # the image's entry command, run here: the config and port are the test's own
    site.feeds["forum"] = []
    port = _free_port()
    argv = [a.replace(str(params["config"]), str(make_config(["forum"]))) for a in cmd]
    argv[argv.index("--metrics-port") + 1] = str(port)
    proc = subprocess.Popen([sys.executable, "-m", "monitor.cli", *argv], cwd=ROOT,
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    probe = [sys.executable if health[0] == "python" else health[0], *health[1:-1],
             health[-1].replace(f":{params['metrics_port']}/", f":{port}/")]
    try:
        wait_for(lambda: subprocess.run(probe, capture_output=True).returncode == 0, 30,
                 "the healthcheck to pass")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
