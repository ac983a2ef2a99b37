"""The project's own promises: pinned, in-step dependency lists and a CI that runs `make test`."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)$")


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith(("#", "-r ")):
            continue
        line = line.removeprefix("- ")
        m = PIN.match(line)
        assert m, f"not pinned with ==: {line!r}"
        pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_requirements_are_pinned_and_environment_yml_agrees():
    req = _pins((ROOT / "requirements.txt").read_text().splitlines())
    text = (ROOT / "environment.yml").read_text()
    pip_section = text.split("- pip:", 1)[1].splitlines()
    env = _pins(line for line in pip_section if line.strip().startswith("-"))
    assert {"tensorflow", "keras", "jupyterlab", "ipywidgets", "voila", "matplotlib", "pillow",
            "numpy"} <= set(req)
    assert env == req


def test_dev_requirements_are_pinned_and_include_the_runtime():
    lines = (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in lines
    assert {"pytest", "nbclient", "playwright", "hypothesis",
            "ruff"} <= set(_pins(lines))


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "set -euo pipefail" in ci
    assert "make test" in ci and "make test" in readme and "make dashboard" in readme
    assert "apt-get install" in ci and "chromium" in ci


def test_make_test_treats_no_tests_as_failure():
    makefile = (ROOT / "Makefile").read_text()
    assert "-eq 5" in makefile


def _imported_modules(folder: Path, leaving_out: Path | None = None) -> set[str]:
    """Top-level names of every module imported anywhere in `folder`'s Python files (but those
    under `leaving_out`)."""
    import ast

    names = set()
    for path in folder.rglob("*.py"):
        if leaving_out is not None and path.is_relative_to(leaving_out):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def _declared(*extras: str) -> dict:
    """pyproject.toml's dependencies, with those of `extras`: normalised name → version range
    (what pip installs)."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [line for extra in extras
                                       for line in project["optional-dependencies"][extra]]
    return {canonicalize_name(r.name): r.specifier for r in map(Requirement, lines)}


@pytest.mark.parametrize("part, extras", [("the library and CLI", ()),
                                          ("vggviz.server", ("dashboard",))])
def test_every_library_the_package_imports_is_declared_and_pinned(part, extras):
    """Checked against the installed distributions' own metadata: what `pip install vggviz`
    brings for the library and CLI (all but vggviz/server), what the `dashboard` extra adds for
    serving, and what the pinned stack holds (requirements.txt)."""
    import importlib.metadata
    import sys

    server = ROOT / "vggviz" / "server"
    imported = (_imported_modules(server) if extras else
                _imported_modules(ROOT / "vggviz", leaving_out=server))
    third_party = imported - set(sys.stdlib_module_names) - {"vggviz"}
    providers = importlib.metadata.packages_distributions()
    lists = {"requirements.txt": set(_pins((ROOT / "requirements.txt").read_text().splitlines())),
             "pyproject.toml": set(_declared(*extras))}
    missing = {}
    for module in sorted(third_party):
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
        for name, listed in lists.items():
            if not dists & listed:
                missing.setdefault(name, {})[module] = sorted(dists)
    assert not missing, f"imported by {part} but not listed: {missing}"


def test_every_declared_dependency_is_pinned_within_its_range():
    pins = _pins((ROOT / "requirements.txt").read_text().splitlines())
    declared = _declared("dashboard")
    assert set(declared) <= set(pins), sorted(set(declared) - set(pins))
    outside = {name: (pins[name], str(spec)) for name, spec in declared.items()
               if not spec.contains(pins[name])}
    assert not outside, f"pinned outside pyproject.toml's range: {outside}"


def test_requires_python_admits_no_python_the_pinned_stack_refuses():
    """The lowest Python that requires-python allows must be one every pinned distribution
    installs on (their own Requires-Python, from the installed metadata)."""
    import importlib.metadata
    import tomllib

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    claimed = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    lowest = min(Version(f"3.{minor}") for minor in range(8, 20)
                  if SpecifierSet(claimed).contains(f"3.{minor}"))
    refusing = {}
    for name, version in _pins((ROOT / "requirements.txt").read_text().splitlines()).items():
        meta = importlib.metadata.metadata(name)
        assert meta["Version"] == version, f"{name} {meta['Version']} installed, {version} pinned"
        needs = meta.get("Requires-Python")
        if needs and not SpecifierSet(needs).contains(lowest):
            refusing[name] = needs
    assert not refusing, f"requires-python {claimed} lets in {lowest}, which {refusing} refuse"
    ruff = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]
    assert ruff["target-version"] == f"py3{lowest.minor}"


def test_the_first_thing_users_try_imports_without_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from vggviz import FeatureExtractor, load_image, render_grid; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'eager TF'; "
            "import vggviz; assert vggviz.FeatureExtractor is FeatureExtractor")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_hub_requirements_are_pinned_on_top_of_the_runtime():
    lines = (ROOT / "requirements-hub.txt").read_text().splitlines()
    assert "-r requirements.txt" in lines
    assert {"jupyterhub", "jupyterhub-idle-culler", "jupyterhub-nativeauthenticator",
            "jupyterhub-systemdspawner"} <= set(_pins(lines))
    assert "-r requirements-hub.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()


BINDER = re.compile(r"https://mybinder\.org/v2/gh/([^/\s`)]+)/([^/\s`)]+)/[^\s`)]+")


