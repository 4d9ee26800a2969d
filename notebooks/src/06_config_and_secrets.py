# %% [markdown]
# # 6. Config and secrets
#
# One build artifact is promoted unchanged from staging to production, so what differs between
# environments cannot be baked into it. Each environment's config lives in SSM Parameter Store
# under `/APP/ENV/`, and the build project reads it by name at build time.
#
# Secrets are never plaintext build variables: those are visible to anyone who can read the
# project, and they end up in logs. Secrets live in Secrets Manager (`APP/ENV/NAME`) or as
# SecureString parameters, encrypted with KMS (your key when `kms_key_arn` is given), and the
# build project references them, so CodeBuild fetches and masks them at build time.
#
# **Secret values are never notebook parameters.** The parameters below hold names only. For
# each secret, the value comes from, in order:
#
# 1. the environment variable `RUNBOOK_SECRET_<ENV>_<NAME>` (for example
#    `RUNBOOK_SECRET_STAGING_API_KEY`), then `RUNBOOK_SECRET_<NAME>` for every environment;
# 2. a hidden prompt, when you run this notebook in JupyterLab;
# 3. on the local AWS only, a generated random placeholder, labelled as such.
#
# A headless run on AWS with no value stops and names the variables to set. An existing secret
# keeps its value unless you supply a different one (no rotation on every run), and the plan
# shows only that a value changed, never the value. Set the variables in the shell that starts
# JupyterLab or `runbook run`, not in a notebook cell.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
config_parameters: dict = None  # String parameters; None: sample app's placeholders, or none
secret_names: str = None  # Secrets Manager names (never values); None: the source's default
secure_config_names: str = None  # SecureString names (never values); None: source's default
kms_key_arn: str = ""  # customer KMS key (or alias) ARN; empty uses the AWS managed keys
staging_name: str = "staging"  # name of the first deployment environment
production_name: str = "production"  # name of the second deployment environment
apply: bool = False  # False shows the plan only; True creates or updates config and secrets

# %%
from runbook_lib.setup import config_store
from runbook_lib.views import nb

ctx = nb.context(globals())
plan = nb.review_plan(config_store.plan_config, ctx)
nb.show_plan(plan, apply)

# %% [markdown]
# ## What is stored now
#
# String values are shown; SecureString parameters and secrets show `(hidden)`. The plan above
# says where each new or changed value came from.

# %%
nb.live_table("config", lambda: config_store.config_rows(
    config_store.describe_config(ctx.session, ctx.names)), config_store.CONFIG_HEADERS,
    empty="nothing stored yet")

# %% [markdown]
# ## Next
#
# The overview's next step (read again after every Apply above).

# %%
nb.next_setup_step(ctx)
