# %% [markdown]
# # 1. Preflight
#
# Before anything is created: who is calling, in which account and region, and the exact name
# and ARN of every resource the suite will create. Parameters are validated here, before any
# AWS call, so a bad name fails with a sentence that names the fix.
#
# On real AWS this notebook also simulates your own permissions for every action the setup
# needs, so a missing permission shows up now and not halfway through the pipeline.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
source_provider: str = "github"  # github, gitlab, bitbucket, codecommit or s3
source_repo: str = "acme/sample-app"  # OWNER/NAME of the repository
source_branch: str = "main"  # the only branch that triggers the pipeline
connection_arn: str = ""  # CodeConnections ARN (required on aws for github/gitlab/bitbucket)
deploy_provider: str = "s3"  # s3, ecs, codedeploy-ecs, codedeploy-ec2 or cloudformation
apply: bool = False  # preflight changes nothing; accepted for a uniform command line

# %%
from runbook_lib.setup import preflight
from runbook_lib.views import nb

ctx = nb.context(globals())
report = preflight.run_preflight(ctx.session, ctx.params)
print(f"target:  {report.target}")
print(f"region:  {report.region}")
print(f"account: {report.account_id}")
print(f"caller:  {report.caller_arn}")

# %% [markdown]
# ## What the suite will create
#
# Every name is derived from `app_name`, the account and the region in one place
# (`runbook_lib.core.params`), so the notebooks that follow and the teardown agree on them.

# %%
nb.table(report.names.as_rows(), ["resource", "name or ARN"])

# %% [markdown]
# ## Your permissions
#
# Each action the setup calls, simulated against your identity's policies on AWS.

# %%
for note in report.notes:
    print(note)
nb.table(preflight.permission_rows(report), preflight.PERMISSION_HEADERS)
print(report.verdict)

# %% [markdown]
# ## Next
#
# The overview's next step (read again after every Apply above).

# %%
nb.next_setup_step(ctx)