def test_binder_is_launched_from_ones_own_copy_and_postbuild_fetches_the_weights():
    """vggviz has no public repository: no badge or link may point at one (it would 404); the
    docs give the URL pattern with placeholders, opening a dashboard that exists."""
    from urllib.parse import parse_qs, unquote, urlparse

    docs = {name: (ROOT / name).read_text() for name in ("README.md", "deploy/README.md")}
    assert all("mybinder.org/badge" not in text for text in docs.values()), "a Binder badge"
    links = [m for text in docs.values() for m in BINDER.finditer(text)]
    assert links, "no Binder URL in the docs"
    for link in links:
        assert link.groups() == ("<your-user>", "<your-repo>"), link.group(0)
        urlpath = unquote(parse_qs(urlparse(link.group(0)).query)["urlpath"][0])
        assert urlpath.startswith("voila/render/")
        assert (ROOT / urlpath.removeprefix("voila/render/")).is_file(), urlpath
    post_build = ROOT / "postBuild"
    assert post_build.stat().st_mode & 0o111, "postBuild must be executable"
    assert "vggviz.cli fetch-weights vgg16" in post_build.read_text()


def test_the_dockerfiles_pins_match_the_requirements_files():
    """Every `name==version` the single-user image installs (ARG defaults filled in) is the
    version requirements.txt or requirements-hub.txt pins."""
    text = (ROOT / "deploy" / "kubernetes" / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.M))
    for name, value in args.items():
        text = text.replace(f"${{{name}}}", value).replace(f"${name}", value)
    installed = {name.lower().replace("_", "-"): version for name, version in
                 re.findall(r"([A-Za-z0-9_.\-]+)==([0-9][^\s\"']*)", text)}
    pins = _pins((ROOT / "requirements.txt").read_text().splitlines())
    pins |= _pins((ROOT / "requirements-hub.txt").read_text().splitlines())
    assert "jupyterhub" in installed, "the image installs JupyterHub's single-user server"
    assert {name: pins.get(name) for name in installed} == installed


def test_the_kubernetes_values_serve_the_hub_over_https():
    """The chart's public proxy speaks HTTPS (Zero to JupyterHub's proxy.https), with a
    certificate from Let's Encrypt for named hosts, or one of the operator's own."""
    import yaml

    values = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "values.yaml").read_text())
    https = values["proxy"]["https"]
    assert https["enabled"] is True
    assert https["type"] in ("letsencrypt", "secret", "manual")
    assert https["hosts"] and all("." in host for host in https["hosts"])
    if https["type"] == "letsencrypt":
        assert "@" in https["letsencrypt"]["contactEmail"]
    readme = (ROOT / "deploy" / "README.md").read_text()
    assert "proxy.https" in readme and "type: secret" in readme


def test_the_kubernetes_hub_makes_its_admin_as_make_hub_does():
    """No fixed admin name that a stranger could sign up under first: the chart's hub loads the
    same admin_account.py as `make hub` (tested in test_hub.py), the name and password from the
    operator (the password from a secret, never in the values)."""
    import yaml

    values = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "values.yaml").read_text())
    hub = values["hub"]
    assert "admin_users" not in hub.get("config", {}).get("Authenticator", {})
    mount = hub["extraFiles"]["admin-account"]["mountPath"]
    assert mount == "/usr/local/etc/jupyterhub/jupyterhub_config.d/admin_account.py"
    assert (ROOT / "deploy" / "jupyterhub" / "admin_account.py").is_file()
    assert set(hub["extraEnv"]) >= {"VGGVIZ_HUB_ADMIN", "VGGVIZ_HUB_ADMIN_PASSWORD"}
    assert "secretKeyRef" in hub["extraEnv"]["VGGVIZ_HUB_ADMIN_PASSWORD"]["valueFrom"]
    local = (ROOT / "deploy" / "jupyterhub" / "jupyterhub_config.py").read_text()
    assert 'load_subconfig(str(Path(__file__).resolve().parent / "admin_account.py"))' in local
    readme = (ROOT / "deploy" / "README.md").read_text()
    assert "--set-file hub.extraFiles.admin-account.stringData=deploy/jupyterhub/admin_account.py" \
        in readme


def _defined_names(module: str) -> set[str]:
    """The names a vggviz module defines or imports at its top level, read with ast (nothing
    is imported, so TensorFlow is not)."""
    import ast

    path = ROOT / (module.replace(".", "/") + ".py")
    if not path.is_file():
        path = ROOT / module.replace(".", "/") / "__init__.py"
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_LAZY"
                                                for t in node.targets):
            names |= {key.value for key in node.value.keys}
    return names


def test_the_readme_python_uses_only_what_the_package_has():
    """Every `from vggviz… import name` and every `fx.method(` in README's Python exists: the
    README once showed fx.predict(), which had gone."""
    import ast

    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    assert blocks
    fx_methods = set()
    for block in blocks:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("vggviz"):
                missing = {a.name for a in node.names} - _defined_names(node.module)
                assert not missing, f"README imports {missing} from {node.module}"
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id == "fx"):
                fx_methods.add(node.attr)
    assert fx_methods, "README shows no FeatureExtractor in use"
    source = (ROOT / "vggviz/network/features.py").read_text()
    extractor = next(n for n in ast.parse(source).body
                     if isinstance(n, ast.ClassDef) and n.name == "FeatureExtractor")
    has = {n.name for n in extractor.body if isinstance(n, ast.FunctionDef)}
    has |= {t.id for n in extractor.body if isinstance(n, ast.Assign) for t in n.targets}
    assert fx_methods <= has, f"README calls fx.{sorted(fx_methods - has)} that do not exist"
