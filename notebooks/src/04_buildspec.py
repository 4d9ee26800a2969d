# %% [markdown]
# # 4. Buildspec: generate, validate, lint
#
# CodeBuild runs the commands in a buildspec. A mistake there (a key misspelt, a command that
# YAML reads as a mapping, `runtime-versions` in the wrong phase) otherwise shows up only as a
# failed build after a push. This notebook finds the buildspec your build will run, validates it
# against the version 0.2 schema with file and line, and lints it for the practices that keep a
# pipeline fast and safe.
#
# Nothing is created in AWS here: the build project (next notebook) uses this buildspec.

# %% tags=["parameters"]
app_name: str = "sample-app"  # lowercase name used in every resource name
target: str = "local"  # local (embedded local AWS) or aws
region: str = ""  # AWS region; empty: AWS_REGION, else us-east-1
source_repo: str = "acme/sample-app"  # OWNER/NAME of the repository the pipeline builds
source_branch: str = "main"  # the branch the pipeline watches
build_template: str = ""  # nodejs, docker or python; empty: detected from the repository
buildspec_path: str = ""  # path in the repository; empty: buildspec.yml or buildspec.yaml
apply: bool = False  # this step changes nothing; accepted for a uniform command line

# %% [markdown]
# ## Your buildspec
#
# The build runs the buildspec your repository carries. CodeBuild reads `buildspec.yml` at the
# root unless the build project names another path, so the suite looks for `buildspec.yml`,
# then `buildspec.yaml` (or at `buildspec_path`), and the next notebook sets the project's
# `buildspec` field to the path it found, as you would on AWS. On the local AWS, once your
# repository is registered (`runbook local repo add OWNER/NAME PATH`, with `source_repo` set to
# it), this checks that file at the head of the watched branch. A repository without one gets a
# template, embedded in the build project: `build_template`, or the one its files point to
# (`package.json`: nodejs; `pyproject.toml`, `requirements.txt`, `setup.py`: python;
# `Dockerfile`: docker). Before any repository is registered it is the sample app's buildspec.
# Schema errors appear as a `schema` finding with the line.

# %%
from runbook_lib.buildspec import lint as buildspec_lint
from runbook_lib.buildspec import templates as buildspec_templates
from runbook_lib.setup import source
from runbook_lib.views import nb

ctx = nb.context(globals())
for line in source.describe(ctx.session, ctx.params):
    print(line)

# %%
own = source.check_source_buildspec(ctx.session, ctx.params)
if own is None:
    print(f"{ctx.params.source_repo} cannot be read from here: run `runbook buildspec check "
          "PATH` on your checkout before you push")
else:
    nb.table(own.rows(), buildspec_lint.FINDING_HEADERS)
    print(own.summary())

# %% [markdown]
# ## The templates, and what the lint catches
#
# A repository without a buildspec gets one of these. Every template passes with no errors and
# no warnings; the Docker template carries one note, because building images needs privileged
# mode on the build project. The lint checks the practices that keep a pipeline fast and safe:
#
# - `npm ci`, not `npm install`: installs exactly what the lockfile pins;
# - tests in `pre_build`, so a failing test stops the build early;
# - a `cache` block for dependency folders, so builds do not download everything again;
# - minimal artifacts (only `dist/`, named by commit), and images tagged by commit SHA;
# - no secrets in plain-text `env.variables`: use Secrets Manager or Parameter Store.

# %%
params, choice = source.resolve(ctx.session, ctx.params)
template = choice.template or "nodejs"
if source.read_source_buildspec(ctx.session, ctx.params).text is not None:
    print(f"your repository carries its own buildspec: the {template} template below is not "
          "used, it is shown for reference\n")
rendered = buildspec_templates.render_buildspec(template, params)
print(rendered)
check = buildspec_lint.check_text(rendered, f"{template} template")
nb.table(check.rows(), buildspec_lint.FINDING_HEADERS)
print(check.summary())
print(buildspec_templates.describe_project_variables(template))

# %% [markdown]
# ## A deliberately bad buildspec (an example, not yours)
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
bad = buildspec_lint.check_text(BAD_BUILDSPEC, "example, not your buildspec")
nb.table(bad.rows(), buildspec_lint.FINDING_HEADERS)
print(bad.summary())

# %% [markdown]
# ## Next
#
# The overview's next step (read again after every Apply above).

# %%
nb.next_setup_step(ctx)
