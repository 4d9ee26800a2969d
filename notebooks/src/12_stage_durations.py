# %% [markdown]
# # 12. Stage durations and DORA metrics
#
# Where the pipeline's time goes, where it fails, and how the team delivers:
#
# - **durations** per stage and per action over the last N executions, with their p50 and p90:
#   a slow build or a long wait for approval shows here first;
# - a **Gantt chart** of one execution: what ran when, and where a failed run stopped;
# - the **failure rate** of each stage (of the runs that reached it);
# - the four **DORA metrics**: deployment frequency, lead time from commit to production,
#   change failure rate and time to restore;
# - optionally an application **metric** from CloudWatch (an error rate, say) with production
#   deploys and rollbacks marked on its timeline: deploy, then error rate, then rollback.
#
# The records are read with two paginated List calls whatever N is: ListPipelineExecutions,
# then ListActionExecutions without an execution filter (one call per page covering many runs,
# not one per run). They can be saved as CSV and JSON for other tools.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
production_name: str = "production"  # production environment (stage Deploy-<name>)
last_executions: int = 20  # how many recent executions to read
metric_namespace: str = ""  # CloudWatch namespace of an application metric; empty: none
metric_name: str = ""  # the metric to draw under deploys, for example an error rate
metric_dimensions: str = ""  # the metric's dimensions as NAME:VALUE pairs, comma separated
metric_stat: str = "Average"  # CloudWatch statistic: Average, Sum, Maximum, p99...
export_folder: str = ""  # empty: do not write files

# %%
from runbook_lib.operate import dora, durations, records_io
from runbook_lib.views import nb, operate_plots, plots

ctx = nb.context(globals())
records = durations.read_records(ctx.session, ctx.names.pipeline, last_executions)

# %% [markdown]
# ## The executions read
#
# Newest first. A ROLLBACK execution is a rollback of a stage to an earlier run's artifacts.

# %%
nb.table(durations.execution_rows(records), durations.EXECUTION_HEADERS)

# %% [markdown]
# ## Per stage and per action
#
# `runs` counts the executions that reached the stage; percentiles are over the finished ones.
# A manual approval's duration is the time people took to decide.

# %%
nb.table(durations.stats_rows(durations.stage_stats(records)), durations.STATS_HEADERS)

# %%
nb.table(durations.stats_rows(durations.action_stats(records)), durations.STATS_HEADERS)

# %% [markdown]
# ## One execution as a Gantt chart
#
# The newest execution, then the newest failed one: a failed action is hatched, and nothing
# after it ran.

# %%
plots.show_figure(operate_plots.draw_gantt(
    operate_plots.gantt_data(durations.pick_execution(records))))

# %%
plots.show_figure(operate_plots.draw_gantt(operate_plots.gantt_data(
    durations.pick_execution(records, status="Failed"))))

# %% [markdown]
# ## Trends and failure rates
#
# Each stage's duration run by run, with its p50 (dashed) and p90 (dotted); then the share of
# runs that failed in each stage.

# %%
plots.show_figure(operate_plots.draw_stage_trends(operate_plots.stage_trend_data(records)))

# %%
plots.show_figure(operate_plots.draw_failure_rates(operate_plots.failure_rate_data(
    durations.stage_stats(records), ctx.names.pipeline)))

# %% [markdown]
# ## DORA metrics
#
# A deployment is a run whose production stage succeeded. A change failure is a production
# deploy that failed, or that was rolled back before the next one; a red build never reached
# production, so it is not one. Time to restore runs from a failed execution to the next
# successful production deploy.

# %%
report = dora.compute_dora(records, dora.production_stage(ctx.params))
nb.table(dora.dora_rows(report), dora.DORA_HEADERS)

# %%
nb.table(dora.deployment_rows(report), dora.DEPLOYMENT_HEADERS)

# %%
nb.table(dora.restore_rows(report), dora.RESTORE_HEADERS)

# %%
plots.show_figure(operate_plots.draw_dora(
    operate_plots.dora_figure_data(report, ctx.names.pipeline)))

# %% [markdown]
# ## The application's metric around deploys and rollbacks
#
# Name a CloudWatch metric of the deployed application (`metric_namespace`, `metric_name`,
# `metric_dimensions`) to see it over the same window, with production deploys (solid) and
# rollbacks (dashed) marked.

# %%
series = dora.read_metric_for_records(ctx.session, records, metric_namespace, metric_name,
                                      metric_dimensions, metric_stat)
print(dora.describe_metric(series))

# %%
plots.show_metric_timeline(series, report)

# %% [markdown]
# ## Export
#
# One CSV row per action execution (stable column names, times in ISO 8601, durations in
# seconds) and the same records nested in JSON.

# %%
print(records_io.export_records(records, export_folder))

# %% [markdown]
# ## Next

# %%
nb.next_link("13_rollback", "if a release misbehaves, roll production back")
