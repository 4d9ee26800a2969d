# %% [markdown]
# # 0. Overview: where your setup stands
#
# Open this first, and come back to it whenever you wonder "which steps of my setup are done,
# which have drifted, what do I do next?". For the chosen app it reads, and only reads:
#
# - **every setup step** and its state in AWS: *not applied* (nothing exists yet), *converged*
#   (exactly as the step would make it), or *changes pending* (someone changed a setting by
#   hand, or a parameter changed), with the number of changes and the drifted aspects. The state
#   comes from each step's own plan, the same one its notebook shows, so the two never disagree;
# - **the latest pipeline run** with the status of each stage, and any approval waiting;
# - **the next thing to do**, with a link to the notebook where it is done.
#
# Nothing here changes anything: it is safe to run at any time. The same overview is
# `runbook status` in a terminal, which exits 0 when converged and 2 when changes are pending,
# so a cron job or CI can alert on drift.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
deploy_provider: str = "s3"  # s3, ecs, codedeploy-ecs, codedeploy-ec2 or cloudformation
apply: bool = False  # the overview changes nothing; accepted for a uniform command line

# %%
from runbook_lib.operate import overview
from runbook_lib.views import nb

ctx = nb.context(globals())
state = overview.read_overview(ctx.session, ctx.params, ctx.names)
nb.overview(state)

# %% [markdown]
# ## What each state means
#
# - **not applied**: open the step's notebook and run it with `apply=True` (or press its
#   **Apply** button in JupyterLab).
# - **changes pending**: the step's notebook shows the plan, aspect by aspect; applying it
#   repairs exactly what drifted and nothing else.
# - **not owned**: a resource of that name exists without this suite's ownership tags; the suite
#   will not touch it. Choose another `app_name`, or deal with the resource yourself.
# - **read-only**: the step checks things (identity, buildspec) and creates nothing.
