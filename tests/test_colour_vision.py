"""The default colormap and the sign colours of weights, seen with a colour-vision deficiency.

Simulated with colour-science's Machado et al. (2009) matrices at full severity (protanopia,
deuteranopia, tritanopia) on linear sRGB; differences are CIEDE2000 in CIELAB.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from vggviz.render import SIGN_CMAP
from vggviz.render.palettes import _colors
from vggviz.ui.panels.convolution_panel import _ink, _luminance

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # colour-science's notes about optional packages
    import colour

DEFICIENCIES = ("Protanomaly", "Deuteranomaly", "Tritanomaly")
# colour-science says its tritanomaly matrices approximate by a shift: known, and used as such
pytestmark = pytest.mark.filterwarnings("ignore::colour.utilities.ColourUsageWarning")


def seen(rgb: np.ndarray, deficiency: str | None) -> np.ndarray:
    """Lab of sRGB uint8 colours as a person with `deficiency` (None: typical vision) sees them."""
    linear = colour.models.eotf_sRGB(np.asarray(rgb, float) / 255)
    if deficiency is not None:
        matrix = colour.blindness.matrix_cvd_Machado2009(deficiency, 1.0)
        linear = np.clip(linear @ matrix.T, 0, 1)
    return colour.XYZ_to_Lab(colour.RGB_to_XYZ(linear, colour.RGB_COLOURSPACES["sRGB"],
                                               apply_cctf_decoding=False))


@pytest.mark.parametrize("deficiency", [None, *DEFICIENCIES])
def test_weights_of_opposite_sign_stay_apart(deficiency):
    """At every magnitude, −w and +w are far apart (ΔE00 ≥ 25, about ten times a just
    noticeable difference): the sign reads without telling red from green."""
    lut = _colors(SIGN_CMAP, 256)
    for magnitude in (32, 64, 127):  # a quarter, half and all of the largest weight
        negative, positive = lut[127 - magnitude], lut[128 + magnitude]
        difference = colour.delta_E(seen(negative, deficiency), seen(positive, deficiency),
                                    method="CIE 2000")
        assert difference >= 25, (deficiency, magnitude, difference)


def test_the_old_red_blue_map_fell_short_under_protanopia():
    """The outside check of the measure: RdBu_r, the map before, fails the same bound."""
    lut = _colors("RdBu_r", 256)
    difference = colour.delta_E(seen(lut[127 - 32], "Protanomaly"),
                                seen(lut[128 + 32], "Protanomaly"), method="CIE 2000")
    assert difference < 25


@pytest.mark.parametrize("deficiency", [None, *DEFICIENCIES])
def test_the_default_colormap_keeps_its_order(deficiency):
    """viridis, the explorer's default, climbs in lightness from end to end for every kind of
    vision, so low and high values keep their order; its quarters stay well apart."""
    lab = seen(_colors("viridis", 65), deficiency)
    assert (np.diff(lab[:, 0]) > 0).all()
    assert lab[-1, 0] - lab[0, 0] > 60
    quarters = lab[::16]
    assert colour.delta_E(quarters[:-1], quarters[1:], method="CIE 2000").min() > 10


def test_numbers_on_sign_colours_have_contrast():
    """The worked convolution's numbers, black or white on their cell's colour, reach WCAG's
    4.5:1 on every colour the sign map has."""
    for rgb in _colors(SIGN_CMAP, 256):
        ink = 0.0 if _ink(rgb) == "#000" else 1.0
        lighter, darker = sorted((_luminance(rgb), ink), reverse=True)
        assert (lighter + 0.05) / (darker + 0.05) >= 4.5, rgb
