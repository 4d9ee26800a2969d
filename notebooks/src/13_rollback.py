# %% [markdown]
# # 13. Rollback
#
# When a release misbehaves, put the previous one back first and investigate after. Two ways:
#
# - `method="stage"`: **RollbackStage** re-runs `Deploy-<production>` with the artifacts of an
#   earlier execution that succeeded there. Fast: no rebuild, no approval.
# - `method="revision"`: a **new execution** pinned to the earlier commit (`sourceRevisions`
#   COMMIT_ID). It is built, tested and deployed to staging again, and **waits for approval**
#   again (notebook 11) before production: slower, fully audited.
#
# The target defaults to the newest production deployment of a commit other than the one
# production runs now; `target_execution_id` or `target_commit` pick another. The rollback is a
# plan first, carried out only with `apply=True` (or **Apply** in JupyterLab); then production
# is checked: the deployed page's version label must carry the target commit.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
deploy_provider: str = "s3"  # s3, ecs, codedeploy-ecs, codedeploy-ec2 or cloudformation
production_name: str = "production"  # the production environment (stage Deploy-<name>)
target_execution_id: str = ""  # roll back to this execution; empty: the previous release
target_commit: str = ""  # or to this commit (at least 7 characters)
method: str = "stage"  # stage (RollbackStage) or revision (new execution, approved again)
apply: bool = False  # True: roll back; False: show the plan only
wait_minutes: int = 10  # how long to wait for the rollback to finish

# %%
from runbook_lib.operate import rollback
from runbook_lib.views import nb

ctx = nb.context(globals())

# %% [markdown]
# ## Production deployments
#
# Newest first; the first row is what production runs now.

# %%
nb.live_table("deployments", lambda: rollback.deployment_rows(rollback.production_deployments(
    ctx.session, ctx.names.pipeline, rollback.production_stage(ctx.params))),
    rollback.DEPLOYMENT_HEADERS, empty="nothing deployed to production yet", last=True)

# %% [markdown]
# ## The plan

# %%
rb = rollback.plan_rollback(ctx.session, ctx.params, ctx.names, target_execution_id,
                            target_commit, method)
nb.show_plan(rb.plan, apply)

# %% [markdown]
# ## Outcome and verification
#
# After a rollback, production must serve the target commit; before one (plan only), this shows
# what production serves now. In JupyterLab it is read again after **Apply**.

# %%
with nb.waiting("following the rollback run"):
    outcome = rollback.outcome_report(ctx.session, ctx.params, ctx.names, rb, wait_minutes * 60)
nb.live_text("rollback outcome", lambda: rollback.outcome_report(
    ctx.session, ctx.params, ctx.names, rb, wait_minutes * 60), first=outcome)

# %% [markdown]
# ## Next

# %%
nb.next_link("00_overview", "check that every step of the setup is still converged")
