"""The map of docs/architecture.md, checked on the source of traycap/ (parsed, not imported).

Every import counts: at the top of a module, inside a function (a lazy import is still an
import), `importlib.import_module("name")` with a literal name, and a "module:function" string
(cli.py's command table). The rules are the tables below, and docs/architecture.md's table must
say the same (`test_the_doc_table_is_these_rows`): change the three together.

- ROWS: every module of traycap/ belongs to one row (the longest unit that contains it). A row
  says which traycap units its modules may import (besides their own row), and which libraries it
  owns. An import outside the row fails; so does a row entry that no module of the row imports
  (a map that allows what the code does not do has drifted too).
- LAYERS: the rows' layers; no row may name a unit of a layer above its own.
- APART: packages of one layer that never import each other.
- COMPOSITION: the direction inside the top layer.
- No module-level import cycle anywhere.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "traycap"
DOC = PACKAGE.parent / "docs" / "architecture.md"


@dataclass(frozen=True)
class Row:
    may_import: frozenset[str]  # units: "traycap.errors", a package "traycap.bundle", a sibling "traycap.bundle.raw"
    owns: frozenset[str] = frozenset()  # libraries only this row's modules import


def _row(may_import: str = "", owns: str = "") -> Row:
    return Row(frozenset(f"traycap.{n}" if n != "traycap" else n for n in may_import.split()), frozenset(owns.split()))


# The layers, bottom first, by the unit that starts a row's name (its top module or package).
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("core", frozenset({"traycap", "traycap.errors", "traycap.models", "traycap.clock", "traycap.cancel",
                        "traycap.format", "traycap.paths", "traycap.logs", "traycap.byte_window", "traycap.osutil",
                        "traycap.object_keys"})),
    ("storage", frozenset({"traycap.storage", "traycap.context"})),
    ("media", frozenset({"traycap.media", "traycap.bundle", "traycap.portal"})),
    ("services", frozenset({"traycap.upload", "traycap.recorder", "traycap.viewer", "traycap.autostart",
                            "traycap.player"})),
    ("ui", frozenset({"traycap.ui"})),
    ("composition", frozenset({"traycap.sharing", "traycap.tray", "traycap.commands", "traycap.cli",
                               "traycap.__main__"})),
)

# One row per unit. A package row covers its modules that have no row of their own.
ROWS: dict[str, Row] = {
    # core
    "traycap": _row(),
    "traycap.errors": _row(),
    "traycap.models": _row(),
    "traycap.clock": _row(),
    "traycap.cancel": _row(),
    "traycap.format": _row("models"),
    "traycap.paths": _row("errors osutil", "platformdirs"),
    "traycap.logs": _row("models osutil"),
    "traycap.byte_window": _row(),
    "traycap.object_keys": _row(),
    "traycap.osutil": _row(),
    "traycap.osutil.locks": _row(owns="fcntl msvcrt"),
    # storage
    "traycap.storage": _row("clock errors format logs models object_keys osutil paths storage.keyring_store"),
    "traycap.storage.keyring_store": _row("errors", "keyring secretstorage"),
    "traycap.context": _row("clock models paths storage"),
    # media: pixels, video and the bundle file format
    "traycap.media": _row(),
    "traycap.media.mp4": _row(),
    "traycap.media.frames": _row(owns="numpy"),
    "traycap.media.regions": _row(),
    "traycap.media.encoders": _row(),
    "traycap.media.images": _row("errors media.frames", "PIL"),
    "traycap.media.picture": _row("media.frames media.regions", "av"),
    "traycap.media.video": _row("errors media.encoders media.images media.picture media.regions", "av"),
    "traycap.media.capture": _row("clock errors osutil media.frames media.regions media.capture.mss_screen "
                                  "media.capture.portal_screen media.capture.xdamage"),
    "traycap.media.capture.mss_screen": _row("errors media.frames media.capture", "mss"),
    "traycap.media.capture.xdamage": _row("errors media.regions media.capture media.capture.mss_screen", "Xlib"),
    "traycap.media.capture.pipewire": _row("errors media.frames", "gi gi.repository.Gst"),
    "traycap.media.capture.frame_pacing": _row("clock errors"),
    "traycap.media.capture.portal_screen": _row("clock errors portal media.capture media.capture.frame_pacing "
                                                "media.capture.pipewire"),
    # the desktop portal over D-Bus: screen casts for media/capture, global shortcuts for the tray
    "traycap.portal": _row(),
    "traycap.portal.bus": _row(),
    "traycap.portal.request": _row("errors portal.bus"),
    "traycap.portal.dbus": _row("errors portal.bus", "gi gi.repository.GLib gi.repository.Gio"),
    "traycap.portal.restore_token": _row("errors storage"),
    "traycap.portal.screencast": _row("errors portal.bus portal.request portal.restore_token"),
    "traycap.portal.shortcuts": _row("errors portal.bus portal.request"),
    "traycap.media.pcm": _row(owns="numpy"),
    "traycap.media.sound": _row("clock errors media.pcm media.sound.soundcard_input"),
    "traycap.media.sound.soundcard_input": _row("errors media.sound", "soundcard"),
    "traycap.bundle": _row(),
    "traycap.bundle.layout": _row(),
    "traycap.bundle.raw": _row("paths storage"),
    "traycap.bundle.livezip": _row("errors osutil"),
    "traycap.bundle.reader": _row("errors bundle.layout"),
    "traycap.bundle.preview": _row("errors format media"),
    "traycap.bundle.one_copy": _row("context errors models bundle.layout bundle.raw bundle.reader"),
    "traycap.bundle.export": _row("context errors models osutil paths storage bundle.layout bundle.one_copy "
                                  "bundle.preview bundle.raw"),
    "traycap.bundle.bundler": _row("clock context errors media models osutil bundle.export bundle.layout "
                                   "bundle.livezip bundle.one_copy bundle.preview bundle.raw"),
    # services
    "traycap.upload": _row("byte_window cancel clock context errors logs models object_keys osutil paths player "
                           "storage "
                           "upload.s3.client"),
    "traycap.upload.s3.client": _row("errors models upload", "boto3 botocore"),
    "traycap.recorder": _row("traycap bundle clock context errors format media models osutil paths storage "
                             "recorder.api recorder.evdev_devices recorder.inputs"),
    "traycap.recorder.api": _row("models"),
    "traycap.recorder.controller": _row("bundle clock context errors models osutil storage recorder recorder.api "
                                        "recorder.focus recorder.inputs"),
    "traycap.recorder.recover": _row("bundle context errors media models osutil"),
    "traycap.recorder.inputs": _row("errors recorder recorder.x11", "pynput"),
    "traycap.recorder.x11": _row(owns="Xlib"),
    "traycap.recorder.focus": _row("errors recorder recorder.focus.macos recorder.x11"),
    "traycap.recorder.focus.macos": _row("errors recorder", "AppKit"),
    "traycap.recorder.evdev": _row("recorder"),
    "traycap.recorder.evdev_devices": _row("errors recorder recorder.evdev", "fcntl"),
    "traycap.viewer": _row("traycap bundle byte_window clock errors"),
    "traycap.player": _row("bundle errors object_keys viewer"),
    "traycap.autostart": _row("errors storage autostart.windows"),
    "traycap.autostart.windows": _row("errors autostart", "winreg"),
    # ui
    "traycap.ui": _row("errors models osutil storage ui.menu"),
    "traycap.ui.menu": _row("format models"),
    "traycap.ui.tray": _row("errors ui.icons ui.menu", "pystray gi gi.repository.GLib"),
    "traycap.ui.icons": _row("ui.menu", "PIL"),
    "traycap.ui.notify": _row("format", "plyer"),
    "traycap.ui.settings_form": _row("format models storage"),
    "traycap.ui.settings": _row("context errors logs media models osutil portal storage upload ui.settings_form",
                                "tkinter"),
    # composition
    "traycap.sharing": _row("cancel clock context errors models object_keys player recorder upload viewer"),
    "traycap.tray": _row("context errors format logs models osutil portal recorder sharing storage ui upload"),
    "traycap.commands": _row("autostart bundle context errors format media models object_keys osutil player "
                             "recorder sharing storage ui upload viewer"),
    "traycap.cli": _row("traycap commands context errors logs osutil paths storage tray"),
    "traycap.__main__": _row("cli"),
}

# Packages of one layer that must not know each other: the composition wires them.
APART: tuple[tuple[str, str], ...] = (
    ("traycap.recorder", "traycap.upload"),
    ("traycap.upload", "traycap.recorder"),
    ("traycap.upload", "traycap.autostart"),
    ("traycap.recorder", "traycap.autostart"),
    ("traycap.media", "traycap.bundle"),  # pixels and video know nothing of sessions
    ("traycap.viewer", "traycap.recorder"),
    ("traycap.portal", "traycap.bundle"),  # the portal hands out screen casts and shortcuts, not sessions
    # The player is told its bucket (upload/s3/objects.py implements player/bucket.py's protocol).
    ("traycap.player", "traycap.upload"),
    ("traycap.player", "traycap.recorder"),
)

# PyGObject binds several libraries; each binding (`from gi.repository import Gst` is the import of
# gi.repository.Gst) is owned like a library of its own. Two of them are shared, each for a reason:
SHARED_LIBRARIES: dict[str, str] = {
    "gi": "`import gi` for gi.require_version, by every module that owns a gi.repository binding",
    "gi.repository.GLib": "the main loop: GTK's in the tray, a private one in the portal D-Bus adapter (portal/dbus)",
    "fcntl": "file locks (osutil/locks) and the EVIOCGABS ioctl of an input device (recorder/evdev_devices)",
    "numpy": "pixels (media/frames) and sound samples (media/pcm): two kinds of arrays, one module each",
    "av": "the video (media/video: encode, mux, read) and its input picture (media/picture: swscale's colour "
          "conversion of what changed), two jobs of one library",
    "PIL": "the tray's icons (ui/icons) and the recording's pictures (media/images): two layers apart, "
           "neither draws for the other",
    "Xlib": "the recorder's input wake-up and focused window (recorder/x11) and the screen's DAMAGE events "
            "(media/capture/xdamage), a layer below it",
}

# The top layer runs one way: cli -> (commands | tray) -> sharing. A command never reaches into
# the tray (the tray is one command, started from cli.py like the others), nor the tray into a command.
COMPOSITION_NEVER: tuple[tuple[str, str], ...] = (
    ("traycap.commands", "traycap.tray"),
    ("traycap.tray", "traycap.commands"),
    ("traycap.sharing", "traycap.tray"),
    ("traycap.sharing", "traycap.commands"),
    ("traycap.sharing", "traycap.cli"),
    ("traycap.tray", "traycap.cli"),
    ("traycap.commands", "traycap.cli"),
)

_HANDLER = re.compile(r"^(traycap(?:\.\w+)+):\w+$")  # cli.py: "traycap.commands.record_cmd:run"


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


@cache
def modules() -> frozenset[str]:
    return frozenset(module_name(p) for p in PACKAGE.rglob("*.py"))


def imports_of(path: Path) -> list[Import]:
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    """`from traycap.bundle import layout` is an import of traycap.bundle.layout when that is a module."""
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
            if target == "__future__":
                continue
            if target.split(".")[0] != "traycap" and not node.level:
                # a library: each name imported from it, so `from gi.repository import Gst` is gi.repository.Gst
                found += [Import(module, f"{target}.{a.name}", node.lineno) for a in node.names]
                continue
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules()]
            found += [Import(module, t, node.lineno) for t in subs] or [Import(module, target, node.lineno)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module" \
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            found.append(Import(module, node.args[0].value, node.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _HANDLER.match(node.value):
            found.append(Import(module, _HANDLER.match(node.value).group(1), node.lineno))  # type: ignore[union-attr]
    return found


@cache
def all_imports() -> tuple[Import, ...]:
    return tuple(imp for path in sorted(PACKAGE.rglob("*.py")) for imp in imports_of(path))


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def row_of(module: str) -> str:
    """The row `module` belongs to: the longest unit of ROWS that contains it."""
    units = [u for u in ROWS if within(module, u)]
    if not units or (max(units, key=len) == "traycap" and module != "traycap"):
        raise AssertionError(f"{module} has no row in ROWS (tests/unit/test_architecture.py) nor in the doc table")
    return max(units, key=len)


def top_unit(unit: str) -> str:
    return ".".join(unit.split(".")[:2])


def layer_of(unit: str) -> int:
    top = top_unit(unit)
    return next(i for i, (_name, members) in enumerate(LAYERS) if top in members)


def module_of(target: str) -> str | None:
    """The traycap module an import target names (a name inside a module counts as the module)."""
    while target and target not in modules():
        target = target.rpartition(".")[0]
    return target or None


def traycap_imports() -> list[tuple[Import, str]]:
    """(import, the module it reaches) for every import of a traycap module by another."""
    out = []
    for imp in all_imports():
        if within(imp.target, "traycap"):
            target = module_of(imp.target)
            if target is not None and target != imp.module:
                out.append((imp, target))
    return out


def entry_for(row: str, target: str) -> str:
    """How `row` names `target` in its may_import: a row of its own package by that row, anything
    else by its top unit (a top-level module, or a package)."""
    target_row = row_of(target)
    top = top_unit(row)
    if top_unit(target_row) == top and (PACKAGE.parent / top.replace(".", "/")).is_dir():
        return target_row
    return top_unit(target_row)


def allowed_entry(row: str, target: str) -> str | None:
    """The entry of `row` that lets it import `target`: "" for its own row, None when none does."""
    if row_of(target) == row:
        return ""
    entry = entry_for(row, target)
    return entry if entry in ROWS[row].may_import else None


def breaks_layering(imp: Import) -> str | None:
    if not within(imp.target, "traycap"):
        return None
    if layer_of(row_of(imp.module)) < layer_of(imp.target):
        return f"{LAYERS[layer_of(row_of(imp.module))][0]} -> {LAYERS[layer_of(imp.target)][0]} is upward"
    for importer, forbidden in APART + COMPOSITION_NEVER:
        if within(imp.module, importer) and within(imp.target, forbidden):
            return f"{importer} never imports {forbidden}"
    return None


# --- the checks -------------------------------------------------------------------------------------------

def test_every_module_has_a_row_and_every_row_a_module() -> None:
    for module in modules():
        row_of(module)
    empty = [u for u in ROWS if not any(within(m, u) for m in modules())]
    assert empty == [], f"rows without a module: {empty}"


def test_each_import_is_one_its_row_allows() -> None:
    wrong = []
    for imp, target in traycap_imports():
        row = row_of(imp.module)
        if allowed_entry(row, target) is None:
            wrong.append(f"{imp}: the row of {row} does not list {row_of(target)}")
    assert wrong == [], "\n".join(wrong)


def test_each_row_entry_is_an_import_its_modules_make() -> None:
    used: dict[str, set[str]] = defaultdict(set)
    for imp, target in traycap_imports():
        row = row_of(imp.module)
        entry = allowed_entry(row, target)
        if entry:
            used[row].add(entry)
    stale = [f"{row}: {sorted(r.may_import - used[row])}" for row, r in ROWS.items() if r.may_import - used[row]]
    assert stale == [], "rows allow imports no module makes (update ROWS and docs/architecture.md):\n" + \
        "\n".join(stale)


def library_key(target: str, libraries: set[str] | dict[str, object]) -> str:
    """The library an import belongs to: the longest one listed that names it or a package above it."""
    parts = target.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in libraries:
            return key
    return parts[0]


def test_each_library_is_imported_by_the_row_that_owns_it() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for unit, row in ROWS.items():
        for lib in row.owns:
            assert not owners[lib] or lib in SHARED_LIBRARIES, f"{lib} is owned by {owners[lib]} and {unit}"
            owners[lib].add(unit)
    wrong = []
    seen: set[str] = set()
    for imp in all_imports():
        top = imp.target.split(".")[0]
        if top == "traycap":
            continue
        lib = library_key(imp.target, owners)
        if lib not in owners:
            if top not in sys.stdlib_module_names:
                wrong.append(f"{imp}: {lib} has no owner row; name the one module that may import it")
            continue
        seen.add(lib)
        if row_of(imp.module) not in owners[lib]:
            wrong.append(f"{imp}: only {sorted(owners[lib])} may import {lib}")
    assert wrong == [], "\n".join(wrong)
    assert set(owners) - seen == set(), f"rows own libraries nothing imports: {sorted(set(owners) - seen)}"
    # An owner is one module, not a package: the adapter is where the library's errors are translated.
    packages = [u for us in owners.values() for u in us if (PACKAGE.parent / u.replace(".", "/")).is_dir()]
    assert packages == [], f"library owners must be modules: {packages}"


def test_no_row_names_a_layer_above_it() -> None:
    wrong = [f"{unit} -> {entry}" for unit, row in ROWS.items() for entry in row.may_import
             if layer_of(entry) > layer_of(unit)]
    assert wrong == [], "\n".join(wrong)


def test_no_import_runs_up_across_or_against_the_composition_direction() -> None:
    wrong = [f"{imp}: {why}" for imp, _t in traycap_imports() if (why := breaks_layering(imp))]
    assert wrong == [], "\n".join(wrong)


def test_no_module_imports_itself_through_others() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for imp, target in traycap_imports():
        graph[imp.module].add(target)
    cycles = _cycles(graph)
    assert cycles == [], f"import cycles: {cycles}"


def test_the_doc_table_is_these_rows() -> None:
    """docs/architecture.md's table: one line per row, `may import` and `libraries` as in ROWS."""
    documented: dict[str, Row] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[1].startswith("`"):
            continue
        unit = _doc_unit(cells[1].strip("`"))
        assert unit not in documented, f"{unit} is in the doc table twice"
        names = re.findall(r"`([^`]+)`", cells[3])
        documented[unit] = Row(frozenset(_doc_unit(n) for n in names), frozenset(re.findall(r"`([^`]+)`", cells[4])))
    assert set(documented) == set(ROWS), (sorted(set(ROWS) - set(documented)), sorted(set(documented) - set(ROWS)))
    wrong = [f"{u}: doc {documented[u]} != test {ROWS[u]}" for u in ROWS if documented[u] != ROWS[u]]
    assert wrong == [], "\n".join(wrong)


