"""A kernel manager that never culls a page's kernel before the page has connected to it.

jupyter_server culls a kernel with no connection once it has been idle `cull_idle_timeout`
seconds, counting from its last message. A kernel that waited in Voilà's pool is handed to a
page already idle for as long as it waited, and a page on a busy machine can take longer than
the timeout to open its websocket: the culler ended such kernels before their pages drew
(`404 GET /api/kernels/…`). Here a kernel that has never had a connection is left alone for
`first_connection_grace` seconds from the moment the culler first considers it; Voilà keeps its
pooled kernels from the culler (voila_kernel_manager.py), so for them that moment is within one
`cull_interval` of being handed to a page. After the grace it is culled as usual: a page fetched
but never opened (a curl) still frees its kernel. Configured in voila.json
(`VoilaConfiguration.multi_kernel_manager_class`) and, for the hub's servers, in
deploy/jupyterhub/server/jupyter_server_config.json (`ServerApp.kernel_manager_class`).

It also counts each kernel's automatic restarts (`autorestarts` in its REST model): a kernel that
died is restarted by the server under the same id, empty, and a page that connects to it then
finds none of its widgets; the page's kernel watch (`vggviz.ui.parts.kernel_watch`) reads the
count to say so instead of showing "Loading widget…" for ever.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Integer


class FirstConnectionKernelManager(AsyncMappingKernelManager):
    """jupyter_server's kernel manager, giving a kernel no page has connected to yet a grace."""

    first_connection_grace = Integer(
        300, config=True,
        help="Seconds a kernel that has never had a connection is kept from the culler, from "
             "the first cull pass that considers it (for a pooled kernel: its hand-over to a "
             "page). Longer than a busy machine takes to open a page; then culled as usual.")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._ever_connected: set[str] = set()
        self._awaited_since: dict[str, datetime] = {}
        self._autorestarts: dict[str, int] = {}

    async def start_kernel(self, **kwargs) -> str:
        """Start a kernel as jupyter_server does, and count its automatic restarts from now."""
        kernel_id = await super().start_kernel(**kwargs)
        if kernel_id not in self._autorestarts:
            self._autorestarts[kernel_id] = 0
            self.add_restart_callback(kernel_id, lambda: self._restarted(kernel_id), "restart")
        return kernel_id

    def _restarted(self, kernel_id: str) -> None:
        if kernel_id in self._autorestarts:
            self._autorestarts[kernel_id] += 1

    def kernel_model(self, kernel_id: str) -> dict:
        """jupyter_server's model of a kernel, with `autorestarts`: how many times the server
        restarted it (empty) after it died."""
        model = super().kernel_model(kernel_id)
        model["autorestarts"] = self._autorestarts.get(kernel_id, 0)
        return model

    def notify_connect(self, kernel_id: str) -> None:
        """Count the connection, and remember that this kernel's page has arrived."""
        super().notify_connect(kernel_id)
        self._ever_connected.add(kernel_id)

    def remove_kernel(self, kernel_id: str):
        """Forget a kernel that is gone (shut down, culled or dead)."""
        self._ever_connected.discard(kernel_id)
        self._awaited_since.pop(kernel_id, None)
        self._autorestarts.pop(kernel_id, None)
        return super().remove_kernel(kernel_id)

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        """Cull as jupyter_server does, unless the kernel still awaits its first connection
        within the grace (a dead kernel is ended at once, as jupyter_server does)."""
        kernel = self._kernels[kernel_id]
        awaited = (kernel_id not in self._ever_connected
                   and getattr(kernel, "execution_state", None) != "dead")
        if awaited:
            since = self._awaited_since.setdefault(kernel_id, datetime.now(UTC))
            if datetime.now(UTC) - since < timedelta(seconds=self.first_connection_grace):
                return
        await super().cull_kernel_if_idle(kernel_id)
