# %% [markdown]
# # Pipeline health report
#
# What the pipeline did over the last days: how many runs, how they ended, how long they took,
# and for each recent failure the action that failed, the failing tests and the lines of the
# build log around the first error. `runbook report --pipeline NAME --days N --out FILE.html`
# runs this notebook headless and renders it to HTML with the code hidden, for a schedule (cron,
# or EventBridge Scheduler starting a CodeBuild project inside AWS).

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
pipeline: str = ""  # pipeline to report on; empty: APP-pipeline
days: int = 30  # the window: executions started in the last N days

# %%
from runbook_lib.operate import dora, durations, rehearsal, report
from runbook_lib.views import nb, operate_plots, plots

ctx = nb.context(globals())
health = report.build_health_report(ctx.session, pipeline or ctx.names.pipeline, days)
print(rehearsal.clock_note(ctx.session) or "Clock: real time.")

# %% [markdown]
# ## Summary
#
# The failure rate counts failed runs among finished ones; a run's duration is from its start
# to its last update, waiting for approval included.

# %%
nb.table(health.summary_rows(), report.SUMMARY_HEADERS)

# %% [markdown]
# ## Executions
#
# Newest first. In the chart, oldest at the top; failures are hatched as well as coloured.

# %%
nb.table(health.execution_rows(), report.EXECUTION_HEADERS)
plots.show_figure(operate_plots.draw_execution_durations(
    operate_plots.execution_duration_data(health)))

# %% [markdown]
# ## Stage durations and failure rates
#
# Per stage over the window: runs, failures, the median (p50) and the 90th percentile (p90) of
# its duration; then each stage's duration run by run, and its failure rate.

# %%
stage_stats = durations.stage_stats(health.records)
nb.table(durations.stats_rows(stage_stats), durations.STATS_HEADERS)
plots.show_figure(operate_plots.draw_stage_trends(operate_plots.stage_trend_data(health.records)))
plots.show_figure(operate_plots.draw_failure_rates(
    operate_plots.failure_rate_data(stage_stats, health.pipeline)))

# %% [markdown]
# ## DORA metrics
#
# Deployment frequency, lead time from commit to production, change failure rate and time to
# restore, from the production deploy stage of these executions.

# %%
dora_report = dora.compute_dora(health.records, dora.production_stage(ctx.params))
nb.table(dora.dora_rows(dora_report), dora.DORA_HEADERS)
plots.show_figure(operate_plots.draw_dora(
    operate_plots.dora_figure_data(dora_report, health.pipeline)))

# %% [markdown]
# ## Recent failures
#
# For each of the newest failed runs: where it failed, the failing tests named from the build
# log, and the log lines around the first error (secrets are masked in build logs).

# %%
for failure in health.failures:
    print(failure.headline)
    print("\n".join(failure.excerpt), end="\n\n")
print(f"{len(health.failures)} failed runs shown")
