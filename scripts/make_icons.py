"""Make every icon file traycap ships from one master image, assets/traycap-master.png.

    python scripts/make_icons.py                 # regenerate everything below from the master
    python scripts/make_icons.py --draw-master   # redraw the master from traycap.ui.icons.draw_base first
    python scripts/make_icons.py --out DIR       # write the same tree under DIR (the tests compare it)

What it writes (paths relative to the repository root):

    assets/traycap.ico                Windows: the installer's and the program's icon (16-256 px)
    assets/traycap.icns               macOS: the .app icon (16-1024 px)
    assets/png/traycap-<N>.png        Linux: hicolor icons, N = 16 24 32 48 64 128 256 512
    traycap/assets/traycap.png        package data: the tray's base artwork, loaded at run time (256 px)
    traycap/assets/state-<s>.png      package data: the tray icon in each state (64 px; docs/tray.md shows them)

The master is a 1024 px PNG. Replace it with a hand-made one of the same size and run the script
again; --draw-master is only for the drawn artwork that traycap has now.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from traycap.ui import icons  # noqa: E402  (needs the path above)
from traycap.ui.menu import IconSpec, IconState  # noqa: E402

MASTER = Path("assets/traycap-master.png")
MASTER_SIZE = 1024
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
PACKAGE_SIZE = icons.SIZE * icons.SUPERSAMPLE  # the app draws on it at this size: no rescaling


def scaled(master: Image.Image, size: int) -> Image.Image:
    return master.resize((size, size), Image.Resampling.LANCZOS)


def generate(master_path: Path, root: Path) -> list[Path]:
    """Write every derived file under `root` (the repository root, or a scratch dir)."""
    master = Image.open(master_path).convert("RGBA")
    if master.size != (MASTER_SIZE, MASTER_SIZE):
        raise SystemExit(f"{master_path} is {master.size[0]}x{master.size[1]}; the master must be "
                         f"{MASTER_SIZE}x{MASTER_SIZE}")
    assets, package, pngs = root / "assets", root / "traycap" / "assets", root / "assets" / "png"
    for directory in (assets, package, pngs):
        directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(img: Image.Image, path: Path, **options: object) -> None:
        img.save(path, **options)
        written.append(path)

    ico = [scaled(master, n) for n in ICO_SIZES]
    save(ico[-1], assets / "traycap.ico", sizes=[(n, n) for n in ICO_SIZES], append_images=ico[:-1])
    icns = [scaled(master, n) for n in ICNS_SIZES]
    save(icns[-1], assets / "traycap.icns", append_images=icns[:-1])
    for n in PNG_SIZES:
        save(scaled(master, n), pngs / f"traycap-{n}.png")
    base = scaled(master, PACKAGE_SIZE)
    save(base, package / icons.ASSET)
    # What the app draws on that base at run time, one picture per state.
    for state in IconState:
        spec = IconSpec(state, 60 if state is IconState.UPLOADING else 0)
        save(icons.draw_state(base, spec), package / f"state-{state.value}.png")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draw-master", action="store_true", help="redraw the master from the artwork code first")
    parser.add_argument("--out", type=Path, default=REPO, help="write under this directory (default: the repo)")
    args = parser.parse_args(argv)
    master = REPO / MASTER
    if args.draw_master:
        master.parent.mkdir(parents=True, exist_ok=True)
        icons.draw_base(MASTER_SIZE).save(master)
        print(master.relative_to(REPO))
    for path in generate(master, args.out):
        print(path.relative_to(args.out) if path.is_relative_to(args.out) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
