# %% [markdown]
# # 11. Approvals cockpit
#
# A release waits in `Approve-<production>` until someone decides. This notebook gathers what
# that decision needs in one place, for every pending approval on the given pipelines: the
# commit and its message, the build result and test summary, the end of the build log, the
# staging review URL, and what production would gain (the commits since the last production
# deploy).
#
# In JupyterLab each pending approval is a card with **Approve** and **Reject** buttons; they
# stay disabled until a summary is typed, because the summary is the record of why. Headless,
# pass `decision` (approve or reject) and `summary`; with no decision the notebook only reports
# and changes nothing. Every decision goes to CodePipeline (PutApprovalResult) and to an audit
# trail in the artifact bucket: who (the caller's identity), when, which pipeline, execution,
# stage, action and token, the decision and its summary, one object per decision.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
production_name: str = "production"  # the production environment (stage Deploy-<name>)
pipelines: str = ""  # comma list of pipelines; empty: this app's pipeline
decision: str = ""  # approve or reject; empty: report only, change nothing
summary: str = ""  # why (required with a decision; goes to the audit trail)
execution_id: str = ""  # which execution to decide when several are pending
log_tail_lines: int = 20  # how many lines of the build log to show
override_stage: str = ""  # break glass: let the waiting gate of this stage through
override_reason: str = ""  # why (required with override_stage; goes to the audit trail)

# %% [markdown]
# A decision without a summary is refused here, before any AWS call.

# %%
from runbook_lib.core import headless
from runbook_lib.operate import approval_history, approvals, audit, gates, rollback
from runbook_lib.views import approval_widgets, nb

choice = approvals.check_decision(decision, summary)
ctx = nb.context(globals())
names = approvals.parse_pipelines(pipelines, ctx.names.pipeline)

# %% [markdown]
# ## Pending approvals and their evidence

# %%
cards = approvals.cockpit(ctx.session, names, rollback.production_stage(ctx.params),
                          log_tail_lines)
approval_widgets.show_cockpit(cards, names,
                              approvals.decider(ctx.session, ctx.names.artifact_bucket),
                              headless.is_headless())

# %% [markdown]
# ## The decision (headless)

# %%
record = approvals.apply_decision(ctx.session, cards, choice, summary, execution_id,
                                  ctx.names.artifact_bucket)
print(approvals.decision_text(record, ctx.names.artifact_bucket, not headless.is_headless()))

# %% [markdown]
# ## Release gates holding a run: the break-glass override
#
# A release gate (notebook 7) that is waiting, for an alarm to clear or a deployment window to
# open, holds its run. When waiting is wrong (a known false alarm, an emergency fix), pass
# `override_stage` and `override_reason`: the gate lets the run through
# (OverrideStageCondition) and the override goes to the same audit trail as decisions.

# %%
nb.table(gates.waiting_rows(ctx.session, names), gates.WAITING_HEADERS)
override = gates.apply_override(ctx.session, names, override_stage, override_reason,
                                ctx.names.artifact_bucket)
print(gates.override_text(override, ctx.names.artifact_bucket))

# %% [markdown]
# ## Answered approvals, as CodePipeline recorded them
#
# Newest first: who answered (the caller identity CodePipeline saw) and their summary.

# %%
nb.live_table("answered approvals", lambda: approvals.past_rows_for(ctx.session, names),
              approval_history.PAST_HEADERS, empty="no approval answered yet")

# %% [markdown]
# ## The audit trail in the artifact bucket
#
# Decisions made through this cockpit, oldest first, read back from
# `s3://<artifact bucket>/audit/approvals/<pipeline>/`.

# %%
nb.live_table("audit trail",
              lambda: audit.audit_rows_for(ctx.session, ctx.names.artifact_bucket, names),
              audit.AUDIT_HEADERS, empty="no decision recorded yet")

# %% [markdown]
# ## Next

# %%
nb.next_link("09_run_and_watch", "watch the approved run deploy to production")
