"""What each component of the network costs: the table, the stage shown highlighted."""

from __future__ import annotations

import ipywidgets as w

from vggviz.plan import formatting as fmt
from vggviz.plan.accounting import summarize
from vggviz.plan.architecture import STEMS

NOTED = ("params", "output", "output MB", "activations MB", "GMACs")
"""The columns whose meaning is written under the table."""


class ComponentCosts:
    """The cost table of a variant and stem, for one image, with its columns explained."""

    def __init__(self):
        self.widget = w.HTML()

    def show(self, variant: str, stem: str, stage: str) -> None:
        """The table of `variant` with `stem`, the row of `stage` highlighted."""
        s = summarize(variant, stem=stem)
        table = fmt.html_table(*fmt.component_table(s), css_class="vggviz-costs",
                               highlight=stage)
        notes = "<br>".join(f"<b>{name}</b>: {note}" for name, note in fmt.COLUMN_NOTES.items()
                            if name in NOTED)
        self.widget.value = (
            f"{table}<div style='line-height:1.35'><small>{STEMS[stem].title}, "
            f"{s.input_shape[0]}×{s.input_shape[1]} input, one image.<br>{notes}</small></div>")
