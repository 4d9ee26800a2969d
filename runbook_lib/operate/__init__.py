"""operate layer."""
