"""--scheduler, --dashboard-address and --connect-timeout: checked before anything starts, and a
dashboard listens on 127.0.0.1 unless the user names a host."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest
from click.testing import CliRunner

from pipeline import ConfigurationError, ExecutionSettings, registry, session
from pipeline.cli import cli
from tests.cluster_fixtures import occupied_port
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def no_cluster_may_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation must happen before any cluster or client is made."""
    import distributed

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cluster or client was started before validation")

    monkeypatch.setattr(distributed, "LocalCluster", refuse)
    monkeypatch.setattr(distributed, "Client", refuse)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--scheduler", "http://x"],
            "unsupported scheduler protocol 'http' in 'http://x'; expected tcp://HOST:PORT",
        ),
        (
            ["--scheduler", "garbage"],
            "invalid scheduler address 'garbage': expected tcp://HOST:PORT",
        ),
        (
            ["--scheduler", "tcp://[::1"],
            "invalid scheduler address 'tcp://[::1': expected tcp://HOST:PORT",
        ),
        (
            ["--scheduler", "inproc://x"],
            "unsupported scheduler protocol 'inproc' in 'inproc://x'; expected tcp://HOST:PORT",
        ),
        (
            ["--scheduler", "ucx://127.0.0.1:1"],
            "unsupported scheduler protocol 'ucx' in 'ucx://127.0.0.1:1'; expected tcp://HOST:PORT",
        ),
        (
            ["--scheduler", "tcp://127.0.0.1:0"],
            "invalid scheduler address 'tcp://127.0.0.1:0': "
            "expected tcp://HOST:PORT with a port 1-65535",
        ),
        (["--scheduler", ""], "the scheduler address is empty; expected tcp://HOST:PORT"),
        (
            ["--mode", "distributed", "--dashboard-address", "garbage"],
            "invalid dashboard address 'garbage': expected [HOST:]PORT, e.g. 127.0.0.1:8787",
        ),
        (
            ["--mode", "distributed", "--dashboard-address", "127.0.0.1:99999"],
            "invalid dashboard address '127.0.0.1:99999': the port must be 0-65535",
        ),
        (
            # 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never an address of this machine.
            ["--mode", "distributed", "--dashboard-address", "192.0.2.1:8787"],
            "cannot listen on dashboard host '192.0.2.1': Cannot assign requested address "
            "(not an address of this machine?)",
        ),
        (
            ["--mode", "distributed", "--connect-timeout", "inf"],
            "the connect timeout must be more than 0 and at most 86400 seconds, got inf",
        ),
        (
            ["--connect-timeout", "nan"],
            "the connect timeout must be more than 0 and at most 86400 seconds, got nan",
        ),
    ],
)
def test_bad_addresses_and_timeouts_are_one_line_before_anything_starts(
    toy_feature: registry.Feature,
    no_cluster_may_start: None,
    args: list[str],
    message: str,
) -> None:
    result = CliRunner().invoke(cli, ["toy", *args])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"Error: {message}\n"


def test_settings_reject_a_bad_scheduler_address_too() -> None:
    with pytest.raises(ConfigurationError, match="the scheduler address is empty"):
        ExecutionSettings(scheduler_address="")


def _listening_hosts(port: int) -> set[str]:
    return {
        conn.laddr.ip
        for conn in psutil.Process().net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port
    }


@pytest.mark.subprocess
@pytest.mark.parametrize("value", [":0", "0", ""])
def test_a_dashboard_address_without_host_listens_on_loopback_only(value: str) -> None:
    settings = ExecutionSettings(mode="distributed", workers=1, dashboard_address=value)
    with session(settings) as opened:
        link = opened.dashboard_link
        assert link is not None and link.startswith("http://127.0.0.1:"), link
        port = int(link.rsplit(":", 1)[1].split("/")[0])
        assert port != 0
        assert _listening_hosts(port) == {"127.0.0.1"}


@pytest.mark.subprocess
def test_a_taken_dashboard_port_is_one_info_line() -> None:
    with occupied_port() as port:
        result = subprocess.run(
            [
                sys.executable,
                str(REPO_ROOT / "cli.py"),
                "prime",
                "--mode",
                "distributed",
                "--worker",
                "1",
                "--format",
                "json",
                "--dashboard-address",
                f"127.0.0.1:{port}",
            ],
            cwd="/",
            capture_output=True,
            text=True,
            timeout=150,
        )
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    moved = [line for line in lines if "dashboard port" in line]
    assert len(moved) == 1, lines
    assert moved[0].startswith(f"INFO dashboard port {port} is not available; using port ")
    other = int(moved[0].rsplit("port ", 1)[1].split()[0])
    assert f"dashboard: http://127.0.0.1:{other}/status" in result.stderr
    assert "Warning" not in result.stderr and "already in use" not in result.stderr, lines


class _Refused(Exception):
    """Raised instead of starting a cluster: the test only looks at what came before."""


@pytest.mark.parametrize(
    ("address", "warned"),
    [("0.0.0.0:0", True), ("127.0.0.1:0", False), (":0", False), ("localhost:0", False)],
)
def test_a_dashboard_reachable_from_the_network_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, address: str, warned: bool
) -> None:
    import distributed

    from pipeline.engine import cluster
    from pipeline.engine.settings import ExecutionSettings

    def refuse(*args: object, **kwargs: object) -> None:
        raise _Refused

    monkeypatch.setattr(distributed, "LocalCluster", refuse)
    settings = ExecutionSettings(mode="distributed", workers=1, dashboard_address=address)
    with pytest.raises(_Refused), cluster.open_client(settings):
        pass
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    expected = [
        "the dashboard listens on 0.0.0.0: anyone who can reach this machine can open it "
        "(it has no authentication)"
    ]
    assert warnings == (expected if warned else [])
