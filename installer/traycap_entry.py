"""Entry point of the PyInstaller build (a script outside the package, so the
package directory is not put on sys.path as a top-level import root)."""

import multiprocessing

from traycap.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen child process must not re-run the CLI
    raise SystemExit(main())
