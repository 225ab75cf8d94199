"""One module per CLI command family; each exposes run functions taking (args, ctx)."""
