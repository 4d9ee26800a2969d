# %% [markdown]
# # 7. The pipeline
#
# One CodePipeline (type V2) carries every commit of the watched branch from source to
# production, through five stages:
#
# 1. **Source**: fetches the commit. For GitHub, GitLab and Bitbucket (through a CodeConnections
#    connection) a **trigger filtered to `source_branch`** starts runs: pushes to feature
#    branches and tags start nothing, so only reviewed, merged code moves towards production.
#    For CodeCommit and S3 sources CodePipeline has no such trigger; their change detection is
#    an EventBridge rule on the repository or object, which this step does **not** create
#    (until it exists, start those runs by hand).
# 2. **Build**: CodeBuild gets the commit id as `COMMIT_SHA`, so artifacts and container images
#    are **versioned by commit SHA**: what runs in production can be traced to one commit, and
#    a rollback redeploys exactly what ran before.
# 3. **Deploy to staging**: the same deploy action as production, so staging rehearses it.
# 4. **Approve production**: a manual approval. SNS e-mails the approvers (they must confirm
#    the subscription first); CodePipeline records who approved or rejected, when, and why:
#    the **checkpoint and audit trail** between staging and production.
# 5. **Deploy to production**.
#
# Both deploy stages **roll back on failure** to the last execution that succeeded in them, so
# a failed deploy does not leave an environment half-changed (AWS offers no stage rollback in
# PARALLEL execution mode, so that mode declares none).
#
# `deploy_provider` chooses the deploy action of both environments: `s3` (the default: the
# build's site extracted into the environment's bucket), `ecs`, `codedeploy-ecs`,
# `codedeploy-ec2`, or `cloudformation`: one stack per environment (`APP-staging`,
# `APP-production`) from the template the build writes (the sample app ships
# `infra/template.yaml`), told its environment and the release it carries, and changed by the
# stack role of notebook 03, never with the pipeline's own rights. On the local AWS moto's
# CloudFormation creates the stack; `docs/cloudformation.md` lists the resource types it can
# create, and a template resource of any other type fails the deploy naming it.
#
# ## Release gates
#
# A V2 pipeline can guard its stages itself, with **stage conditions**: rules CodePipeline
# evaluates before a stage is entered (`beforeEntry`), after its actions succeed (`onSuccess`)
# or when it fails (`onFailure`). Each gate below answers one risk and is **off by default**;
# turn it on with its parameter:
#
# - **Deployment window** (`deploy_window_cron`, `deploy_window_timezone`): production is entered
#   only inside the window (a DeploymentWindow rule, AWS's cron with `? L W #`, in your time
#   zone). Outside it the run waits at the gate and says when the window next opens: no
#   Friday-night release that nobody is awake to watch.
# - **Alarm gate** (`gate_alarm_wait_minutes`): production is not entered while the release
#   alarm (created in notebook 08) fires. The gate waits that long for it to clear, then fails
#   the run: never deploy on top of an incident.
# - **Post-deploy watch** (`post_deploy_watch_minutes`): after the production deploy the alarm is
#   watched for that long; if it fires, CodePipeline **rolls production back** to the last good
#   release on its own (`onSuccess`, result ROLLBACK).
# - **Automatic retry** (`build_retry_mode`): a failed build is retried once, automatically
#   (`onFailure` RETRY): a flaky download does not stop a release, a real failure still does.
# - **Staging skip** (`staging_skip_variable`): a run started with that pipeline variable set to
#   `false` skips staging (a VariableCheck rule with result SKIP), the documented hotfix path.
#
# An operator can always **override** a gate that is waiting (break glass, with a reason: see
# notebook 11). The declaration is checked against AWS's rules (one condition per block, 1 to 5
# rules, the results each block allows, SKIP only with VariableCheck) before any API call.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
source_provider: str = "github"  # github, gitlab, bitbucket, codecommit or s3
source_repo: str = "acme/sample-app"  # OWNER/NAME, a CodeCommit repository, or BUCKET/KEY for s3
source_branch: str = "main"  # the only branch that triggers the pipeline
connection_arn: str = ""  # CodeConnections ARN (required on aws for github/gitlab/bitbucket)
deploy_provider: str = "s3"  # s3, ecs, codedeploy-ecs, codedeploy-ec2 or cloudformation
staging_name: str = "staging"  # name of the first environment
production_name: str = "production"  # name of the environment behind the approval
approval_emails: str = ""  # comma-separated e-mail addresses that are asked to approve
review_url: str = ""  # URL of the staging environment, linked from the approval
ecs_cluster: str = ""  # ECS cluster (deploy_provider ecs or codedeploy-ecs)
ecs_service: str = ""  # ECS service (deploy_provider ecs or codedeploy-ecs)
execution_mode: str = "SUPERSEDED"  # SUPERSEDED, QUEUED or PARALLEL
kms_key_arn: str = ""  # KMS key for the artifact store (empty: the bucket's default encryption)
deploy_window_cron: str = ""  # AWS cron window for production: "* * 9-16 ? * MON-THU *"; "": off
deploy_window_timezone: str = "UTC"  # IANA time zone of the deployment window
gate_alarm_wait_minutes: int = 0  # >0: wait this long for the release alarm to clear; 0: off
post_deploy_watch_minutes: int = 0  # >0: watch the alarm after deploying, roll back if it fires
build_retry_mode: str = ""  # FAILED_ACTIONS or ALL_ACTIONS: retry a failed build once; empty: off
staging_skip_variable: str = ""  # pipeline variable (DeployStaging): false skips staging
apply: bool = False  # False shows the plan only; True creates or updates

