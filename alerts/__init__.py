"""Alerts: playbooks, message rendering, channel routing and the outbox dispatcher."""
