"""The class deployment, run for real: JupyterHub as deploy/jupyterhub/jupyterhub_config.py sets
it up, with its configurable-http-proxy, NativeAuthenticator and idle culler, driven through
Chromium: the teacher signs up and authorizes the students' sign-ups, the students log in.

One thing is swapped for the test, in a config file layered over the real one: the spawner.
SimpleLocalProcessSpawner runs every server as the test's own user, where the real
SystemdSpawner needs systemd and root. The rest is the real file: accounts, proxy, default URL,
the servers' Voilà and Jupyter settings, the culler service and its role.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, urlparse

import numpy as np
import psutil
import pytest
from browser import ARTIFACTS, LONG, VIEWPORT, PageWatch, Timings, chromium_session
from PIL import Image
from playwright.sync_api import expect
from servers import cpu_seconds, descendants, free_port, kernel_pids, project_root, stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = project_root()
HUB_DIR = ROOT / "deploy" / "jupyterhub"
PROXY = HUB_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
DASHBOARD = "voila/render/01_stem_explorer.ipynb"
GRID = "img.vggviz-grid"
USERS = ("ada", "bob")
ADMIN = "teacher"
PASSWORD = secrets.token_urlsafe(12)  # everyone's: long and uncommon, as NativeAuthenticator asks
ADMIN_PASSWORD = secrets.token_urlsafe(12)  # the operator's, given to the hub at setup
# Waits are for behaviour, generous on purpose: two kernels importing TensorFlow on a busy
# 2-core machine, or a culler pass that comes round late.
GRID_WAIT_MS = 2 * LONG
CULL_WAIT_S = 300
TIMINGS = Timings(ARTIFACTS / "hub_timings.txt")  # recorded for the note, not asserted

TEST_CONFIG = """\
# Layered over the real config by tests/test_hub.py; test only.
c = get_config()  # noqa: F821
load_subconfig({real!r})  # noqa: F821
c.JupyterHub.spawner_class = "simple"  # every server as the test's own user
c.SimpleLocalProcessSpawner.home_dir_template = {home!r}
c.Spawner.args = {args!r}
c.Spawner.environment.update({environment!r})
c.JupyterHub.port = {port}
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.JupyterHub.services.append({{"name": "test-observer", "api_token": {token!r}}})
c.JupyterHub.load_roles.append({{
    "name": "test-observer", "services": ["test-observer"],
    "scopes": ["admin:users", "list:users", "read:users", "read:servers", "servers"]}})
"""


class Hub(NamedTuple):
    url: str
    proc: subprocess.Popen
    token: str
    log: Path


def proxy_or_skip() -> None:
    """configurable-http-proxy, installed by `make hub-proxy` (npm) when missing; if it still is,
    fail under CI (CI=true) and skip elsewhere."""
    if not PROXY.exists():
        subprocess.run(["make", "-C", str(ROOT), "hub-proxy"], capture_output=True, text=True)
    if PROXY.exists():
        return
    message = f"{PROXY} missing and `make hub-proxy` (npm ci) did not install it"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def api(hub: Hub, path: str, method: str = "GET") -> dict:
    """A call to the hub's REST API with the test's own service token."""
    request = urllib.request.Request(f"{hub.url}hub/api/{path}", method=method,
                                     headers={"Authorization": f"token {hub.token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else {}


def wait_answering(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    """Wait until the hub answers through its proxy (/hub/health)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterHub exited with code {proc.returncode}; log: {log}")
        try:
            with urllib.request.urlopen(f"{url}hub/health", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"JupyterHub did not answer in {timeout} s; log: {log}")


