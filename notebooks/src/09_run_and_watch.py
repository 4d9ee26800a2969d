# %% [markdown]
# # 9. Run and watch
#
# The pipeline runs on every push to the watched branch. This notebook shows the runs, and on
# the local AWS it can push the sample app's canonical history through the pipeline the way a
# team would:
#
# 1. a **release note**: the run builds, tests, deploys to staging and waits for approval; it
#    is approved with a summary (the audit trail) and deploys to production;
# 2. a change that **breaks a test**: the run fails in the Build stage, before anything is
#    deployed, and the failing test is named from the build's CloudWatch log;
# 3. the **fix**: green again, approved, deployed to production;
# 4. with **release gates** on (notebook 7: an alarm gate before production and a post-deploy
#    watch), a release pushed during an incident is **kept out of production** by the alarm
#    gate, and a release that raises the error rate is **rolled back** after its deploy.
#
# On the local AWS a push is a commit on the watched branch of a repository registered with
# `runbook local repo add`; the local AWS sees the new commit and starts the run as GitHub
# would. A commit on any other branch starts nothing.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
source_repo: str = "acme/sample-app"  # OWNER/NAME of the repository
source_branch: str = "main"  # the only branch that triggers the pipeline
push_sample_history: bool = False  # local only: push the canonical history (5 runs)
wait_minutes: int = 10  # how long to wait for each run
watch: str = "latest"  # which run to follow: latest, start (one now) or push (your next push)

# %%
from runbook_lib.operate import executions, gates, history
from runbook_lib.views import nb, progress

ctx = nb.context(globals())

# %% [markdown]
# ## The canonical history
#
# Each push, the run it started, and what happened.

# %%
with nb.waiting("pushing the sample history and waiting for its runs"):
    steps = history.run_requested_history(ctx.session, ctx.params, ctx.names, wait_minutes * 60,
                                          push_sample_history)
nb.table(history.history_rows(steps), history.HEADERS,
         empty="no sample history pushed (push_sample_history=False)")
print(history.answered_text(steps))

# %% [markdown]
# ## Stages of each run

# %%
nb.table(history.stage_rows(steps), history.STAGE_HEADERS,
         empty="no sample history pushed")

# %% [markdown]
# ## Recent executions
#
# Newest first, as `aws codepipeline list-pipeline-executions` shows them.

# %%
nb.table(executions.execution_rows(ctx.session, ctx.names.pipeline), executions.EXECUTION_HEADERS,
         empty="the pipeline has not run yet")

# %% [markdown]
# ## Release gates
#
# What each stage condition did last, and why in its own words: the alarm and its state, the
# deployment window and its next opening. A gate that is **waiting** holds a run now; notebook
# 11 can override it (break glass), with a reason that goes in the audit trail.

# %%
nb.table(gates.gate_rows(gates.gate_states(ctx.session, ctx.names.pipeline)), gates.GATE_HEADERS,
         empty="no release gate has run")

# %% [markdown]
# ## Follow a run
#
# `watch` picks the run: the newest one (`latest`), one started now (`start`, the same as
# **Release change** in the console), or the one your next push starts (`push`: commit to the
# watched branch while this cell waits). In JupyterLab a live view shows every stage and action
# with its elapsed time and a progress bar; headless, a line is printed as each stage ends. A
# run that reaches a manual approval stops being followed there: nobody is made to wait on a
# human. The cell says where it waits and how to answer it (the approvals cockpit, notebook
# 11, or the exact AWS CLI command); `wait_minutes` bounds only work that is running. The last
# lines say what the release gates did to this run: waiting or blocking, and why.

# %%
followed = executions.follow_run(ctx.session, ctx.names.pipeline, watch, wait_minutes * 60,
                                 progress.reporter())
progress.show_followed(ctx.session, ctx.names.pipeline, followed)

# %% [markdown]
# ## Final state of each stage

# %%
nb.table(progress.followed_stage_rows(followed), progress.STAGE_HEADERS,
         empty="no run was followed (see above)")

# %% [markdown]
# ## When it fails
#
# The failed action of the run followed above, its build and where its log is; then the same
# for the newest failed run of the pipeline (on the local AWS, the change that broke a test).
# The build logs notebook reads and classifies that log.

# %%
failure = executions.run_failure(ctx.session, ctx.names.pipeline, followed.execution_id)
nb.show(progress.failure_display(failure))

# %%
nb.show(progress.failure_display(executions.latest_failure(ctx.session, ctx.names.pipeline)))

# %% [markdown]
# ## Next

# %%
nb.show(progress.next_after(followed, failure))
