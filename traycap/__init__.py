"""traycap: record desktop sessions and upload them to S3 without ever losing one."""

# The one place traycap's version is written: pyproject.toml reads it (dynamic version), `traycap
# --version` prints it, installer/traycap.spec puts it on the Windows executables and the macOS app,
# and the Windows installer takes it from the executable (installer/windows/traycap.iss).
__version__ = "0.3.0"
