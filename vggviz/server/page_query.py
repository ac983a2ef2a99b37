"""The query of the page a dashboard's kernel serves, as Voilà hands it over.

Voilà puts the page's query in the kernel's environment (`QUERY_STRING`); a preheated kernel
gets it only once a page takes it, so there it is waited for in a thread and handed on then.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


def page_query(on_query: Callable[[str], None]) -> str:
    """The page's query now ("" outside Voilà); in a preheated Voilà kernel, "" now and
    `on_query(query)` called from a thread once a page has taken the kernel."""
    if os.environ.get("VOILA_PREHEAT") != "True":
        return os.environ.get("QUERY_STRING", "")

    def wait() -> None:
        from voila.utils import wait_for_request

        wait_for_request()
        query = os.environ.get("QUERY_STRING", "")
        if query:
            on_query(query)

    threading.Thread(target=wait, name="vggviz-page-query", daemon=True).start()
    return ""
