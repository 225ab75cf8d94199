"""The import rules of docs/architecture.md, checked on the source of traycap/ (parsed, not imported).

Every import counts: at the top of a module, inside a function (a lazy import is still an
import), and `importlib.import_module("name")` with a literal name. The rules are the tables
below; change them together with docs/architecture.md.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "traycap"

# Each library outside the standard library, and each standard-library module that is an OS or
# GUI adapter, is imported by one module only: the adapter that owns it. A library not in this
# table is an error too, so a new dependency gets an owner here first. None = no owner yet: any
# import fails until the table names the one module that may import it.
LIBRARY_OWNERS: dict[str, frozenset[str] | None] = {
    "boto3": frozenset({"traycap.upload.s3.client"}),
    "botocore": frozenset({"traycap.upload.s3.client"}),
    "mss": frozenset({"traycap.recorder.screen"}),
    "cv2": frozenset({"traycap.recorder.screen"}),
    "av": frozenset({"traycap.recorder.screen"}),
    # Frames are numpy arrays; the null capture backend (tests, headless runs) makes them too.
    "numpy": frozenset({"traycap.recorder.screen", "traycap.recorder.null"}),
    "pynput": frozenset({"traycap.recorder.inputs"}),
    "Xlib": frozenset({"traycap.recorder.x11"}),
    "AppKit": frozenset({"traycap.recorder.focus"}),  # pyobjc, macOS only: the focused app
    "pystray": frozenset({"traycap.ui.tray"}),
    "gi": frozenset({"traycap.ui.tray"}),
    "plyer": frozenset({"traycap.ui.notify"}),
    "PIL": frozenset({"traycap.ui.icons"}),
    "tkinter": frozenset({"traycap.ui.settings"}),
    "platformdirs": frozenset({"traycap.paths"}),
    "winreg": frozenset({"traycap.autostart"}),
    "fcntl": frozenset({"traycap.osutil.locks"}),  # the OS seams (docs/platforms.md)
    "msvcrt": frozenset({"traycap.osutil.locks"}),
    "keyring": frozenset({"traycap.storage.keyring_store"}),
}

# The layers of docs/architecture.md, bottom first. A module may import its own layer and the
# layers below it, never one above (not even lazily).
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("core", frozenset({"traycap", "traycap.errors", "traycap.models", "traycap.clock", "traycap.cancel",
                        "traycap.osutil", "traycap.format", "traycap.paths", "traycap.logs",
                        "traycap.byte_window", "traycap.object_keys"})),
    ("storage", frozenset({"traycap.storage", "traycap.context", "traycap.bundle"})),
    ("services", frozenset({"traycap.upload", "traycap.recorder", "traycap.autostart", "traycap.viewer",
                            "traycap.player"})),
    ("ui", frozenset({"traycap.ui"})),
    ("composition", frozenset({"traycap.app", "traycap.app_parts", "traycap.app_actions", "traycap.app_events",
                               "traycap.app_view", "traycap.app_retention", "traycap.auto_upload", "traycap.live_share",
                               "traycap.sidecars", "traycap.share_links",
                               "traycap.commands", "traycap.cli", "traycap.__main__"})),
)

# Packages of one layer that must not know each other: the composition root wires them.
APART: tuple[tuple[str, str], ...] = (
    ("traycap.recorder", "traycap.upload"),
    ("traycap.upload", "traycap.recorder"),
    ("traycap.upload", "traycap.autostart"),
    ("traycap.recorder", "traycap.autostart"),
    # The player is told its bucket (upload/s3/objects.py implements player/bucket.py's protocol).
    ("traycap.player", "traycap.upload"),
    ("traycap.player", "traycap.recorder"),
)

# Imports that break a rule today, each with the work that removes it. The test fails when one
# is gone, so the entry is deleted with the import.
KNOWN_BREAKS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. traycap.upload.queue
    target: str  # what it imports, e.g. traycap.models or boto3.session
    line: int

    def __str__(self) -> str:
        return f"{self.module} imports {self.target} (line {self.line})"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[Import]:
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the package
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target != "__future__":
                found.append(Import(module, target, node.lineno))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append(Import(module, node.args[0].value, node.lineno))
    return found


def all_imports() -> list[Import]:
    return [imp for path in sorted(PACKAGE.rglob("*.py")) for imp in imports_of(path)]


def owner_unit(module: str) -> str:
    """The entry of LAYERS that `module` belongs to: the longest prefix listed."""
    units = [u for _name, members in LAYERS for u in members]
    matches = [u for u in units if module == u or module.startswith(u + ".")]
    if not matches or (max(matches, key=len) == "traycap" and module != "traycap"):
        raise AssertionError(f"{module} is in no layer of LAYERS (tests/unit/test_architecture.py)")
    return max(matches, key=len)


def layer_of(module: str) -> int:
    unit = owner_unit(module)
    return next(i for i, (_name, members) in enumerate(LAYERS) if unit in members)


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def breaks_layering(imp: Import) -> str | None:
    if not within(imp.target, "traycap"):
        return None
    target = imp.target
    if layer_of(imp.module) < layer_of(target):
        return f"{LAYERS[layer_of(imp.module)][0]} -> {LAYERS[layer_of(target)][0]} is upward"
    for importer, forbidden in APART:
        if within(imp.module, importer) and within(target, forbidden):
            return f"{importer} and {forbidden} are kept apart"
    return None


def test_every_module_is_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        layer_of(module_name(path))


def test_each_library_is_imported_by_its_one_adapter() -> None:
    wrong = []
    for imp in all_imports():
        top = imp.target.split(".")[0]
        if top == "traycap":
            continue
        if top not in LIBRARY_OWNERS:
            if top not in sys.stdlib_module_names:
                wrong.append(f"{imp}: {top} has no owner in LIBRARY_OWNERS")
            continue
        owners = LIBRARY_OWNERS[top]
        if owners is None:
            wrong.append(f"{imp}: {top} has no owner yet; name its one module in LIBRARY_OWNERS")
        elif imp.module not in owners:
            wrong.append(f"{imp}: only {', '.join(sorted(owners))} may import {top}")
    assert wrong == [], "\n".join(wrong)


def test_no_package_imports_upward_or_across() -> None:
    wrong, known_seen = [], set()
    for imp in all_imports():
        why = breaks_layering(imp)
        if why is None:
            continue
        key = next(((m, t) for (m, t) in KNOWN_BREAKS if imp.module == m and within(imp.target, t)), None)
        if key is not None:
            known_seen.add(key)
        else:
            wrong.append(f"{imp}: {why}")
    assert wrong == [], "\n".join(wrong)
    gone = set(KNOWN_BREAKS) - known_seen
    assert not gone, f"these imports are gone: delete them from KNOWN_BREAKS: {sorted(gone)}"


def test_the_rules_catch_what_they_are_for() -> None:
    """The checker itself, on imports that must fail (so a rule cannot pass by matching nothing)."""
    assert breaks_layering(Import("traycap.storage.state_store", "traycap.upload.queue", 1))
    assert breaks_layering(Import("traycap.models", "traycap.app", 1))
    assert breaks_layering(Import("traycap.errors", "traycap.ui.menu", 1))
    assert breaks_layering(Import("traycap.recorder.controller", "traycap.upload", 1))
    assert breaks_layering(Import("traycap.upload.queue", "traycap.recorder.controller", 1))
    assert breaks_layering(Import("traycap.upload.queue", "traycap.ui", 1))
    assert breaks_layering(Import("traycap.ui.menu", "traycap.app", 1))
    assert breaks_layering(Import("traycap.app", "traycap.upload.queue", 1)) is None
    assert breaks_layering(Import("traycap.ui.settings", "traycap.upload.s3", 1)) is None
    source = "def f():\n    import boto3\n    importlib.import_module('pystray.x')\nfrom ..upload import queue\n"
    found = {imp.target for imp in imports_in(source, "traycap.recorder.export")}
    assert found == {"boto3", "pystray.x", "traycap.upload"}
