"""The dashboards as ipywidgets apps; each function returns a widget to display."""

from vggviz.ui.dashboards.landing import landing
from vggviz.ui.dashboards.stem_designs import stem_designs
from vggviz.ui.dashboards.stem_explorer import stem_explorer
from vggviz.ui.dashboards.vgg_family import vgg_family
from vggviz.ui.dashboards.watch_it_learn import watch_it_learn

__all__ = ["landing", "stem_designs", "stem_explorer", "vgg_family", "watch_it_learn"]
