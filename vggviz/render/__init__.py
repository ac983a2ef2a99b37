"""Fast pictures of feature maps and kernels: grids, single maps, colormaps, PNG encoding.

Only numpy and Pillow do the work; TensorFlow is never imported. The modules, each usable
on its own: `palettes` (colormaps, palette, `encode_png`), `layout` (grid geometry and
hit-testing), `maps` (feature-map grids and single maps), `kernels` (conv-kernel pictures),
`scales` (colour bars, the kernels' sign legend, the chosen tile's outline).
"""

from vggviz.render.kernels import KERNEL_LABEL_HEIGHT, kernel_for, render_kernels
from vggviz.render.layout import GAP, MAX_GRID_WIDTH, GridLayout, grid_layout
from vggviz.render.maps import (
    NORMALIZATIONS,
    ORDERS,
    Grid,
    colour_range,
    focus_scale,
    grid_indices,
    map_stats,
    order_channels,
    render_grid,
    render_map,
)
from vggviz.render.palettes import (
    COLORMAPS,
    FORMATS,
    GAP_INDEX,
    GAP_RGB,
    LABEL_INDEX,
    LABEL_RGB,
    LEVELS,
    SIGN_CMAP,
    encode_png,
    palette,
)
from vggviz.render.scales import colorbar, colour_ramp, outline_tile, sign_legend

__all__ = [
    "COLORMAPS",
    "FORMATS",
    "GAP",
    "GAP_INDEX",
    "GAP_RGB",
    "KERNEL_LABEL_HEIGHT",
    "LABEL_INDEX",
    "LABEL_RGB",
    "LEVELS",
    "MAX_GRID_WIDTH",
    "NORMALIZATIONS",
    "ORDERS",
    "SIGN_CMAP",
    "Grid",
    "GridLayout",
    "colorbar",
    "colour_ramp",
    "colour_range",
    "encode_png",
    "focus_scale",
    "grid_indices",
    "grid_layout",
    "kernel_for",
    "map_stats",
    "order_channels",
    "outline_tile",
    "palette",
    "render_grid",
    "render_kernels",
    "render_map",
    "sign_legend",
]
