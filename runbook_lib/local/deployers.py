"""Executors for deployers; see runbook_lib.local.actions for the plug-in shape."""
