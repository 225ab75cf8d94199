"""macOS: NSWorkspace's frontmost application (bundle id and name); pyobjc's AppKit, imported only
here, only on macOS, only when excludedApps is set."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from traycap.errors import RecorderError
from traycap.recorder.privacy import WindowInfo

log = logging.getLogger(__name__)


class MacFocus:
    def __init__(self) -> None:
        try:
            appkit: Any = importlib.import_module("AppKit")  # pyobjc; only on macOS
        except Exception as exc:
            raise RecorderError(f"Cannot tell which app is in front: {exc}",
                                "install pyobjc-framework-Cocoa, or remove excludedApps from the settings") from exc
        self._workspace = appkit.NSWorkspace.sharedWorkspace()

    def active_window(self) -> WindowInfo | None:
        try:
            app = self._workspace.frontmostApplication()
            if app is None:
                return None
            bundle = str(app.bundleIdentifier() or "")
            name = str(app.localizedName() or "")
            return WindowInfo(classes=(bundle,) if bundle else (), app=name)
        except Exception:
            log.debug("macOS focus query failed", exc_info=True)
            return None

    def close(self) -> None:
        return None
