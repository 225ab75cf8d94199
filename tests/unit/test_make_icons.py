"""scripts/make_icons.py: every icon file in the repo is what the master gives today.

A changed master (or drawing) without the regenerated files, or a file edited by hand, fails here:
run `python scripts/make_icons.py` and commit what it writes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageChops

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "make_icons.py"


def frames(path: Path) -> dict[tuple[int, ...], Image.Image]:
    """Every picture in a PNG, ICO or ICNS file, by size, decoded."""
    img = Image.open(path)
    if path.suffix == ".png":
        return {img.size: img.convert("RGBA")}
    out = {}
    for size in sorted(img.info["sizes"]):  # ICO: (w, h); ICNS: (w, h, scale)
        img.size = size[:2]
        img.load(*size[2:])  # type: ignore[call-arg]
        out[tuple(size)] = img.convert("RGBA")
    return out


def largest_difference(a: Image.Image, b: Image.Image) -> int:
    extrema = ImageChops.difference(a, b).getextrema()
    return max(high for _low, high in extrema)  # type: ignore[union-attr]


def test_the_generated_icons_are_up_to_date_with_the_master(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert {p.as_posix() for p in made} >= {"assets/traycap.ico", "assets/traycap.icns", "assets/png/traycap-16.png",
                                      "traycap/assets/traycap.png", "traycap/assets/state-idle.png"}
    for rel in made:
        committed, fresh = frames(REPO / rel), frames(tmp_path / rel)
        assert committed.keys() == fresh.keys(), rel
        for size, img in fresh.items():
            # A pixel may differ by a step or two between Pillow versions, never more.
            assert largest_difference(committed[size], img) <= 2, (rel, size)
    # Nothing in the icon folders that the script does not make (a stale or hand-made file).
    in_repo = sorted(p.relative_to(REPO) for d in ("assets/png", "traycap/assets") for p in (REPO / d).iterdir())
    in_repo += [p.relative_to(REPO) for p in (REPO / "assets").iterdir()
                if p.is_file() and p.name != "traycap-master.png"]
    assert sorted(in_repo) == made


def test_the_master_is_a_1024_px_square_with_transparency() -> None:
    master = Image.open(REPO / "assets" / "traycap-master.png")
    assert master.size == (1024, 1024) and master.mode == "RGBA"
    assert master.getpixel((0, 0))[3] == 0  # type: ignore[index]
