# %% [markdown]
# # Fleet health report
#
# Every pipeline of the account over the last days, from the event archive (notebook 08b):
# runs, failure rate, how long runs take, the DORA figures, the slowest stages, the most
# failing actions and the pipelines whose health changed most this week. `runbook fleet --days
# N --out FILE.html` runs this notebook headless and renders it with the code hidden.
#
# The figures come from the archived state-change events, not from the List APIs, so hundreds
# of pipelines cost one read of the archive instead of thousands of throttled calls. With
# `engine="duckdb"` the archive's objects are downloaded and queried here; with
# `engine="athena"` the same queries run in the archive's Athena workgroup.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
days: int = 30  # the window: executions started in the last N days
engine: str = "duckdb"  # duckdb (download the archive, query here) or athena
production_stage: str = "Deploy-production"  # the stage whose success is a deployment

# %%
from runbook_lib.operate import fleet_report, fleet_rows
from runbook_lib.views import display, nb

ctx = nb.context(globals())
report = fleet_report.report_for(ctx.session, ctx.params, ctx.names, days, engine,
                                 production_stage)
print(fleet_report.describe(report))

# %% [markdown]
# ## Pipelines
#
# One row a pipeline. The failure rate counts failed runs among finished ones; p50 and p90 are
# the durations of successful runs; a deployment is a run whose production stage succeeded,
# and lead time here runs from the run's start to that success (the commit's time is not in
# the events). The last column is a sparkline of runs a day. A pipeline's name links to its
# own health report when `runbook fleet --health-reports` wrote it.

# %%
nb.show(display.Table(fleet_rows.pipeline_rows(report), fleet_rows.PIPELINE_HEADERS,
                      fleet_rows.health_links(report)))

# %% [markdown]
# ## The fleet's DORA figures

# %%
nb.table(fleet_rows.fleet_dora_rows(report), fleet_rows.DORA_HEADERS)

# %% [markdown]
# ## Slowest stages and most failing actions
#
# The ten stages with the longest p90 across the fleet, and the ten actions that failed most.

# %%
nb.table(fleet_rows.stage_rows(report), fleet_rows.STAGE_HEADERS)
nb.table(fleet_rows.action_rows(report), fleet_rows.ACTION_HEADERS)

# %% [markdown]
# ## Health that changed this week
#
# Failure rate of the last 7 days against the 7 days before, largest change first.

# %%
nb.table(fleet_rows.change_rows(report), fleet_rows.CHANGE_HEADERS)
