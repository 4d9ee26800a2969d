# %% [markdown]
# # 2. Artifact bucket
#
# Every pipeline run passes its source and build output between stages through an S3 bucket.
# CodePipeline can create a default artifact store for you, but it is one bucket per region,
# shared by every pipeline, with settings nobody reviewed. This step creates an explicit bucket
# for this app so that you decide how it is protected:
#
# - **versioning** on, so an artifact overwritten by a later run can still be recovered and a
#   rollback can redeploy an earlier build;
# - **default encryption**: SSE-S3, or SSE-KMS with your key (and an S3 bucket key, which cuts
#   KMS request costs) when `kms_key_arn` is given;
# - **all four public-access blocks** on: artifacts are never public;
# - a **bucket policy** that denies every request made without TLS;
# - a **lifecycle rule** that expires noncurrent versions after `noncurrent_version_days` days
#   and aborts incomplete multipart uploads after 7 days, so old artifacts do not pile up.
#
# Each of these is a separate change: if someone suspends versioning by hand, a re-run shows and
# repairs exactly that. A bucket of the same name that this suite did not create is refused.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
kms_key_arn: str = ""  # customer KMS key (or alias) ARN; empty uses SSE-S3
noncurrent_version_days: int = 30  # days before an overwritten artifact version is deleted
deploy_provider: str = "s3"  # s3, ecs, codedeploy-ecs, codedeploy-ec2 or cloudformation
staging_name: str = "staging"  # name of the first deployment environment
production_name: str = "production"  # name of the second deployment environment
apply: bool = False  # False shows the plan only; True creates or updates the buckets

# %%
from runbook_lib.setup import bucket
from runbook_lib.views import nb

ctx = nb.context(globals())
plan = nb.review_plan(bucket.plan_artifact_bucket, ctx)
nb.show_plan(plan, apply)

# %% [markdown]
# ## Deploy target buckets
#
# With `deploy_provider="s3"` the pipeline's deploy actions extract each build into a bucket per
# environment. They get the same versioning, encryption, public-access blocks and ownership
# tags. Other deploy providers need no bucket here, and the plan is empty.

# %%
deploy_plan = nb.review_plan(bucket.plan_deploy_buckets, ctx)
nb.show_plan(deploy_plan, apply)

# %% [markdown]
# ## The bucket as it is now
#
# Read back from S3 after the plan above (so, before `apply=True`, it shows what exists today;
# in JupyterLab it is read again after each Apply).

# %%
nb.live_table("bucket state",
              lambda: bucket.describe_artifact_bucket(ctx.session, ctx.names).as_rows(),
              ["aspect", "setting"])

# %% [markdown]
# ## Next
#
# The overview's next step (read again after every Apply above).

# %%
nb.next_setup_step(ctx)
