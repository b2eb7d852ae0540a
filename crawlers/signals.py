"""Signals the crawler sends so the daemon can wake the next stage in-process."""

#: sent by the store pipeline after a fetch result is committed; kwargs: source_id, new_posts
fetch_stored = object()
