"""Text alternatives written from the data, the picture widget that carries them, and the keys of
the explorer's pictures, driven in Python."""

import numpy as np
import pytest
from ipywidgets.widgets.widget import _remove_buffers

from vggviz.by_hand.convolution import worked_output
from vggviz.network.class_heat import ClassHeat
from vggviz.render import LEVELS, focus_scale, palette
from vggviz.ui import stem_explorer
from vggviz.ui.panels.convolution_panel import SIGN_CMAP, _ink
from vggviz.ui.parts import alt_text
from vggviz.ui.parts.picture import KEYS, Picture, grid_move


def test_the_grid_names_its_maps_size_chosen_one_and_brightest():
    rng = np.random.default_rng(0)
    maps = rng.uniform(0, 1, (224, 224, 64)).astype(np.float32)
    maps[..., 57] += 3  # the brightest three, in order
    maps[..., 3] += 2
    maps[..., 40] += 1
    maps[..., 9] = 0
    text = alt_text.grid_alt(maps, range(64), 12, "stem", "photo.jpg")
    assert text == ("64 stem feature maps of photo.jpg, 224×224 each, map 12 chosen; brightest "
                    "maps 57, 3, 40; 1 all zero (9).")


def test_a_page_of_a_group_says_which_maps_of_how_many():
    maps = np.zeros((28, 28, 256), np.float32)
    maps[3, 4, 64:128] = np.arange(64)  # maps 127, 126, 125 brightest; 64 all zero
    text = alt_text.grid_alt(maps, range(64, 128), 66, "group3", "cat.png")
    assert text.startswith("64 of the 256 group3 feature maps (maps 64–127) of cat.png, 28×28 "
                           "each, map 66 chosen; brightest maps 127, 126, 125; 1 all zero (64)")


def test_the_large_map_gives_size_range_zeros_and_where_it_is_strongest():
    m = np.zeros((224, 224), np.float32)
    m[:112, :] = 0.5  # half zeros
    m[20, 200] = 3.25  # strongest near the top right
    assert alt_text.map_alt(m, 12, "stem") == (
        "stem map 12, 224×224: values 0 to 3.25, 50% zeros; strongest at x 200, y 20 "
        "(top right), 3.25.")
    assert alt_text.map_alt(np.zeros((7, 7)), 3, "group5") == (
        "group5 map 3, 7×7: values 0 to 0, 100% zeros.")


def test_a_rounded_share_is_never_said_as_all_or_none():
    """Group 3's map 64 with one live unit of 3,136 is 99.97 % zeros: not "100% zeros"."""
    m = np.zeros((56, 56), np.float32)
    m[3, 4] = 1.9
    assert ", >99.9% zeros;" in alt_text.map_alt(m, 64, "group3")
    m[:10, :] = 1.0  # 560 of 3,136 live: 82.1 % zeros
    assert ", 82% zeros;" in alt_text.map_alt(m, 64, "group3")


@pytest.mark.parametrize(("row", "col", "words"), [
    (0, 0, "top left"), (111, 111, "centre"), (223, 0, "bottom left"), (100, 223, "middle right"),
    (0, 100, "top centre")])
def test_regions_in_words(row, col, words):
    assert alt_text.region(row, col, 224, 224) == words


def test_the_kernel_names_its_largest_weights_with_sign_colour_channel_and_place():
    weights = np.zeros((3, 3, 3), np.float32)  # B, G, R as the network takes them
    weights[0, 1, 2] = 0.42  # R at x 1, y 0
    weights[1, 1, 0] = -0.5  # B, centre
    weights[2, 2, 1] = 0.1  # G
    weights[2, 0, 1] = -0.05
    text = alt_text.kernel_alt(weights, 7)
    assert text == ("Kernel of map 7: 3×3 weights for each of R, G and B, red above 0 and blue "
                    "below. Largest: −0.5 (blue) in B at (1, 1); 0.42 (red) in R at (1, 0); "
                    "0.1 (red) in G at (2, 2). Sums per channel: "
                    "R 0.42, G 0.05, B −0.5.")


