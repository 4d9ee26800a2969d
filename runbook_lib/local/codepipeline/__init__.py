"""local/codepipeline layer."""