# %%
from runbook_lib.operate import history
from runbook_lib.setup import pipeline
from runbook_lib.views import nb, plots

ctx = nb.context(globals())

# %% [markdown]
# ## The source
#
# On AWS the source is your repository, reached through the CodeConnections connection. On the
# local AWS it is a local git repository standing in for it: the sample app, registered under
# `source_repo` before the pipeline exists, so that creating the pipeline starts its first run
# (as on AWS) and every later commit on `source_branch` starts another, as a push would.

# %%
nb.live_text("local source", lambda: history.describe_local_source(ctx.session, ctx.params))

# %% [markdown]
# ## Plan
#
# On the local AWS, the sample app's repository first (when it is not registered yet), then the
# approval topic and its e-mail subscriptions, then the pipeline. An existing pipeline is
# compared with the declaration stage by stage and updated only where it differs; a re-run
# changes nothing. A pipeline or topic of the same name without this suite's tags is refused.

# %%
nb.show_plan(nb.review_plan(history.plan_pipeline_and_source, ctx), apply)

# %% [markdown]
# ## Stages and actions
#
# Artifacts flow left to right: the source action writes `SourceOutput`, the build reads it and
# writes `BuildOutput`, which both deploys read. Namespaces expose each action's variables, such
# as `#{SourceVariables.CommitId}`. Before the plan is applied this shows the planned pipeline.

# %%
shape = pipeline.describe_pipeline(ctx.session, ctx.params, ctx.names)
nb.table(shape.as_rows(), ["stage", "action", "provider", "inputs", "outputs", "namespace"])
print(f"runs start on: {shape.starts_on}")

# %% [markdown]
# ## Release gates
#
# The conditions declared on each stage (none until a gate parameter is set).

# %%
nb.table(shape.gate_rows(), ["stage", "gate"])

# %% [markdown]
# ## Drawing
#
# Stages left to right, colours by action category (a palette that stays distinct with
# colour-vision deficiencies); the manual approval is hatched with a dashed edge.

# %%
nb.live("drawing", lambda: plots.pipeline_figure(
    pipeline.describe_pipeline(ctx.session, ctx.params, ctx.names)))

# %% [markdown]
# ## Next

# %%
nb.next_setup_step(ctx)
