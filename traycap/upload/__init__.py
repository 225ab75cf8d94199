"""Uploading: part math and backoff (pure), the S3 adapter, the queue."""