def test_the_rules_catch_what_they_are_for() -> None:
    """The checker itself, on imports that must fail (so a rule cannot pass by matching nothing)."""
    assert breaks_layering(Import("traycap.storage.state_store", "traycap.upload.queue", 1))
    assert breaks_layering(Import("traycap.storage.prune", "traycap.context", 1)) is None  # a row rule, below
    assert allowed_entry("traycap.storage", "traycap.context") is None
    assert breaks_layering(Import("traycap.models", "traycap.tray.app", 1))
    assert breaks_layering(Import("traycap.errors", "traycap.ui.menu", 1))
    assert breaks_layering(Import("traycap.recorder.controller", "traycap.upload", 1))
    assert breaks_layering(Import("traycap.upload.queue", "traycap.recorder.controller", 1))
    assert breaks_layering(Import("traycap.upload.queue", "traycap.ui", 1))
    assert breaks_layering(Import("traycap.ui.menu", "traycap.tray.app", 1))
    assert breaks_layering(Import("traycap.media.video", "traycap.bundle.raw", 1))
    assert breaks_layering(Import("traycap.commands.record_cmd", "traycap.tray.parts", 1))
    assert breaks_layering(Import("traycap.sharing.startup", "traycap.tray.app", 1))
    assert breaks_layering(Import("traycap.tray.app", "traycap.upload.queue", 1)) is None
    assert breaks_layering(Import("traycap.ui.settings", "traycap.upload.s3", 1)) is None
    # rows: a sibling's row must be named; a pure module imports nothing
    assert allowed_entry("traycap.bundle.raw", "traycap.bundle.export") is None
    assert allowed_entry("traycap.bundle.export", "traycap.bundle.raw") == "traycap.bundle.raw"
    assert allowed_entry("traycap.media.mp4", "traycap.errors") is None
    assert allowed_entry("traycap.storage.keyring_store", "traycap.storage.secrets") is None
    assert allowed_entry("traycap.recorder", "traycap.bundle.raw") == "traycap.bundle"
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    source = ("def f():\n    import boto3\n    importlib.import_module('pystray.x')\nfrom ..upload import queue\n"
              "H = {'x': 'traycap.commands.view_cmd:run'}\n")
    found = {imp.target for imp in imports_in(source, "traycap.recorder.export")}
    assert found == {"boto3", "pystray.x", "traycap.upload.queue", "traycap.commands.view_cmd"}
    found = {imp.target for imp in imports_in("from gi.repository import Gio, GLib\n", "traycap.ui.tray")}
    assert found == {"gi.repository.Gio", "gi.repository.GLib"}
    libraries = {"gi", "gi.repository.Gst", "mss"}
    assert library_key("gi.repository.Gst", libraries) == "gi.repository.Gst"
    assert library_key("gi.repository.Gio", libraries) == "gi" and library_key("mss.exception", libraries) == "mss"
    assert breaks_layering(Import("traycap.media.capture.portal_screen", "traycap.upload.queue", 1))


def _doc_unit(name: str) -> str:
    """`bundle/raw` -> traycap.bundle.raw, `bundle/` -> traycap.bundle, `errors` -> traycap.errors,
    `__init__` -> traycap (the package's own module)."""
    if name == "__init__":
        return "traycap"
    if name == "__main__":
        return "traycap.__main__"
    return "traycap." + name.strip("/").replace("/", ".")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)
