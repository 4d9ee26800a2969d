# %% [markdown]
# # 8b. Event archive (fleet health)
#
# The health report reads one pipeline through the CodePipeline APIs. A platform team runs
# hundreds, and those List APIs are slow and throttled; history older than the APIs keep is
# gone. The practice AWS describes for delivery metrics across an account is to archive the
# state-change events and query them. This step builds that archive:
#
# - An **EventBridge rule** on the default bus for every CodePipeline pipeline, stage and
#   action state change and every CodeBuild build state change **of the account** (not only
#   this app's: the fleet report covers every pipeline).
# - An **Amazon Data Firehose stream**, the rule's target, writes the events to the artifact
#   bucket under `events/year=/month=/day=/`, gzipped, one JSON event a line.
# - A **Glue database and table** over those objects with **partition projection**: Athena
#   works the partitions out from the path, so no crawler runs and no partition is added.
# - An **Athena workgroup** with its own result location and a cap on bytes scanned a query.
# - Two **roles**, each allowed one thing: the rule may put records on the stream; the stream
#   may write under `events/` of the bucket.
#
# With `apply=True` the pipeline's runs that finished before the archive existed are then read
# once through the APIs (paged, paced) and written into it (**backfill**), so the fleet report
# and the pipeline's own report agree. `runbook fleet --days 30 --out fleet.html` renders the
# fleet report.
#
# On the local AWS the same resources are created; the local EventBridge delivers to the local
# Firehose, which writes one object per delivery at once (real Firehose buffers up to 5
# minutes). moto stores the Glue table and Athena workgroup but runs no SQL: locally the fleet
# report queries the archive with DuckDB.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
backfill_all_pipelines: bool = False  # backfill every pipeline of the account, not only this app's
apply: bool = False  # False shows the plan only; True creates or updates, then backfills

# %%
from runbook_lib.operate import fleet_backfill
from runbook_lib.setup import event_archive, event_archive_spec
from runbook_lib.views import nb

ctx = nb.context(globals())
archive = event_archive_spec.ArchiveNames.derive(ctx.names, ctx.params)
nb.table(event_archive_spec.summary_rows(ctx.names, archive), event_archive_spec.SUMMARY_HEADERS)

# %% [markdown]
# ## Plan
#
# Roles, stream, rule and target, database, table and workgroup: each created or updated only
# where it differs; a re-run changes nothing. One of the same name that this suite did not
# create is refused, not changed.

# %%
plan = event_archive.plan_event_archive(ctx.session, ctx.params, ctx.names)
nb.show_plan(plan, apply)

# %% [markdown]
# ## Backfill
#
# Runs that had finished before the archive existed, read once (ListPipelineExecutions and
# ListActionExecutions, paged, at most one call a second each) and written under the day of
# their start. A second backfill rewrites the same objects.

# %%
backfilled = fleet_backfill.backfill_app(ctx.session, archive, ctx.names.pipeline,
                                         backfill_all_pipelines, apply)
if backfilled:
    print(f"{backfilled.executions} runs of {backfilled.pipelines} pipelines, "
          f"{backfilled.events} events in {backfilled.objects} objects; "
          f"{sum(backfilled.calls.values())} API calls")

# %% [markdown]
# ## Next
#
# The overview's next step (read again after every Apply above).

# %%
nb.next_setup_step(ctx)
