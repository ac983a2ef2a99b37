"""The page's one message after it has drawn a dashboard: the kernel sends again the state of each
widget that changed after display, and only those (vggviz/ui/parts/page_sync.py)."""

from __future__ import annotations

import ipywidgets as w
import pytest

from vggviz.ui.parts.kernel_watch import Dashboard
from vggviz.ui.parts.page_sync import widgets
from vggviz.ui.parts.picture import Picture


@pytest.fixture
def sent(monkeypatch):
    """The model ids of the widgets whose whole state was sent, in order (a trait's own update
    names its key)."""
    ids: list[str] = []

    def send_state(self, key=None):
        if key is None and self.comm is not None:
            ids.append(self.model_id)

    monkeypatch.setattr(w.Widget, "send_state", send_state)
    return ids


def dashboard() -> tuple[Dashboard, w.HTML, Picture]:
    status, chart = w.HTML("drawing…"), Picture()
    return Dashboard([status, w.VBox([w.HBox([chart])])]), status, chart


def test_after_the_page_draws_it_gets_what_changed_since_display_and_nothing_else(sent):
    board, status, chart = dashboard()
    board.sync.displayed()
    chart.value = b"\x89PNG drawn by a background thread"  # as the page loaded: maybe lost
    chart.layout.width = "100%"  # a widget's layout is a widget of its own
    status.value = "answered"
    sent.clear()
    board.sync._handle_custom_msg({"sync": True}, [])
    assert sorted(sent) == sorted([chart.model_id, chart.layout.model_id, status.model_id])
    sent.clear()
    board.sync._handle_custom_msg({"sync": "yes"}, [])  # not the page's message: nothing
    board.sync._handle_custom_msg(["sync"], [])
    assert sent == []


def test_before_any_display_everything_is_sent(sent):
    board, _, _ = dashboard()
    board.sync._handle_custom_msg({"sync": True}, [])
    assert sorted(sent) == sorted(widget.model_id for widget in widgets(board))


def test_the_tree_holds_every_widget_once_the_sync_last_among_the_children():
    board, status, chart = dashboard()
    found = list(widgets(board))
    assert len({x.model_id for x in found}) == len(found)
    for widget in (board, status, chart, chart.layout, status.style, board.sync):
        assert widget in found
    assert board.children[-1] is board.sync and board.sync.layout.display == "none"
