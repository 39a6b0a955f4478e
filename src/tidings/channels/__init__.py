"""Channels: outbox rows to provider calls, provider callbacks to events."""
