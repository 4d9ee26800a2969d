"""Executors for sources; see runbook_lib.local.actions for the plug-in shape."""
