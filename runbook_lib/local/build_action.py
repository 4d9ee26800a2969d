"""Executors for build_action; see runbook_lib.local.actions for the plug-in shape."""
