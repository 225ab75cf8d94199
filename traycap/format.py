"""Human-readable sizes, durations and times (pure; used by the CLI and the tray)."""

from __future__ import annotations

import time

from traycap.models import SessionListItem, UploadStatus


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def human_duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    total = round(ms / 1000)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def local_time(ms: int) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))
    except (OverflowError, OSError, ValueError):  # a hand-edited createdAt far outside the calendar
        return "?"


def status_text(item: SessionListItem) -> str:
    if item.problem and item.uploadStatus is UploadStatus.NOT_UPLOADED:
        return "problem"
    if item.uploadStatus is UploadStatus.UPLOADING:
        return f"uploading {item.uploadProgress}%"
    if item.uploadStatus is UploadStatus.LIVE:
        return f"uploading while recording: {human_size(item.uploadedBytes)} sent"
    if item.uploadStatus is UploadStatus.NOT_UPLOADED:
        return "not uploaded" if item.isExported else "not exported"
    if item.uploadStatus is UploadStatus.DONE and not item.localCopy:
        return "uploaded, local copy removed"
    return str(item.uploadStatus.value)
