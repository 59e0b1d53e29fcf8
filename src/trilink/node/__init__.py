"""A nation's node: its config, store, keys and policy, and the publish/ingest paths."""
