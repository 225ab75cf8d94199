"""The Windows and macOS recipes cannot be built on this Linux CI; check what can be checked
here: that they agree with the spec, the autostart backends and the data-dir promises."""

from __future__ import annotations

import ast
import plistlib
import re
import subprocess
from pathlib import Path

from traycap.autostart import LAUNCH_AGENT_LABEL, STARTUP_SHORTCUT

REPO = Path(__file__).resolve().parents[2]
ISS = REPO / "installer" / "windows" / "traycap.iss"
SPEC = REPO / "installer" / "traycap.spec"
MACOS = REPO / "installer" / "macos"


def _iss_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in ISS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(";") or line.startswith("#"):
            continue
        match = re.fullmatch(r"\[(\w+)\]", line)
        if match:
            current = match.group(1)
            sections.setdefault(current, [])
        else:
            sections.setdefault(current, []).append(line)
    return sections


def _entries(lines: list[str]) -> list[dict[str, str]]:
    """`Name: "x"; Filename: "y"; Flags: a b` lines as dicts."""
    out = []
    for line in lines:
        fields = {}
        for part in re.findall(r'(\w+):\s*("[^"]*"|[^;]+)', line):
            fields[part[0]] = part[1].strip().strip('"')
        out.append(fields)
    return out


def test_iss_is_a_per_user_install_with_a_startup_shortcut() -> None:
    sections = _iss_sections()
    setup = dict(line.split("=", 1) for line in sections["Setup"])
    assert setup["PrivilegesRequired"] == "lowest"
    assert setup["DefaultDirName"].startswith("{localappdata}\\Programs")
    startup = [e for e in _entries(sections["Icons"]) if e["Name"].startswith("{userstartup}")]
    assert len(startup) == 1 and startup[0].get("Tasks") == "startup"
    # The autostart backend finds the installer's shortcut by this file name.
    assert startup[0]["Name"].split("\\")[-1] + ".lnk" == STARTUP_SHORTCUT
    assert startup[0]["Parameters"] == "tray"
    assert any(e["Name"] == "startup" for e in _entries(sections["Tasks"]))


def test_iss_ships_what_the_spec_builds() -> None:
    sections = _iss_sections()
    text = ISS.read_text(encoding="utf-8")
    defines = dict(re.findall(r'#define (\w+) "([^"]*)"', text))
    files = _entries(sections["Files"])
    assert files[0]["Source"] == "..\\..\\dist\\traycap\\*"
    spec = SPEC.read_text(encoding="utf-8")
    for exe in (defines["AppExe"], defines["CliExe"]):
        assert f'name="{exe.removesuffix(".exe")}"' in spec, f"the spec does not build {exe}"
    assert 'COLLECT(*exes, a.binaries, a.datas, strip=False, upx=False, name="traycap")' in spec


def test_iss_uninstall_turns_autostart_off_and_keeps_the_data() -> None:
    sections = _iss_sections()
    runs = _entries(sections["UninstallRun"])
    assert [(r["Filename"], r["Parameters"]) for r in runs] == [("{app}\\{#CliExe}", "autostart off")]
    assert "UninstallDelete" not in sections
    for entry in _entries(sections["InstallDelete"]):
        # Upgrades clean the program folder only; the data dir is %LOCALAPPDATA%\traycap.
        assert entry["Name"].startswith(("{app}\\", "{userstartup}\\")), entry


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
                   REPO / "installer" / "linux" / "uninstall.sh"):
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
    assert spec.count('version=_windows_version_resource("traycap') == 2
    assert 'info["CFBundleShortVersionString"] = info["CFBundleVersion"] = VERSION' in spec
    info = plistlib.loads((MACOS / "Info-extra.plist").read_bytes())
    assert "CFBundleVersion" not in info and "CFBundleShortVersionString" not in info
    # ... and the Windows installer reads it back from the executable it ships: no version of its own.
    text = ISS.read_text(encoding="utf-8")
    assert re.search(r'^#define AppVersion GetStringFileInfo\(AddBackslash\(SourcePath\) \+ '
                     r'"\.\.\\\.\.\\dist\\traycap\\" \+ CliExe, "ProductVersion"\)$', text, re.M)
    assert not re.search(r"\d+\.\d+\.\d+", text)
