"""The installer recipes agree with the spec, the app's commands and the data-dir promises.

The Windows setup is also built and run for real (scripts/build-windows.sh,
tests/integration/test_windows_installer.py); macOS cannot be built or run here."""

from __future__ import annotations

import ast
import plistlib
import re
import shutil
import subprocess
from pathlib import Path

from traycap.autostart import LAUNCH_AGENT_LABEL
from traycap.commands import quit_cmd

REPO = Path(__file__).resolve().parents[2]
NSI = REPO / "installer" / "windows" / "traycap.nsi"
SPEC = REPO / "installer" / "traycap.spec"
MACOS = REPO / "installer" / "macos"


def _nsi() -> str:
    return NSI.read_text(encoding="utf-8")


def test_nsi_is_a_per_user_64_bit_setup_that_asks_for_no_admin() -> None:
    nsi = _nsi()
    assert "RequestExecutionLevel user" in nsi
    assert 'InstallDir "$LOCALAPPDATA\\Programs\\${APP}"' in nsi
    assert "Target amd64-unicode" in nsi  # like the app; and what Debian's 64-bit-only Wine runs
    assert 'HKCU "${UNINST_KEY}"' in nsi and "HKLM" not in nsi


def test_nsi_ships_what_the_spec_builds_and_uses_the_programs_own_commands() -> None:
    nsi, spec = _nsi(), SPEC.read_text(encoding="utf-8")
    assert 'File /r "${APPDIR}\\*.*"' in nsi
    for exe in ("traycap", "traycapw"):
        assert f'name="{exe}"' in spec, f"the spec does not build {exe}.exe"
        assert f"$INSTDIR\\{exe}.exe" in nsi
    # The Run value is written by the program itself, so `autostart status` recognises it.
    assert "traycap.exe\" autostart on" in nsi and "traycap.exe\" autostart off" in nsi
    # The setup tells "was running" from "not running" by the exit code of `traycap quit`.
    assert f"!define QUIT_NOT_RUNNING {quit_cmd.EXIT_NOT_RUNNING}" in nsi


def test_nsi_uninstall_quits_turns_autostart_off_and_keeps_the_data_unless_asked() -> None:
    uninstall = _nsi().split('Section "Uninstall"', 1)[1]
    assert uninstall.index("traycap.exe\" quit") < uninstall.index("RMDir /r \"$INSTDIR\\_internal\"")
    assert "autostart off" in uninstall
    data = uninstall.split("${If} $RemoveData == 1", 1)
    assert "$DataDir" not in data[0]  # before the box is checked, nothing of the data dir is touched
    assert "RMDir /r \"$DataDir\\sessions\"" in data[1]


def test_nsi_compiles(tmp_path: Path) -> None:
    """makensis (native, seconds) against a stand-in app folder: the script is valid NSIS."""
    makensis = shutil.which("makensis")
    assert makensis, "makensis is missing: scripts/setup.sh test installs Debian's nsis"
    app = tmp_path / "dist" / "traycap"
    (app / "_internal").mkdir(parents=True)
    for name in ("traycap.exe", "traycapw.exe", "_internal/base_library.zip"):
        (app / name).write_bytes(b"stand-in")
    out = tmp_path / "traycap-9.8.7-setup.exe"
    proc = subprocess.run(
        [makensis, "-V2", "-INPUTCHARSET", "UTF8", "-DVERSION=9.8.7", "-DVERSION4=9.8.7.0", f"-DAPPDIR={app}",
         f"-DICON={REPO / 'assets' / 'traycap.ico'}", f"-DOUTFILE={out}", "-DCOMPRESSOR=zlib", str(NSI)],
        capture_output=True, text=True, check=False, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.read_bytes()[:2] == b"MZ"
    assert "9.8.7\0".encode("utf-16-le") in out.read_bytes()  # the version in the setup's properties


def test_spec_is_valid_python_and_keeps_the_promised_parts() -> None:
    spec = SPEC.read_text(encoding="utf-8")
    ast.parse(spec)
    for name in ("pystray._xorg", "pystray._gtk", "pystray._appindicator", "pynput.keyboard._xorg",
                 "pynput.mouse._xorg", 'collect_submodules("traycap")'):
        assert name in spec
    assert 'BOTOCORE_SERVICES = {"s3", "sts", "sso", "sso-oidc", "signin"}' in spec
    assert 'runtime_hooks=[str(REPO / "installer" / "pyi_rth_traycap_child_env.py")]' in spec


def test_macos_info_plist_explains_the_permissions() -> None:
    info = plistlib.loads((MACOS / "Info-extra.plist").read_bytes())
    assert info["CFBundleIdentifier"] == LAUNCH_AGENT_LABEL
    assert info["LSUIElement"] is True  # menu-bar app, no Dock icon
    for key in ("NSScreenCaptureUsageDescription", "NSAccessibilityUsageDescription",
                "NSInputMonitoringUsageDescription", "NSAppleEventsUsageDescription"):
        assert len(info[key]) > 30, key
    text = (MACOS / "PERMISSIONS.md").read_text(encoding="utf-8")
    assert "Screen Recording" in text and "Accessibility" in text


def test_shell_scripts_parse() -> None:
    for script in (MACOS / "build_app.sh", REPO / "installer" / "linux" / "install.sh",
                   REPO / "installer" / "linux" / "uninstall.sh", REPO / "scripts" / "build-windows.sh"):
        proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, f"{script}: {proc.stderr}"
        assert script.stat().st_mode & 0o111, f"{script} is not executable"


def test_the_version_has_one_source_that_the_installers_read() -> None:
    """Issue 18: pyproject.toml and traycap/__init__.py each held a version (both 0.1.0 at v0.2); now the
    second is the one place."""
    import tomllib

    from traycap import __version__

    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "traycap.__version__"}
    # The spec reads it as text (its _version function, run here on the real file) ...
    spec = SPEC.read_text(encoding="utf-8")
    tree = ast.parse(spec)
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_version")
    scope: dict[str, object] = {"REPO": REPO, "re": re}
    exec(compile(ast.Module(body=[func], type_ignores=[]), str(SPEC), "exec"), scope)  # noqa: S102
    assert scope["_version"]() == __version__  # type: ignore[operator]
    # ... and gives it to both executables (Windows version resource) and to the macOS app bundle,
    assert spec.count('version=_version_info("traycap') == 2
    assert 'info["CFBundleShortVersionString"] = info["CFBundleVersion"] = VERSION' in spec
    info = plistlib.loads((MACOS / "Info-extra.plist").read_bytes())
    assert "CFBundleVersion" not in info and "CFBundleShortVersionString" not in info
    # ... and the Windows setup is told it by scripts/build-windows.sh (makensis -DVERSION=...), which
    # reads the same line: the NSIS script has no version of its own.
    text = NSI.read_text(encoding="utf-8")
    assert "!insertmacro REQUIRE VERSION" in text
    assert not re.search(r"^[^;]*\d+\.\d+\.\d+", text, re.M)
    build = (REPO / "scripts" / "build-windows.sh").read_text(encoding="utf-8")
    assert 'version="$(sed -n \'s/^__version__ = "\\(.*\\)"$/\\1/p\' "$here/traycap/__init__.py")"' in build
