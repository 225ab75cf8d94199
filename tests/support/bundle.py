"""Build the PyInstaller bundle once and reuse it while nothing it is made of changes.

The build lands in <cache>/<digest>/dist/traycap, where the digest covers the package
sources, the spec, and the versions of Python, PyInstaller and the bundled libraries;
a rerun on the same machine with the same sources is instant. <cache> is
$TRAYCAP_BUNDLE_CACHE or build/bundle-cache in the repo (git-ignored). A file lock
keeps two test processes from building the same thing at once.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "installer" / "traycap.spec"
# Distributions whose version changes what ends up in the bundle.
_DISTS = (
    "pyinstaller", "pyinstaller-hooks-contrib", "pystray", "pynput", "mss", "av", "numpy", "python-xlib",
    "boto3", "botocore", "s3transfer", "Pillow", "plyer", "platformdirs", "PyGObject", "soundcard", "cffi",
)
_KEEP_BUILDS = 2


@dataclass(frozen=True)
class Bundle:
    folder: Path  # dist/traycap
    exe: Path  # dist/traycap/traycap
    build_seconds: float  # of the build that made it (also when reused from the cache)
    reused: bool


def source_digest(repo: Path = REPO) -> str:
    h = hashlib.sha256()
    files = [p for p in (repo / "traycap").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    files += [SPEC, repo / "pyproject.toml", *(repo / "installer").glob("*.py")]
    for path in sorted(files):
        h.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes() + b"\0")
    h.update(sys.version.encode())
    # GObject typelibs the gi hooks copy in (e.g. AyatanaAppIndicator3 once its package is installed).
    typelibs = glob.glob("/usr/lib/*/girepository-1.0/*.typelib") + glob.glob("/usr/lib/girepository-1.0/*")
    for typelib in sorted(typelibs):
        h.update(typelib.encode() + b"\n")
    for dist in _DISTS:
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        h.update(f"{dist}={version}\n".encode())
    return h.hexdigest()[:16]


def cache_root() -> Path:
    return Path(os.environ.get("TRAYCAP_BUNDLE_CACHE") or REPO / "build" / "bundle-cache")


def build_bundle(*, timeout: float = 900) -> Bundle:
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    out = root / source_digest()
    folder = out / "dist" / "traycap"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = out / "build-seconds"
        if done.exists() and (folder / "traycap").exists():
            return Bundle(folder, folder / "traycap", float(done.read_text()), reused=True)
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        pyinstaller = shutil.which("pyinstaller")
        assert pyinstaller, "pyinstaller is not installed (pip install -e .[installer])"
        start = time.monotonic()
        with open(out / "build.log", "w") as log:
            proc = subprocess.run(
                [pyinstaller, "--noconfirm", "--log-level", "WARN", "--distpath", str(out / "dist"),
                 "--workpath", str(out / "work"), str(SPEC)],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False,
            )
        seconds = time.monotonic() - start
        if proc.returncode != 0:
            tail = (out / "build.log").read_text(errors="replace")[-4000:]
            raise AssertionError(f"PyInstaller failed (exit {proc.returncode}); end of build.log:\n{tail}")
        shutil.rmtree(out / "work", ignore_errors=True)  # 100+ MB of intermediate files
        done.write_text(f"{seconds:.1f}\n")
        _prune(root, keep=out)
        return Bundle(folder, folder / "traycap", seconds, reused=False)


def _prune(root: Path, keep: Path) -> None:
    builds = sorted((p for p in root.iterdir() if p.is_dir() and p != keep), key=lambda p: p.stat().st_mtime)
    for old in builds[: max(0, len(builds) - (_KEEP_BUILDS - 1))]:
        shutil.rmtree(old, ignore_errors=True)
