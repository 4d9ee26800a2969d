"""CloudWatch Logs operations the local AWS serves itself (moto serves the rest)."""
