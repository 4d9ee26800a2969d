# %% [markdown]
# # 3. IAM service roles
#
# CodeBuild, CodePipeline, (for CodeCommit and S3 sources) EventBridge and (for
# `deploy_provider=cloudformation`) CloudFormation act through service roles. The build role
# matters most: every commit's buildspec runs with its rights, so a role that may write any
# bucket, read any secret or pass any role turns one malicious or mistaken commit into an
# account-wide incident. That is the blast radius this step keeps small.
#
# Each role gets:
#
# - a **trust policy** naming the one service that may assume it, with `aws:SourceAccount` and
#   `aws:SourceArn` conditions so only this account's project, pipeline or rule can use it
#   (no confused deputy);
# - one inline policy, `runbook-scoped`, whose statements name this app's resources: its log
#   group, artifact bucket (cache included), `/APP/*` parameters, `APP/*` secrets, report
#   groups, and only the source and deploy target you chose. The few actions AWS cannot scope
#   to a resource are listed, with the reason, in `runbook_lib.setup.policies.STAR_ONLY_ACTIONS`.
#
# The CloudFormation stack role `APP-cloudformation` changes the two stacks' resources (the
# sample template's release parameter and alerts topic) and nothing else; the pipeline role may
# only pass it to CloudFormation. Its trust names the account only, as CloudFormation documents
# no source ARN for it.
#
# A role of the same name that this suite did not create is refused, never changed.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
source_provider: str = "github"  # github, gitlab, bitbucket, codecommit or s3
source_repo: str = "acme/sample-app"  # OWNER/NAME, CodeCommit repository, or BUCKET/KEY for s3
connection_arn: str = ""  # CodeConnections ARN (required on aws for github/gitlab/bitbucket)
build_template: str = ""  # nodejs, docker or python (docker adds ECR); empty: sample: nodejs
deploy_provider: str = "s3"  # s3, ecs, codedeploy-ecs, codedeploy-ec2 or cloudformation
kms_key_arn: str = ""  # customer KMS key (or alias) ARN for artifacts; empty uses S3's key
apply: bool = False  # False shows the plan only; True creates or updates the roles

# %%
from runbook_lib.setup import iam, policies
from runbook_lib.views import nb

ctx = nb.context(globals())
plan = nb.review_plan(iam.plan_roles, ctx)
nb.show_plan(plan, apply)

# %% [markdown]
# ## Which roles, and why
#
# With a CodeCommit or S3 source, change detection is an EventBridge rule that starts the
# pipeline, and that rule needs a role allowed to call `codepipeline:StartPipelineExecution` on
# this one pipeline. With a connection source (GitHub, GitLab, Bitbucket) the connection
# triggers the pipeline itself, and the failure notification's SNS target is authorized by the
# topic policy, so no EventBridge role is created.

# %%
print(f"EventBridge role needed: {policies.needs_events_role(ctx.params)}")

# %% [markdown]
# ## The policies
#
# Exactly what the roles hold after this step, trust policy first.

# %%
for spec in policies.role_specs(ctx.params, ctx.names):
    print(iam.render_role(spec))
    print()

# %% [markdown]
# ## Compared with the console's defaults
#
# The AWS consoles have long created service roles with broad policies: CodePipeline's
# default grants whole services (`s3:*`, `ecs:*`, `cloudformation:*`...) on every resource,
# CodeBuild's documented policy puts every action on `Resource: "*"`. The table counts
# statements, actions, whole-service wildcards, statements on `"*"`, and the share of actions
# limited to named resources.

# %%
nb.table(iam.breadth_rows(ctx.params, ctx.names), iam.BREADTH_HEADERS)

# %% [markdown]
# ## Next
#
# The overview's next step (read again after every Apply above).

# %%
nb.next_setup_step(ctx)
