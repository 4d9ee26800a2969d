"""environment.yml (for conda users) lists exactly pyproject's dependencies."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[3]


def _normalise(spec: str) -> tuple[str, frozenset, str]:
    req = Requirement(spec)
    return (req.name.lower().replace("_", "-"), frozenset(req.extras), str(req.specifier))


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_normalise(s) for s in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_normalise(s) for s in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {_normalise(s) for s in pip_section}
    assert listed == wanted, (
        f"only in pyproject: {sorted(wanted - listed)}; only in environment.yml: "
        f"{sorted(listed - wanted)}"
    )
    assert "python=3.11" in env["dependencies"]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            assert spec.operator == "==", f"constraints.txt: {line} is not an exact pin"
            pins[req.name.lower().replace("_", "-")] = spec.version
    return pins


def test_constraints_pin_every_dependency_within_pyprojects_range():
    """`make` installs from constraints.txt: each dependency is pinned, inside its range."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    pins = _pins()
    for spec in specs:
        req = Requirement(spec)
        name = req.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned in constraints.txt; run make lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {req.specifier}; "
            "run make lock")


def test_the_license_is_an_spdx_string():
    """The table form is deprecated by setuptools (and will stop building in 2027)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
