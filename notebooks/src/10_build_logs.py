# %% [markdown]
# # 10. Build logs: why did the build fail?
#
# A red Build stage means reading a CodeBuild log, and most of it is noise. This notebook goes
# straight to what an operator needs:
#
# - **which build**: the one you name, or the failed (else the last) CodeBuild action of an
#   execution, by default the latest failed execution of the pipeline;
# - the **phase timeline** with durations, from CodeBuild's own record of the build;
# - the **failing command and its exit code**, from the failed phase's context
#   (`COMMAND_EXECUTION_ERROR: Error while executing command: npm test. Reason: exit status 1`);
# - a **classification** of the failure (test failure, dependency install, Docker or registry
#   login, access denied naming the missing action, timeout, out of memory, unknown) with the
#   **next step** for each;
# - the **first error line** with the lines around it.
#
# The log is read from CloudWatch Logs page by page until the forward token stops changing.
# For a large log, `server_filter=True` lets CloudWatch (FilterLogEvents) send only the lines
# triage reads, plus the lines around the first error. CodeBuild already masks the build's
# Parameter Store and Secrets Manager values; every line is also checked here for
# secret-looking values (access keys, private keys, tokens), which are shown as `***`.
#
# In JupyterLab a viewer follows the report: search (text or `/regex/`), filter by phase,
# and jump to the first error.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
execution_id: str = ""  # empty: the newest failed build (none failed: the newest build)
action: str = ""  # empty: the execution's failed (else last) CodeBuild action
build_id: str = ""  # a build id (project:uuid); overrides execution_id and action
context_lines: int = 3  # lines shown either side of the first error
server_filter: bool = False  # True: read only matching lines (FilterLogEvents), for large logs

# %%
from runbook_lib.operate import log_text, logs, test_reports, triage
from runbook_lib.views import log_viewer, nb

ctx = nb.context(globals())

# %% [markdown]
# ## Which build

# %%
ref = logs.locate_build(ctx.session, ctx.names.pipeline, execution_id, action, build_id)
print(ref.describe())

# %% [markdown]
# ## Phase timeline
#
# Each phase as CodeBuild recorded it. A failed phase is followed by FINALIZING: later phases
# are skipped, so nothing was built or deployed past it.

# %%
log = logs.read_build_log(ctx.session, ref.build_id, server_filter, context_lines)
nb.table([phase.row() for phase in log.phases], log_text.PHASE_HEADERS)

# %% [markdown]
# ## What failed, why, and what to do next

# %%
reports = test_reports.read_test_reports(ctx.session, ref.build_id)
result = triage.triage_build(log, context_lines, reports)
log_viewer.show(log, result)

# %% [markdown]
# ## Failing tests, from the build's test reports
#
# When the buildspec declares `reports`, CodeBuild keeps every test case with its suite,
# message and report file: triage names the failing tests from there, and reads the log only
# for builds without a test report.

# %%
print(reports.render())
nb.table(reports.rows(), test_reports.TEST_HEADERS)

# %% [markdown]
# ## Next

# %%
nb.next_link("09_run_and_watch", "push the fix and watch its run")
