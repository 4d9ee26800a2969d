"""local/codebuild layer."""
