"""The Windows and macOS autostart backends, run here against fake OS layers.

FakeRegistry behaves like HKEY_CURRENT_USER under winreg (values per key, delete of a
missing value reports False); FakeLaunchctl keeps launchd's view of the user's jobs
and answers `launchctl print/enable` the way launchctl does (exit 0 or 113 "not found").
"""

from __future__ import annotations

import plistlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.platforms import posix_only
from traycap.autostart import (
    APPROVED_FOLDER_KEY,
    APPROVED_RUN_KEY,
    LAUNCH_AGENT_LABEL,
    RUN_KEY,
    CommandResult,
    LaunchAgentAutostart,
    LaunchCommand,
    WindowsAutostart,
    launch_agent_plist,
)
from traycap.errors import AutostartError

WIN_CMD = LaunchCommand(argv=(r"C:\Users\Ana Li\AppData\Local\Programs\traycap\traycapw.exe", "tray"))
MAC_CMD = LaunchCommand(
    argv=("/Applications/Traycap.app/Contents/MacOS/traycap", "tray"), env=(("TRAYCAP_HOME", "/Users/a/tc"),)
)


# --- Windows ----------------------------------------------------------------------------------
@dataclass
class FakeRegistry:
    values: dict[tuple[str, str], str | bytes] = field(default_factory=dict)

    def get(self, key: str, name: str) -> str | bytes | None:
        return self.values.get((key, name))

    def set_string(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> bool:
        return self.values.pop((key, name), None) is not None


def _windows(tmp_path: Path) -> tuple[WindowsAutostart, FakeRegistry, Path]:
    registry = FakeRegistry()
    startup = tmp_path / "Startup"
    startup.mkdir()
    return WindowsAutostart(registry=registry, startup_dir=startup), registry, startup


def test_windows_round_trip_and_idempotence(tmp_path: Path) -> None:
    backend, registry, _ = _windows(tmp_path)
    assert backend.status(WIN_CMD).enabled is False

    on = backend.enable(WIN_CMD)
    stored = registry.values[(RUN_KEY, "traycap")]
    # The path has a space: Windows needs it quoted in the Run value.
    assert stored == '"C:\\Users\\Ana Li\\AppData\\Local\\Programs\\traycap\\traycapw.exe" tray'
    assert on.enabled and on.current is True and on.command == stored

    snapshot = dict(registry.values)
    assert backend.enable(WIN_CMD) == on and registry.values == snapshot

    off = backend.disable()
    assert off.enabled is False and registry.values == {}
    assert backend.disable().enabled is False


def test_windows_status_notices_another_binary(tmp_path: Path) -> None:
    backend, registry, _ = _windows(tmp_path)
    registry.set_string(RUN_KEY, "traycap", r"C:\old\traycap.exe tray")
    status = backend.status(WIN_CMD)
    assert status.enabled and status.current is False


def test_windows_task_manager_disable_is_reported_and_on_undoes_it(tmp_path: Path) -> None:
    backend, registry, _ = _windows(tmp_path)
    backend.enable(WIN_CMD)
    registry.values[(APPROVED_RUN_KEY, "traycap")] = bytes([3, 0, 0, 0]) + bytes(8)  # Task Manager: Disabled
    status = backend.status(WIN_CMD)
    assert status.enabled is False and any("Task Manager" in n for n in status.notes)

    assert backend.enable(WIN_CMD).enabled is True
    assert (APPROVED_RUN_KEY, "traycap") not in registry.values
    registry.values[(APPROVED_RUN_KEY, "traycap")] = bytes([2, 0, 0, 0]) + bytes(8)  # explicitly enabled
    assert backend.status().enabled is True


def test_windows_sees_the_installers_startup_shortcut_and_keeps_one_entry(tmp_path: Path) -> None:
    backend, registry, startup = _windows(tmp_path)
    shortcut = startup / "traycap.lnk"
    shortcut.write_bytes(b"L\x00\x00\x00 fake shell link")

    status = backend.status()
    assert status.enabled and status.location == str(shortcut)
    registry.values[(APPROVED_FOLDER_KEY, "traycap.lnk")] = bytes([3, 0, 0, 0])
    assert backend.status().enabled is False

    # on replaces the shortcut by the Run value: one entry, or traycap starts twice.
    on = backend.enable(WIN_CMD)
    assert on.enabled and not shortcut.exists() and (APPROVED_FOLDER_KEY, "traycap.lnk") not in registry.values

    shortcut.write_bytes(b"L\x00\x00\x00 again")
    off = backend.disable()
    assert off.enabled is False and not shortcut.exists() and registry.values == {}


def test_windows_without_appdata_still_manages_the_run_value() -> None:
    registry = FakeRegistry()
    backend = WindowsAutostart(registry=registry, startup_dir=None)
    assert backend.enable(WIN_CMD).enabled
    assert backend.disable().enabled is False and registry.values == {}


def test_windows_backend_does_not_claim_to_carry_environment() -> None:
    assert WindowsAutostart(registry=FakeRegistry(), startup_dir=None).capabilities.carries_env is False


# --- macOS ------------------------------------------------------------------------------------
@dataclass
class FakeLaunchctl:
    """launchd's view of `gui/<uid>`: which labels are loaded and which are disabled."""

    uid: int
    loaded: set[str] = field(default_factory=set)
    disabled: set[str] = field(default_factory=set)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    fail_enable: bool = False

    def __call__(self, argv: Sequence[str]) -> CommandResult:
        self.calls.append(tuple(argv))
        assert argv[0] == "launchctl"
        verb, target = argv[1], argv[2]
        domain, _, label = target.rpartition("/")
        assert domain == f"gui/{self.uid}", target
        if verb == "print":
            if label in self.loaded:
                return CommandResult(0, f"{target} = {{\n\tstate = running\n}}\n")
            return CommandResult(113, "", f"Could not find service \"{label}\" in domain for user gui: {self.uid}\n")
        if verb == "enable":
            if self.fail_enable:
                return CommandResult(1, "", "Operation not permitted\n")
            self.disabled.discard(label)
            return CommandResult(0)
        raise AssertionError(f"unexpected launchctl call: {argv}")


def _mac(tmp_path: Path) -> tuple[LaunchAgentAutostart, FakeLaunchctl, Path]:
    fake = FakeLaunchctl(uid=501)
    agents = tmp_path / "Library" / "LaunchAgents"
    return LaunchAgentAutostart(agents_dir=agents, run=fake, uid=501), fake, agents / f"{LAUNCH_AGENT_LABEL}.plist"


@posix_only  # checks the agent's 0644 mode
def test_macos_round_trip_writes_a_valid_launch_agent(tmp_path: Path) -> None:
    backend, fake, plist_path = _mac(tmp_path)
    assert backend.status(MAC_CMD).enabled is False

    fake.disabled.add(LAUNCH_AGENT_LABEL)  # e.g. left over from an earlier `launchctl disable`
    on = backend.enable(MAC_CMD)
    assert on.enabled and on.current is True and on.location == str(plist_path)
    assert LAUNCH_AGENT_LABEL not in fake.disabled
    # It must not bootstrap the job now: that would start a second traycap.
    assert not any(c[1] in ("bootstrap", "load", "kickstart") for c in fake.calls)

    plist = plistlib.loads(plist_path.read_bytes())
    assert plist["Label"] == LAUNCH_AGENT_LABEL
    assert plist["ProgramArguments"] == list(MAC_CMD.argv)
    assert plist["RunAtLoad"] is True
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["LimitLoadToSessionType"] == "Aqua"
    assert plist["EnvironmentVariables"] == {"TRAYCAP_HOME": "/Users/a/tc"}
    assert oct(plist_path.stat().st_mode & 0o777) == oct(0o644)

    first = plist_path.read_bytes()
    assert backend.enable(MAC_CMD) == on and plist_path.read_bytes() == first

    off = backend.disable()
    assert off.enabled is False and not plist_path.exists() and off.notes == ()
    assert backend.disable().enabled is False


def test_macos_off_while_the_job_is_loaded_keeps_the_running_app(tmp_path: Path) -> None:
    backend, fake, _ = _mac(tmp_path)
    backend.enable(MAC_CMD)
    fake.loaded.add(LAUNCH_AGENT_LABEL)  # launchd started it at this login
    off = backend.disable()
    assert off.enabled is False
    assert any("still loaded" in n for n in off.notes)
    assert not any(c[1] in ("bootout", "remove", "unload") for c in fake.calls)


def test_macos_status_notices_another_app_path(tmp_path: Path) -> None:
    backend, _, _ = _mac(tmp_path)
    backend.enable(LaunchCommand(argv=("/Users/a/Downloads/Traycap.app/Contents/MacOS/traycap", "tray")))
    status = backend.status(MAC_CMD)
    assert status.enabled and status.current is False
    assert status.command == subprocess.list2cmdline(["/Users/a/Downloads/Traycap.app/Contents/MacOS/traycap", "tray"])


def test_macos_launchctl_failure_is_reported_not_hidden(tmp_path: Path) -> None:
    backend, fake, plist_path = _mac(tmp_path)
    fake.fail_enable = True
    on = backend.enable(MAC_CMD)
    assert on.enabled and plist_path.exists()
    assert any("launchctl enable failed (Operation not permitted)" in n for n in on.notes)


def test_macos_corrupt_plist_is_a_clear_error(tmp_path: Path) -> None:
    backend, _, plist_path = _mac(tmp_path)
    plist_path.parent.mkdir(parents=True)
    plist_path.write_bytes(b"<?xml version='1.0'?><plist><dict><key>Label")
    with pytest.raises(AutostartError) as info:
        backend.status()
    assert "traycap autostart on" in info.value.user_text()
    assert backend.enable(MAC_CMD).enabled  # and on repairs it


def test_macos_disabled_key_in_plist_means_off(tmp_path: Path) -> None:
    backend, _, plist_path = _mac(tmp_path)
    plist = launch_agent_plist(MAC_CMD)
    plist["Disabled"] = True
    plist_path.parent.mkdir(parents=True)
    plist_path.write_bytes(plistlib.dumps(plist))
    assert backend.status(MAC_CMD).enabled is False


def test_launch_agent_template_matches_what_the_backend_writes() -> None:
    """installer/macos's template is what a packager installs by hand; keep it in step."""
    template = Path(__file__).resolve().parents[2] / "installer" / "macos" / f"{LAUNCH_AGENT_LABEL}.plist"
    text = template.read_text(encoding="utf-8").replace("@APP_EXECUTABLE@", MAC_CMD.argv[0])
    written = plistlib.loads(text.encode("utf-8"))
    expected = launch_agent_plist(LaunchCommand(argv=MAC_CMD.argv))
    assert written == expected


# --- the real adapters, where this machine can run them ------------------------------------------
@posix_only  # on Windows the real registry is used (the bench's autostart test)
def test_winreg_adapter_refuses_off_windows() -> None:
    from traycap.autostart import WinregRegistry
    from traycap.errors import AutostartUnsupported

    with pytest.raises(AutostartUnsupported):
        WinregRegistry().get(RUN_KEY, "traycap")


def test_real_runner_reports_a_missing_launchctl_instead_of_raising(tmp_path: Path) -> None:
    from traycap.autostart import run_subprocess

    result = run_subprocess(["launchctl-does-not-exist-here", "print", "gui/501/x"])
    assert result.returncode == 127 and result.stderr
    backend = LaunchAgentAutostart(agents_dir=tmp_path, run=run_subprocess, uid=501)
    assert backend.status().enabled is False  # no plist, launchctl missing: off, no crash
