# %% [markdown]
# # 8. Failure notifications
#
# A pipeline nobody watches fails silently: a broken build or a failed deploy sits red in the
# console until someone happens to look. This step makes failures come to you.
#
# - An **EventBridge rule** on the default event bus matches CodePipeline's own events, and
#   only two kinds: a **pipeline execution** or a **stage execution** whose state is
#   **FAILED**, of this app's pipeline only. Successes, other pipelines and other states do not
#   match, so the notifications stay worth reading.
# - Its target is an **SNS topic**. An input transformer turns the raw event into a short
#   message: pipeline, stage (for stage failures), execution id, state, time and a console link.
# - The **topic policy** lets `events.amazonaws.com` publish only on behalf of this one rule
#   (condition `aws:SourceArn`), so no IAM role is needed for the SNS target.
# - Each address in `failure_emails` gets an **e-mail subscription**. SNS first e-mails a
#   confirmation link: **nothing is delivered until the recipient clicks it**. A re-run never
#   subscribes an address twice.
# - When a release gate of notebook 07 watches it (`gate_alarm_wait_minutes`,
#   `post_deploy_watch_minutes`), the **release alarm**: the production error count the app
#   reports, five or more in a minute. The alarm gate keeps a release out of production while
#   it fires; the post-deploy watch rolls production back when a release makes it fire.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
failure_emails: str = ""  # comma-separated e-mail addresses told about failed runs
schedule_report: bool = False  # also run the health report daily inside AWS (Scheduler)
gate_alarm_wait_minutes: int = 0  # as in 07: >0 means the alarm gate watches the release alarm
post_deploy_watch_minutes: int = 0  # as in 07: >0 means the post-deploy watch uses the alarm
apply: bool = False  # False shows the plan only; True creates or updates

# %%
from runbook_lib.operate import report_schedules
from runbook_lib.setup import monitoring, release_alarm, rule_proof, schedule
from runbook_lib.views import nb, schedule_view

ctx = nb.context(globals())

# %% [markdown]
# ## Plan
#
# Topic, topic policy, subscriptions, rule and target, each created or updated only where it
# differs; a re-run changes nothing. A topic or rule of the same name that this suite did not
# create is refused, not changed.

# %%
plan = monitoring.plan_monitoring(ctx.session, ctx.params, ctx.names)
nb.show_plan(plan, apply)

# %% [markdown]
# ## Proof: does the rule match what it should, and only that?
#
# Sample events in the exact shape CodePipeline sends are put to EventBridge's own
# `TestEventPattern` with the rule's pattern (the planned one, until the rule exists). A FAILED
# pipeline and a FAILED stage must match; a SUCCEEDED pipeline and another pipeline's failure
# must not.

# %%
proofs = rule_proof.prove_rule(ctx.session, ctx.params, ctx.names)
nb.table([p.row() for p in proofs], rule_proof.PROOF_HEADERS)
print("rule proven" if all(p.ok for p in proofs) else "the rule's pattern is wrong")

# %% [markdown]
# ## The release alarm (when a gate watches it)
#
# The alarm the release gates of notebook 07 watch. On the local AWS an alarm does not evaluate
# metrics by itself: `aws cloudwatch set-alarm-state --alarm-name <name> --state-value ALARM`
# fires it, which is how to rehearse a blocked release or an automatic rollback.

# %%
nb.show_plan(release_alarm.plan_release_alarm(ctx.session, ctx.params, ctx.names), apply)

# %% [markdown]
# ## A scheduled health report (optional)
#
# With `schedule_report=True`, an EventBridge Scheduler schedule starts, every morning, a
# CodeBuild project that renders the pipeline health report (`runbook report`) inside AWS and
# stores the HTML in the artifact bucket under `reports/`. Its roles are scoped like the others:
# the scheduler may only start that one project. The teardown removes it with the rest.

# %%
nb.show_plan(schedule.plan_if_requested(ctx.session, ctx.params, ctx.names, schedule_report),
             apply)

# %% [markdown]
# Where the scheduled report stands: its schedule, when it runs next, the last reports in the
# artifact bucket and the last report build (`runbook report --list-scheduled` prints the
# same). On the local AWS the schedule really fires: a build installs this package, renders the
# report and sends a link to the report topic.

# %%
print(schedule_view.status_text(report_schedules.read_status(ctx.session, ctx.params,
                                                             ctx.names)))

# %% [markdown]
# ## Next
#
# The overview's next step (read again after every Apply above).

# %%
nb.next_setup_step(ctx)
