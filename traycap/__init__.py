"""traycap: record desktop sessions and upload them to S3 without ever losing one."""

__version__ = "0.1.0"
