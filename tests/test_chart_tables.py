"""The charts' numbers as tables a screen reader reads: the figures Keras gives for VGG16
(138,357,544 parameters, fc1's 102,764,544), the stems' sizes, and an HTML table with a caption
and header cells, visually hidden; the landing page's thumbnails say what they show."""

from __future__ import annotations

from vggviz.plan import series
from vggviz.plan.accounting import summarize, summarize_all
from vggviz.plan.architecture import STEMS
from vggviz.ui.dashboards.landing import landing
from vggviz.ui.panels import chart_tables


def test_by_variant_gives_every_variants_parameters_per_component_and_keras_total():
    caption, headers, rows = chart_tables.by_variant(series.by_variant(summarize_all(), "params"))
    assert headers == ["variant", "stem", *(f"group {i}" for i in range(1, 6)), "classifier",
                       "total"]
    vgg16 = next(row for row in rows if row[0] == "VGG16")
    assert vgg16[-1] == "138,357,544"  # keras.applications.VGG16().count_params()
    assert vgg16[1] == "1,792" and vgg16[-2] == "123,642,856"  # stem; fc1 + fc2 + predictions
    assert "224×224 input" in caption


def test_input_sizes_marks_the_size_shown_and_fc1_grows_with_the_area():
    _, headers, rows = chart_tables.by_size(series.input_sizes("vgg16", [224, 448], current=448))
    assert headers == ["input size", "fc1 parameters", "stem MB"]
    assert rows == [["224 px", "102,764,544", "12.8"], ["448 px (shown)", "411,045,888", "51.4"]]


def test_stems_gives_the_values_each_stem_hands_the_learner():
    _, _, rows = chart_tables.stems(series.stems({k: summarize("vgg16", stem=k) for k in STEMS}))
    assert [row[:3] for row in rows] == [["VGG stem", "224×224", "3,211,264"],
                                         ["Pooled stem", "112×112", "802,816"],
                                         ["Strided stem", "56×56", "200,704"]]


def test_hidden_table_is_a_captioned_table_with_header_cells_kept_off_screen():
    text = chart_tables.hidden_table(("Sizes & counts", ["stem", "values"],
                                      [["VGG stem", "3,211,264"]]))
    assert "<caption>Sizes &amp; counts</caption>" in text
    assert "<th scope='col'>values</th>" in text and "<th scope='row'>VGG stem</th>" in text
    assert "clip:rect(0,0,0,0)" in text and "width:1px" in text


def test_a_chart_s_alt_is_its_table_s_caption_and_says_where_its_numbers_are():
    table = ("Parameters per component", ["variant", "total"], [["VGG16", "138,357,544"]])
    assert chart_tables.alt(table) == ("Chart: Parameters per component. Its numbers are in "
                                       "the table that follows.")


def test_the_landing_thumbnails_say_what_they_show():
    page = landing().children[0].value
    assert "alt=''" not in page
    assert "alt='three squares at the relative sizes of the stems&#x27; outputs: 224, 112, 56" \
        in page
    assert "the classifier holds up to 93 % of them" in page
