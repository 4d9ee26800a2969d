# %% [markdown]
# # 5. Build project
#
# The CodeBuild project runs the buildspec for the pipeline's Build stage. CodePipeline hands it
# the source and takes its artifacts, so both are of type `CODEPIPELINE`. Each setting below is
# chosen for a reason:
#
# - **CloudWatch Logs on every build**, into a log group created first with a 30-day retention
#   policy: when a build fails, its log is how you diagnose it, and retention keeps the cost of
#   old logs bounded.
# - **Cache** (S3 by default): restoring `node_modules` and similar from the cache takes a
#   typical build from about 5 minutes to about 90 seconds. `local` is faster while a build host
#   stays warm; `none` turns caching off.
# - **Privileged mode only for Docker builds**: a privileged container is root on the build host.
#   Only `build_template=docker` needs it, to run the Docker daemon.
# - **Environment variables**: plaintext only for non-sensitive values, because anyone who can
#   read the project can read them. Configuration comes from Parameter Store and secrets from
#   Secrets Manager (the staging ones, which the build's tests use); the project holds only their
#   names, and CodeBuild resolves them when a build starts.
#
# The plan creates what is missing and updates only what drifted; a resource with the same name
# that this suite did not create is refused, never changed.
#
# The variables, config and secrets left at `None` are the source's defaults: for the sample app
# a `NODE_ENV=production` variable and the placeholder config and secrets notebook 06 teaches
# with; for your repository, none. The suite invents nothing for your app: give your build's
# variables here, and its config and secrets in notebook 06.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
source_repo: str = "acme/sample-app"  # OWNER/NAME of the repository the pipeline builds
source_branch: str = "main"  # the branch the pipeline watches
build_template: str = ""  # nodejs, docker or python (docker: privileged); empty: detected
buildspec_path: str = ""  # path in the repository; empty: buildspec.yml or buildspec.yaml
build_image: str = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"  # CodeBuild image
compute_type: str = "BUILD_GENERAL1_SMALL"  # BUILD_GENERAL1_SMALL ... BUILD_GENERAL1_2XLARGE
build_timeout_minutes: int = 15  # a build running longer than this is stopped (5-2160)
cache_mode: str = "s3"  # s3, local or none
kms_key_arn: str = ""  # KMS key for build artifacts (empty: CodeBuild's aws/s3 key)
plaintext_variables: dict = None  # non-sensitive values only; None: the source's default
config_parameters: dict = None  # in Parameter Store; None: the source's default
secret_names: str = None  # NAME,... in Secrets Manager (names only); None: source's default
secure_config_names: str = None  # NAME,... SecureString parameters; None: source's default
staging_name: str = "staging"  # the environment whose config and secrets the build uses
apply: bool = False  # True: create or update; False: show the plan only

# %%
from runbook_lib.setup import build_project_state, codebuild, source
from runbook_lib.views import nb

ctx = nb.context(globals())
for line in source.describe(ctx.session, ctx.params):
    print(line)
plan = nb.review_plan(codebuild.plan_build_project, ctx)
nb.show_plan(plan, apply)

# %% [markdown]
# ## The project
#
# The settings as CodeBuild reports them (or, before the plan is applied, the settings it will
# have). Parameter Store and Secrets Manager variables show the name CodeBuild resolves at build
# time, never the value.

# %%
state = build_project_state.describe_build_project(ctx.session, ctx.params, ctx.names)
print(state.headline())
nb.table(state.settings_rows(), ["setting", "value"])

# %%
nb.table(state.variable_rows(), ["variable", "type", "value or reference"])

# %% [markdown]
# ## Secrets never go in plaintext
#
# A plaintext variable whose name or value looks like a secret is refused before any AWS call,
# and the message names the variable but never echoes its value. For the sample app, a
# demonstration follows: a made-up `DB_PASSWORD` passed as plaintext is refused (your
# variables were checked the same way above).

# %%
print(build_project_state.plaintext_demo(ctx.params, ctx.names))

# %% [markdown]
# ## Next
#
# The overview's next step (read again after every Apply above).

# %%
nb.next_setup_step(ctx)
