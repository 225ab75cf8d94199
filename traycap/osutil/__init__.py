"""Operating-system seams, one small module per concern, each choosing its backend once at import.

locks    whole-file exclusive locks the OS drops when the holder dies (flock / LockFileEx)
files    read flags, atomic replace (retried on Windows sharing violations), file modes
private  user-only directories: 0700 on POSIX, a protected user-only ACL on Windows
signals  the signals that mean "stop cleanly" (SIGTERM/SIGINT/SIGHUP; Ctrl-C/Ctrl-Break)
desktop  which kind of desktop session this is: x11, wayland, windows, macos or none (pure)

Nothing else in traycap imports fcntl, msvcrt or Windows ctypes, or names a signal
that only one OS has; `mypy --platform linux|win32|darwin` checks every branch.
"""
