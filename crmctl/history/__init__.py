"""History: every apply recorded as a numbered version in a git repository."""

from crmctl.history.store import Actor, HistoryStore, VersionRecord, current_actor

__all__ = ["Actor", "HistoryStore", "VersionRecord", "current_actor"]
