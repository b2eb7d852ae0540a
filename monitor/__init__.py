"""Monitoring: normalisation, matching, scoring, detection, stage runners, daemon and CLI."""