@contextmanager
def running_hub(folder: Path, name: str, **env: str) -> Iterator[Hub]:
    """JupyterHub with the real config plus the test layer, on free ports of 127.0.0.1; its
    state (database, cookie secret) in `folder`; `env` sets the config's VGGVIZ_HUB_* knobs."""
    proxy_or_skip()
    port, token = free_port(), secrets.token_hex(16)
    (folder / "no-mirror").mkdir()  # the kernels fetch no weights: KERAS_HOME starts empty
    config = folder / "jupyterhub_test_config.py"
    config.write_text(TEST_CONFIG.format(
        real=str(HUB_DIR / "jupyterhub_config.py"),
        home=str(folder / "home" / "{username}"),
        args=["--allow-root"] if os.geteuid() == 0 else [],
        environment={"VGGVIZ_WEIGHTS_URL": str(folder / "no-mirror")},
        port=port, hub_port=free_port(), api_port=free_port(), token=token))
    log = ARTIFACTS / f"hub-{name}.log"
    log.parent.mkdir(exist_ok=True)
    environ = os.environ | {"VGGVIZ_HUB_DIR": str(folder / "hub"), "VGGVIZ_HUB_ADMIN": ADMIN,
                            "VGGVIZ_HUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
                            "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)], cwd=folder,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=environ | env, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}/"
            wait_answering(url, proc, log)
            TIMINGS.record(f"{name} hub: start → answering through the proxy",
                           time.monotonic() - started)
            yield Hub(url, proc, token, log)
        finally:
            stop(proc, grace=30)


def user_servers(hub: Hub) -> dict[str, int]:
    """The hub's running single-user servers: user name → PID (from /proc)."""
    found = {}
    for pid in descendants(hub.proc.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"jupyterhub-singleuser" not in command:
            continue
        for item in environ:
            if item.startswith(b"JUPYTERHUB_USER="):
                found[item.split(b"=", 1)[1].decode()] = pid
    return found


def memory_mb(pid: int) -> tuple[float, float]:
    """RSS and USS of one process, in MB."""
    info = psutil.Process(pid).memory_full_info()
    return info.rss / 1e6, info.uss / 1e6


@pytest.fixture(scope="module")
def browser():
    with chromium_session() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def hub(browser, tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("hub"), "class") as running:
        yield running


def sign_up(browser, hub: Hub, user: str) -> str:
    """Fill in the sign-up form as `user`; what the page answers."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{hub.url}hub/signup")
        page.fill("#username_input", user)
        page.fill("#password_input", PASSWORD)
        page.fill("#password_confirmation_input", PASSWORD)
        page.click("#signup_submit")
        return page.get_by_role("alert").inner_text()
    finally:
        context.close()


def log_in(context, hub: Hub, user: str, then: str = "", password: str = PASSWORD):
    """A page of `context` that has sent the login form as `user` (and asked for `then`)."""
    page = context.new_page()
    page.goto(f"{hub.url}hub/login" + (f"?next={quote(then)}" if then else ""))
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    return page


@pytest.fixture(scope="module")
def sign_ups(browser, hub):
    """The class's first hour: a stranger tries to sign up under the admin's name and log in
    with that sign-up's password; the students sign up; a student tries to log in before being
    authorized; the teacher (the admin the hub created at setup) authorizes them. Returns what
    each step showed."""
    seen = {"answers": {user: sign_up(browser, hub, user) for user in (ADMIN, *USERS)}}
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(LONG)
    try:
        page = log_in(context, hub, ADMIN, then="/hub/authorize")  # the stranger's password
        page.wait_for_load_state()
        seen["stranger as admin"] = (urlparse(page.url).path,
                                     page.locator("body").inner_text())
        page = log_in(context, hub, USERS[0])
        page.wait_for_load_state()
        seen["unauthorized login"] = urlparse(page.url).path
        seen["servers before authorization"] = user_servers(hub)
        page = log_in(context, hub, ADMIN, then="/hub/authorize", password=ADMIN_PASSWORD)
        page.wait_for_url(re.compile(r"/hub/authorize$"))
        for user in USERS:
            row = page.locator("tr", has=page.get_by_text(user, exact=True))
            row.get_by_role("button", name="Authorize", exact=True).click()
            expect(row.get_by_role("button", name="Unauthorize", exact=True)).to_be_visible()
    finally:
        context.close()
    return seen


def record_costs(hub: Hub, user: str) -> None:
    """What `user`'s server and kernel hold and have used at their first grid, and the hub's
    and proxy's memory: the figures deploy/README.md's arithmetic uses."""
    server = user_servers(hub)[user]
    rss, uss = memory_mb(server)
    TIMINGS.record(f"{user}: single-user server RSS (USS {uss:.0f} MB)", rss, unit="MB")
    TIMINGS.record(f"{user}: single-user server CPU time, start → first grid",
                   cpu_seconds(server, tree=False))
    for kernel in kernel_pids(server).values():
        rss, uss = memory_mb(kernel)
        TIMINGS.record(f"{user}: kernel RSS at the first grid (USS {uss:.0f} MB)", rss, unit="MB")
        TIMINGS.record(f"{user}: kernel CPU time, start → first grid", cpu_seconds(kernel))
    TIMINGS.record(f"the hub's own RSS ({user} logged in)", memory_mb(hub.proc.pid)[0], unit="MB")
    for pid in descendants(hub.proc.pid):
        with contextlib.suppress(OSError):
            if b"configurable-http-proxy" in Path(f"/proc/{pid}/cmdline").read_bytes():
                TIMINGS.record("configurable-http-proxy RSS", memory_mb(pid)[0], unit="MB")


@pytest.fixture(scope="module")
def sessions(browser, hub, sign_ups):
    """Each student logged in through the login page in a browser context of their own, on the
    page their server opened with, the grid drawn."""
    opened = {}
    try:
        for user in USERS:
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(LONG)
            started = time.monotonic()
            page = log_in(context, hub, user)
            watch = PageWatch(page, user)
            opened[user] = (page, watch)
            page.locator(GRID).wait_for(timeout=GRID_WAIT_MS)
            TIMINGS.record(f"{user}: log in → grid drawn", time.monotonic() - started)
            record_costs(hub, user)
        yield opened
    finally:
        for page, _ in opened.values():
            page.context.close()


def test_a_stranger_cannot_claim_the_admin_and_sign_ups_log_in_once_authorized(sign_ups, sessions):
    answers = sign_ups["answers"]
    assert "The signup was successful" not in answers[ADMIN], answers[ADMIN]
    path, text = sign_ups["stranger as admin"]
    assert path == "/hub/login" and "authorize" not in path, "a stranger claimed the admin"
    assert "Invalid username or password" in text or "Sign in" in text, text
    for user in USERS:
        assert "sent to the admin" in answers[user], answers[user]
    assert sign_ups["unauthorized login"] == "/hub/login"
    assert not sign_ups["servers before authorization"]
    assert set(sessions) == set(USERS)  # and after it, both logged in (the fixture's grids)


def test_each_user_gets_the_stem_explorer_with_a_kernel_of_their_own(hub, sessions):
    for user, (page, watch) in sessions.items():
        assert urlparse(page.url).path == f"/user/{user}/{DASHBOARD}"
        assert page.locator(GRID).evaluate("(img) => img.complete && img.naturalWidth") > 0
        assert not watch.problems, watch.problems
    servers = user_servers(hub)
    assert set(servers) == set(USERS)
    kernels = {user: kernel_pids(pid) for user, pid in servers.items()}
    assert all(kernels.values()), f"a user's server runs no kernel: {kernels}"
    ada, bob = (kernels[user] for user in USERS)
    assert not set(ada) & set(bob), "two users share a kernel id"
    assert not set(ada.values()) & set(bob.values()), "two users share a kernel process"


def test_a_user_asking_for_another_users_server_is_refused(hub, sessions):
    page = sessions["ada"][0].context.new_page()  # ada's cookies, her dashboard left alone
    try:
        bob = user_servers(hub)["bob"]
        kernels_before = kernel_pids(bob)
        response = page.goto(f"{hub.url}user/bob/{DASHBOARD}")
        refused = response.status == 403
        sent_home = urlparse(page.url).path.startswith("/user/ada/")
        assert refused or sent_home, f"ada reached {page.url} (HTTP {response.status})"
        assert kernel_pids(bob) == kernels_before, "ada's visit started a kernel on bob's server"
    finally:
        page.close()


def test_a_12_mb_upload_arrives_through_the_hub(sessions, tmp_path):
    """Tornado drops websocket messages over 10 MiB unless told otherwise, and nothing here
    tells it: the upload's 1 MiB pieces pass the proxy and a student's server whole."""
    page, _ = sessions["ada"]
    path = tmp_path / "noise-12mb.png"
    noise = np.random.default_rng(0).integers(0, 256, (2000, 2000, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path, compress_level=0)
    assert path.stat().st_size > 11 * 2**20
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=re.compile("Upload")).click()
    chooser.value.set_files(path)
    expect(page.locator(".vggviz-status .vggviz-ok")).to_contain_text(
        "noise-12mb.png · stem 224×224×64", timeout=LONG)


def test_a_closed_tab_frees_its_kernel_and_the_open_one_keeps_its_own(hub, sessions):
    """bob opens the dashboard in a second tab (a second kernel) and closes it: that kernel
    goes (a closing tab's shutdown, or the server's culling of kernels no page is connected
    to); the first tab's kernel stays and answers."""
    page, _ = sessions["bob"]
    server = user_servers(hub)["bob"]
    before = set(kernel_pids(server))
    second = page.context.new_page()
    try:
        second.goto(f"{hub.url}user/bob/{DASHBOARD}")
        second.locator(GRID).wait_for(timeout=GRID_WAIT_MS)
        added = set(kernel_pids(server)) - before
        assert len(added) == 1, f"the second tab should have a kernel of its own: {added}"
    finally:
        closed = time.monotonic()
        second.close(run_before_unload=True)
    while added & set(kernel_pids(server)):
        assert time.monotonic() - closed < CULL_WAIT_S, "the closed tab's kernel still runs"
        time.sleep(0.5)
    TIMINGS.record("bob: a closed tab's kernel gone after", time.monotonic() - closed)
    assert before <= set(kernel_pids(server)), "the open tab lost its kernel"
    old = page.locator(GRID).get_attribute("src")
    page.get_by_label("Colormap").select_option("magma")
    expect(page.locator(GRID)).not_to_have_attribute("src", old, timeout=LONG)


def test_an_anonymous_request_gets_the_login_page(browser, hub):
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{hub.url}user/ada/{DASHBOARD}")
        assert urlparse(page.url).path == "/hub/login"
        assert page.locator("#username_input").is_visible()
        assert page.locator("#password_input").is_visible()
        assert page.locator(GRID).count() == 0
    finally:
        context.close()


@pytest.mark.timeout(CULL_WAIT_S + 240)  # waits up to CULL_WAIT_S for the culler itself
def test_the_idle_culler_stops_an_idle_users_server(tmp_path):
    """A hub of its own, with the real config's culler on a short timeout (its knobs)."""
    with running_hub(tmp_path, "culling", VGGVIZ_HUB_CULL_TIMEOUT="15",
                     VGGVIZ_HUB_CULL_EVERY="5") as hub:
        api(hub, "users/cy", method="POST")
        api(hub, "users/cy/server", method="POST")
        deadline = time.monotonic() + CULL_WAIT_S
        while not api(hub, "users/cy").get("servers", {}).get("", {}).get("ready"):
            assert time.monotonic() < deadline, "cy's server did not start"
            time.sleep(1)
        ready = time.monotonic()
        server = user_servers(hub)["cy"]
        while api(hub, "users/cy").get("servers"):
            assert time.monotonic() < deadline, f"cy's idle server still runs after {CULL_WAIT_S} s"
            time.sleep(2)
        TIMINGS.record("culling hub: server ready → culled (timeout 15 s, every 5 s)",
                       time.monotonic() - ready)
        assert not psutil.pid_exists(server) or psutil.Process(server).status() == "zombie"
        assert "DELETE /hub/api/users/cy/server (idle-culler@" in hub.log.read_text()
