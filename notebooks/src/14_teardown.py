# %% [markdown]
# # 14. Teardown
#
# Deletes everything this suite created for `app_name`, and nothing else. A resource is deleted
# only when it has the suite's name for this app **and** this app's ownership tags; one that
# exists without them (created by hand, or by another app) is **kept** and listed below, and
# the teardown goes on with the rest.
#
# The order follows the dependencies: the pipeline first, then the EventBridge rules (failure
# notifications, and source-change detection if there is one; their targets first), the SNS
# topics (their subscriptions first), the build project and its log group, the config
# parameters, the secrets, the IAM roles (inline policies deleted and managed policies detached
# first) and last the buckets, emptied of every object version and delete marker.
#
# **Secrets are deleted with `ForceDeleteWithoutRecovery`**: there is no 7-to-30-day recovery
# window, so a secret's value is gone the moment this runs.
#
# The plan is shown first; nothing is deleted unless `apply` is True. A second run finds nothing
# and changes nothing.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
deploy_provider: str = "s3"  # s3, ecs, codedeploy-ecs, codedeploy-ec2 or cloudformation
staging_name: str = "staging"  # name of the first environment
production_name: str = "production"  # name of the environment behind the approval
apply: bool = False  # False shows the plan only; True deletes

# %%
from runbook_lib.setup import teardown
from runbook_lib.views import nb

ctx = nb.context(globals())

# %% [markdown]
# ## Plan
#
# `-` deletes, `=` leaves alone: `absent` (nothing there) or `kept` (not created by this suite).

# %%
plan = teardown.plan_teardown(ctx.session, ctx.params, ctx.names)
nb.show_plan(plan, apply)

# %% [markdown]
# ## Kept
#
# Resources with one of the suite's names but without this app's ownership tags. Delete them
# yourself if you are sure they are no longer needed.

# %%
kept = teardown.kept_resources(plan)
for resource in kept:
    print(f"kept: {resource}")
print(teardown.kept_summary(kept))

# %% [markdown]
# ## Next

# %%
nb.next_link("00_overview", "confirm that nothing of the app is left")
