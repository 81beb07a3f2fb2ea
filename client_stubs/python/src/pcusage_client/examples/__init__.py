"""Runnable examples: ``python -m pcusage_client.examples.totals``."""
