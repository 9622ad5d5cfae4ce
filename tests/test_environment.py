import re
import tomllib

import yaml

from conftest import REPO

CONDA_TO_PIP = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}


def requirement(spec: str) -> tuple:
    name, version = re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", spec).groups()
    return CONDA_TO_PIP.get(name.lower(), name.lower()), version.replace(" ", "")


def test_conda_environment_and_pyproject_name_the_same_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip = {requirement(spec) for spec in project["dependencies"] + project["optional-dependencies"]["test"]}
    conda = {requirement(spec) for spec in yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
             if isinstance(spec, str)}
    conda = {(name, version) for name, version in conda if name not in NOT_PACKAGES}
    assert pip == conda