def test_the_worked_sum_in_words_matches_the_arithmetic_by_hand():
    pixels = np.full((1, 8, 8, 3), 2.0, np.float32)  # the network's numbers, all 2
    kernel = np.full((3, 3, 3, 1), 0.5, np.float32)
    inside = worked_output(pixels, kernel, np.array([-1.0]), 4, 4, 0)
    assert alt_text.worked_words(inside) == (  # 27 × 2 × 0.5 = 27, less 1
        "Map 0 at x 4, y 4: the 27 products of the patch and the weights add up to 27; plus "
        "the bias −1 gives 26, the ReLU keeps it, so the map's value is 26.")
    corner = worked_output(pixels, kernel, np.array([-13.0]), 0, 0, 0)  # 2×2 inside: 12
    assert alt_text.worked_words(corner) == (
        "Map 0 at x 0, y 0: the 27 products of the patch and the weights add up to 12; plus "
        "the bias −13 gives −1, the ReLU makes it 0, so the map's value is 0.")


def test_the_class_heat_says_for_which_class_and_where_it_is_highest():
    heat = np.zeros((14, 14), np.float32)
    heat[10:, :4] = 0.6
    heat[12, 1] = 1.0
    text = alt_text.heat_alt(ClassHeat(heat, 2.0, 281, "tabby_cat", "group5", "block5_conv3"))
    assert text == ("Class heat for “tabby cat” at group5 over what the network sees: highest "
                    "in the bottom left (cell x 1, y 12 of 14×14); 8% of the picture at half "
                    "the peak or more.")
    none = ClassHeat(np.zeros((14, 14), np.float32), 0.0, 1, "goldfish", "group4", "x")
    assert "no place raises its score" in alt_text.heat_alt(none)


def test_the_network_view_names_its_marks():
    assert alt_text.network_view_alt("cat.png") == (
        "What the network sees: cat.png, resized and cropped to 224×224.")
    gradient = np.zeros((224, 224))
    gradient[30, 200] = 1
    field = alt_text.field_words((0, 190, 40, 223), gradient)
    assert alt_text.network_view_alt("cat.png", (29, 199, 31, 201), field) == (
        "What the network sees: cat.png, resized and cropped to 224×224; the unit's receptive "
        "field outlined in cyan, x 190–223, y 0–40, heat strongest at x 200, y 30 (top right); "
        "the worked patch outlined in yellow, pixels x 199–201, y 29–31.")


@pytest.mark.parametrize(("key", "start", "end"), [
    ("ArrowRight", 0, 1), ("ArrowLeft", 0, 0), ("ArrowDown", 3, 11), ("ArrowUp", 3, 3),
    ("ArrowDown", 60, 60), ("ArrowRight", 63, 63), ("Home", 40, 0), ("End", 5, 63)])
def test_grid_keys_move_within_the_page_without_wrapping(key, start, end):
    assert grid_move(key, start, 64, 8) == end


def test_a_picture_sends_its_png_as_a_binary_buffer_and_passes_on_only_its_events():
    picture = Picture(value=b"\x89PNG...", alt="a test", watched=["click"], focusable=True)
    _, paths, buffers = _remove_buffers(picture.get_state())
    assert paths == [["value"]] and bytes(buffers[0]) == b"\x89PNG..."
    seen = []
    picture.on_event(seen.append)
    for message in ({"type": "click", "dataX": 3, "dataY": 4}, {"type": "mousemove"},
                    {"type": "keydown", "key": "Tab"}, {"type": "keydown", "key": "End"},
                    "junk"):
        picture._received(picture, message, [])
    assert seen == [{"type": "click", "dataX": 3, "dataY": 4}, {"type": "keydown", "key": "End"}]
    assert "Tab" not in KEYS  # Tab leaves the picture: nothing traps focus


@pytest.fixture
def explorer(offline):
    app = stem_explorer().app
    assert app.downloads.join(120)
    return app


