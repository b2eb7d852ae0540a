"""Extractors turn a fetched body into PostItems; they never fetch."""
