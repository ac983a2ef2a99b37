"""JupyterHub for a class on one machine: every student logs in and gets the stem explorer.

`make hub` starts it (`jupyterhub -f deploy/jupyterhub/jupyterhub_config.py`, run as root:
the spawner starts each student's server as a user of its own). What it sets up:

- accounts: jupyterhub-nativeauthenticator. Students sign up at /hub/signup; the admin
  authorizes them at /hub/authorize. The operator names the admin (VGGVIZ_HUB_ADMIN) and gives
  its first password (VGGVIZ_HUB_ADMIN_PASSWORD): the hub creates that account when it starts,
  so nobody can sign up under the name before the admin does.
- servers: jupyterhub-systemdspawner with systemd's dynamic users: each student's server runs
  as a throw-away user of its own, under a memory limit systemd enforces (VGGVIZ_HUB_MEM_LIMIT).
- the page: each server opens on /voila/render/01_stem_explorer.ipynb, with the package's own
  jupyter_server_config.json and voila.json (vggviz/server/config: Voilà's and the kernels'
  settings), and a closed tab's kernel culled within a minute (server/jupyter_server_config.json).
- culling: jupyterhub-idle-culler stops a server idle for VGGVIZ_HUB_CULL_TIMEOUT seconds.
- network: 127.0.0.1 only, unless VGGVIZ_HUB_IP says otherwise (put TLS in front then).

Every knob is an environment variable (deploy/README.md lists them, with what an admin
changes for a machine without systemd).
"""

import os
import sys
from pathlib import Path

from vggviz.server.dashboards import config_dir

c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

ROOT = Path(__file__).resolve().parents[2]  # the checkout: notebooks/, .venv
BIN = Path(sys.executable).parent  # the environment the hub runs in (make hub: .venv)
HUB_DIR = Path(os.environ.get("VGGVIZ_HUB_DIR", ROOT / ".hub"))
STATE = HUB_DIR / "state"  # the hub's database and cookie secret: the hub's user only
KERAS_HOME = Path(os.environ.get("VGGVIZ_HUB_KERAS_HOME", HUB_DIR / "keras"))  # readable by all
PROXY = ROOT / "deploy" / "jupyterhub" / "node_modules" / ".bin" / "configurable-http-proxy"
DASHBOARD = "/voila/render/01_stem_explorer.ipynb"

STATE.mkdir(parents=True, exist_ok=True)
STATE.chmod(0o700)

# ------------------------------------------------------------------------------ network, state
c.JupyterHub.ip = os.environ.get("VGGVIZ_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("VGGVIZ_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"  # the hub's own API: only the proxy and servers talk to it
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
# configurable-http-proxy from npm: `make hub` installs it next to this file (npm ci).
c.ConfigurableHTTPProxy.command = [str(PROXY) if PROXY.exists() else "configurable-http-proxy"]

# ------------------------------------------------------------------------------------ accounts
load_subconfig(str(Path(__file__).resolve().parent / "admin_account.py"))  # noqa: F821

# ----------------------------------------------------------------------------- users' servers
c.JupyterHub.spawner_class = "systemd"
c.SystemdSpawner.dynamic_users = True  # no system accounts: a throw-away user per student
c.SystemdSpawner.readonly_paths = [str(ROOT)]
c.SystemdSpawner.isolate_tmp = True
c.SystemdSpawner.isolate_devices = True
c.SystemdSpawner.disable_user_sudo = True
c.SystemdSpawner.extra_paths = [str(BIN)]  # the kernels' Python and Jupyter's scripts
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]  # vggviz's own environment
c.Spawner.notebook_dir = str(ROOT / "notebooks")
c.Spawner.default_url = DASHBOARD
c.Spawner.environment = {
    # The servers read the package's jupyter_server_config.json and voila.json (Voilà's and
    # the kernels' settings), as `make lab` and `make dashboard` do; server/ (first, so it wins)
    # frees a closed tab's kernel within a minute, as voila.json does for `make dashboard`: a
    # kernel with no page connected is culled after 40 idle seconds, while open pages keep theirs.
    "JUPYTER_CONFIG_PATH": os.pathsep.join([str(Path(__file__).resolve().parent / "server"),
                                            str(config_dir())]),
    "KERAS_HOME": str(KERAS_HOME),  # `make hub` fetches VGG16's ImageNet weights here
    # Patterns and the classifier's arrays: each student writes to a private /tmp (isolate_tmp)
    # and reads the cache a teacher filled beside the weights, shared read-only.
    "VGGVIZ_CACHE": os.pathsep.join(["/tmp/vggviz-cache", str(KERAS_HOME / "vggviz")]),
    "TF_CPP_MIN_LOG_LEVEL": "3",
}
# What one student may use: a server (≈ 160 MB) and a kernel per open dashboard tab (deploy/
# README.md has the measured figures).
# SystemdSpawner enforces both limits; JupyterHub's LocalProcessSpawner would only pass them on
# as $MEM_LIMIT / $CPU_LIMIT.
c.Spawner.mem_limit = os.environ.get("VGGVIZ_HUB_MEM_LIMIT", "2G")
if os.environ.get("VGGVIZ_HUB_CPU_LIMIT"):
    c.Spawner.cpu_limit = float(os.environ["VGGVIZ_HUB_CPU_LIMIT"])
# A busy machine can take a while to start a server; the first TensorFlow import is the
# kernel's, after the server answers.
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 120

# ------------------------------------------------------------------------------------- culling
CULL_TIMEOUT = int(os.environ.get("VGGVIZ_HUB_CULL_TIMEOUT", "3600"))
CULL_EVERY = int(os.environ.get("VGGVIZ_HUB_CULL_EVERY", str(max(CULL_TIMEOUT // 6, 10))))
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                f"--timeout={CULL_TIMEOUT}", f"--cull-every={CULL_EVERY}"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "description": "find idle servers and stop them (jupyterhub-idle-culler's README)",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
