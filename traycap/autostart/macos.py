"""macOS: a LaunchAgent plist in ~/Library/LaunchAgents (launchctl only to report)."""

from __future__ import annotations

import plistlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from traycap.autostart.base import (
    LAUNCH_AGENT_LABEL,
    AutostartStatus,
    Capabilities,
    LaunchCommand,
    _remove,
    _write_file,
)
from traycap.errors import AutostartError


# --- macOS: a LaunchAgent -------------------------------------------------------------------
@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str = ""
    stderr: str = ""


class Runner(Protocol):
    def __call__(self, argv: Sequence[str]) -> CommandResult: ...


def launch_agent_plist(command: LaunchCommand, label: str = LAUNCH_AGENT_LABEL) -> dict[str, object]:
    plist: dict[str, object] = {
        "Label": label,
        "ProgramArguments": list(command.argv),
        "RunAtLoad": True,
        # Restart after a crash, not after the user chose Quit (exit status 0).
        "KeepAlive": {"SuccessfulExit": False},
        "LimitLoadToSessionType": "Aqua",  # only in a graphical login, never over ssh
        "ProcessType": "Interactive",
    }
    if command.env:
        plist["EnvironmentVariables"] = dict(command.env)
    return plist


@dataclass(frozen=True)
class LaunchAgentAutostart:
    """~/Library/LaunchAgents/<label>.plist: launchd loads it at every login.

    on writes the plist and clears a `launchctl disable` override; it does not
    bootstrap the job now, which would start a second traycap beside the one
    running. off removes the plist and leaves a job loaded in this login alone
    (booting it out would quit the running app); status reports it.
    """

    agents_dir: Path
    run: Runner
    uid: int
    label: str = LAUNCH_AGENT_LABEL
    name: str = "launchagent"
    capabilities: Capabilities = Capabilities(True, True, "at the next login")

    @property
    def path(self) -> Path:
        return self.agents_dir / f"{self.label}.plist"

    @property
    def _target(self) -> str:
        return f"gui/{self.uid}/{self.label}"

    def _loaded(self) -> bool:
        return self.run(["launchctl", "print", self._target]).returncode == 0

    def status(self, expected: LaunchCommand | None = None) -> AutostartStatus:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            loaded = ("still loaded in this login session; it will not start at the next login",)
            return AutostartStatus(enabled=False, location=str(self.path), notes=loaded if self._loaded() else ())
        except OSError as exc:
            raise AutostartError(f"Could not read {self.path}: {exc.strerror or exc}") from exc
        try:
            plist = plistlib.loads(data)
        except Exception as exc:  # plistlib raises several unrelated types for bad input
            raise AutostartError(
                f"{self.path} is not a valid property list", "run `traycap autostart on` to rewrite it"
            ) from exc
        args = plist.get("ProgramArguments") if isinstance(plist, dict) else None
        command = subprocess.list2cmdline([str(a) for a in args]) if isinstance(args, list) else None
        if isinstance(plist, dict) and plist.get("Disabled") is True:
            return AutostartStatus(
                enabled=False, location=str(self.path), command=command, notes=("the plist has Disabled=true",)
            )
        current = None if expected is None else plist == launch_agent_plist(expected, self.label)
        return AutostartStatus(enabled=True, location=str(self.path), command=command, current=current)

    def enable(self, command: LaunchCommand) -> AutostartStatus:
        data = plistlib.dumps(launch_agent_plist(command, self.label), fmt=plistlib.FMT_XML)
        _write_file(self.path, data)
        result = self.run(["launchctl", "enable", self._target])
        status = self.status(command)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip() or f"exit status {result.returncode}"
            return AutostartStatus(
                enabled=status.enabled, location=status.location, command=status.command, current=status.current,
                notes=(*status.notes, f"launchctl enable failed ({detail}); check System Settings > Login Items"),
            )
        return status

    def disable(self) -> AutostartStatus:
        _remove(self.path)
        return self.status()


def run_subprocess(argv: Sequence[str]) -> CommandResult:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return CommandResult(returncode=127, stderr=str(exc))
    return CommandResult(proc.returncode, proc.stdout, proc.stderr)
