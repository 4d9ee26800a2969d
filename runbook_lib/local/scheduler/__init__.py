"""EventBridge Scheduler's schedules (and EventBridge's scheduled rules) fire on the local AWS."""
