# %% [markdown]
# # 4. Buildspec: generate, validate, lint
#
# CodeBuild runs the commands in `buildspec.yml`. A mistake there (a key misspelt, a command
# that YAML reads as a mapping, `runtime-versions` in the wrong phase) otherwise shows up only as
# a failed build after a push. This notebook renders the buildspec for your `build_template`,
# validates it against the version 0.2 schema with file and line, and lints it for the
# practices that keep a pipeline fast and safe:
#
# - `npm ci`, not `npm install`: installs exactly what the lockfile pins;
# - tests in `pre_build`, so a failing test stops the build early;
# - a `cache` block for dependency folders, so builds do not download everything again;
# - minimal artifacts (only `dist/`, named by commit), and images tagged by commit SHA;
# - no secrets in plain-text `env.variables`: use Secrets Manager or Parameter Store.
#
# Nothing is created in AWS here: the build project (next notebook) uses this buildspec.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
build_template: str = "nodejs"  # nodejs, docker or python
buildspec_path: str = ""  # a buildspec.yml to lint; empty: the source repository's own
apply: bool = False  # this step changes nothing; accepted for a uniform command line

# %%
from runbook_lib.buildspec import lint as buildspec_lint
from runbook_lib.buildspec import templates as buildspec_templates
from runbook_lib.setup import source
from runbook_lib.views import nb

ctx = nb.context(globals())
rendered = buildspec_templates.render_buildspec(ctx.params.build_template, ctx.params)
print(rendered)

# %% [markdown]
# ## Validate and lint the rendered buildspec
#
# Every template passes with no errors and no warnings; the Docker template carries one note,
# because building images needs privileged mode on the build project.

# %%
check = buildspec_lint.check_text(rendered, f"{ctx.params.build_template} template")
nb.table(check.rows(), buildspec_lint.FINDING_HEADERS)
print(check.summary())
print(buildspec_templates.describe_project_variables(ctx.params.build_template))

# %% [markdown]
# ## Your buildspec
#
# The build runs the `buildspec.yml` your repository carries. On the local AWS, when your
# repository is registered (`runbook local repo add OWNER/NAME PATH`, with `source_repo` set to
# it), this checks that file at the head of the watched branch; a repository without one gets
# the template above, embedded in the build project. Before any repository is registered it is
# the sample app's (rendered from the `nodejs` template and committed beside the app), and
# `buildspec_path` checks any other file. Schema errors appear as a `schema` finding with the
# line.

# %%
own = source.check_source_buildspec(ctx.session, ctx.params, buildspec_path)
nb.table(own.rows(), buildspec_lint.FINDING_HEADERS)
print(own.summary())

# %% [markdown]
# ## What the lint catches: a deliberately bad buildspec
#
# This one installs with `npm install`, runs the tests in `build`, has no cache, ships the whole
# checkout and keeps a password in plain text. The finding about the password never prints its
# value.

# %%
BAD_BUILDSPEC = """\
version: 0.2
env:
  variables:
    DB_PASSWORD: changeme
phases:
  install:
    commands:
      - npm install
  build:
    commands:
      - npm test
      - npm run build
artifacts:
  files:
    - '**/*'
"""
bad = buildspec_lint.check_text(BAD_BUILDSPEC, "bad example")
nb.table(bad.rows(), buildspec_lint.FINDING_HEADERS)
print(bad.summary())