def test_the_explorers_pictures_all_have_alt_text_from_the_data(explorer):
    pictures = [explorer.map_grid.image, explorer.chosen_map.image,
                explorer.chosen_map.kernel_image,
                explorer.map_grid.bar, explorer.chosen_map.bar, explorer.chosen_map.kernel_legend,
                explorer.kernels_image, explorer.picker.original, explorer.picker.network_view]
    assert all(p.alt for p in pictures), [p for p in pictures if not p.alt]
    m = explorer.maps[..., 0]
    assert explorer.chosen_map.image.alt.startswith(
        f"stem map 0, 224×224: values 0 to {alt_text.number(m.max())}")
    assert explorer.map_grid.image.alt.startswith("64 stem feature maps of Grace Hopper (photo), "
                                              "224×224 each, map 0 chosen; brightest maps ")
    brightest = np.argsort(-explorer.maps.mean(axis=(0, 1)), kind="stable")[:3]
    assert explorer.map_grid.image.alt.split("brightest maps ")[1].startswith(
        ", ".join(map(str, brightest)))


def test_grid_keys_choose_maps_and_the_alt_texts_follow(explorer):
    assert explorer.map_grid.on_key("ArrowRight") == "Map 1 chosen, 2 of 64."
    assert explorer.chosen_map.slider.value == 1 and "map 1 chosen" in explorer.map_grid.image.alt
    assert explorer.chosen_map.image.alt.startswith("stem map 1, ")
    assert "Kernel of map 1:" in explorer.chosen_map.kernel_image.alt
    explorer.map_grid.on_key("ArrowDown")
    explorer.map_grid.on_key("End")
    assert explorer.chosen_map.slider.value == 63
    assert explorer.map_grid.on_key("PageDown").startswith("No page of maps after this one")
    assert explorer.map_grid.on_key("Enter").startswith("Map 63, large: stem map 63")


def test_map_keys_move_the_worked_sum_and_enter_shows_the_field(explorer):
    explorer.chosen_map._on_key("ArrowRight")  # from the centre
    assert explorer.worked.worked.at == (112, 113)
    scale = focus_scale((224, 224))
    assert explorer.chosen_map.image.mark == [113 * scale + scale // 2, 112 * scale + scale // 2]
    assert "at (113, 112)" in explorer.chosen_map.hover.value
    assert "Map 0 at x 113, y 112: the 27 products" in explorer.chosen_map.image.announce
    for key in ("ArrowUp", "PageUp", "End"):
        explorer.chosen_map._on_key(key)
    assert explorer.worked.worked.at == (103, 223)
    assert "the worked patch outlined in yellow, pixels x 222–223, y 102–104" in (
        explorer.picker.network_view.alt)
    explorer.chosen_map._on_key("Enter")
    assert explorer.field.unit is not None and (explorer.field.unit.row,
                                                explorer.field.unit.col) == (103, 223)
    assert "receptive field outlined in cyan" in explorer.picker.network_view.alt
    assert explorer.chosen_map.image.announce.startswith("Receptive field of x 223, y 103: a 3×3")


def test_page_down_on_a_group_keeps_the_place_on_the_page(explorer):
    explorer.stage.value = "group3"
    explorer.map_grid.on_key("ArrowRight")
    explorer.map_grid.on_key("ArrowRight")
    assert explorer.map_grid.on_key("PageDown") == "maps 64–127 of 256: map 66 chosen."
    assert explorer.map_grid.page.value == 1 and "(maps 64–127)" in explorer.map_grid.image.alt
    assert explorer.chosen_map.image.alt.startswith("group3 map 66, 28×28")
    explorer.patterns.on_key("PageUp")  # the patterns' page takes the grid's keys
    assert explorer.chosen_map.slider.value == 2


def _contrast(a, b) -> float:
    """WCAG 2.1's contrast ratio of two sRGB colours (0–255)."""
    def luminance(rgb):
        c = np.asarray(rgb, float) / 255
        c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return c @ [0.2126, 0.7152, 0.0722]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_worked_sums_numbers_read_on_every_colour_of_their_cells():
    assert _ink((0x3F, 0x8E, 0xC0)) == "#000"  # axe-core: white on it is 3.59:1
    for rgb in palette(SIGN_CMAP)[:LEVELS]:
        ink = (0, 0, 0) if _ink(rgb) == "#000" else (255, 255, 255)
        assert _contrast(ink, rgb) >= 4.5, rgb
