"""Comparison panels: headers stay readable when panels are narrow."""


def test_panel_subtitle_is_elided_not_clipped(qtbot):
    from app.ui.elided_label import ElidedLabel

    label = ElidedLabel("×4 · 1.26 s · 64×64 px")
    qtbot.addWidget(label)
    label.resize(40, 20)
    label.show()
    assert label.shown_text().endswith("…") and label.toolTip() == "×4 · 1.26 s · 64×64 px"
    assert label.text() == "×4 · 1.26 s · 64×64 px"  # the full text
    assert label.minimumSizeHint().width() < 40
    label.resize(400, 20)
    assert label.shown_text() == "×4 · 1.26 s · 64×64 px"
    label.setText("a much longer title " * 20)
    assert label.minimumSizeHint().width() < 40  # never follows the text


def test_panels_paint_caption_measurement_loupe_and_colour_bar(qtbot):
    """Every overlay of a panel paints without the engine: the caption of a computed panel,
    a distance shared by the panels, the loupe, and the uncertainty view's colour bar."""
    import numpy as np
    from PyQt5.QtCore import QPointF

    from app.ui.panel_data import PanelData, sr_overlay_text
    from app.ui.panels import ComparisonView

    src = np.linspace(0, 100, 32 * 32, dtype=np.float32).reshape(32, 32)
    sr = np.linspace(0, 100, 64 * 64, dtype=np.float32).reshape(64, 64)
    spread = np.full((64, 64), 2.0, dtype=np.float32)
    cmp_ = ComparisonView()
    qtbot.addWidget(cmp_)
    cmp_.resize(600, 300)
    cmp_.show()
    qtbot.waitExposed(cmp_)
    cmp_.set_panels([PanelData("source", "Source ROI", src, (32.0, 32.0), kind="source"),
                     PanelData("net", "Net", sr, (32.0, 32.0), method="net", scale=2.0,
                               overlay=sr_overlay_text(2.0, "rmisr-bl"), uncertainty=spread)],
                    unit="HU")
    cmp_.set_spacing((0.5, 0.5))
    cmp_.set_measurement("net", QPointF(2, 2), QPointF(12, 2))
    assert cmp_.measurement_text() == "5.0 mm · 20.0 px of Net"
    cmp_.set_loupe(True)
    cmp_.set_loupe_position(QPointF(16, 16))
    net = cmp_.panel("net").view
    assert "computed, not acquired" in net.overlay_text()
    assert not net.viewport().grab().isNull()
    cmp_.set_mode("uncertainty")
    assert net.colour_bar() is not None and cmp_.panel("source").view.colour_bar() is None
    assert net.overlay_text().startswith("[Computed uncertainty map]")
    assert not net.viewport().grab().isNull()


def test_a_narrow_panel_paints_a_shorter_caption_that_still_says_computed(qtbot):
    """On a narrow panel the caption is the longest form that fits on one line (it still says
    the pixels are computed); hovering over it shows the caption in full."""
    import numpy as np

    from app.ui.panel_data import PanelData, sr_captions
    from app.ui.panels import ComparisonView

    captions = sr_captions(2.5, "bicubic")
    cmp_ = ComparisonView()
    qtbot.addWidget(cmp_)
    cmp_.set_panels([PanelData("bicubic", "Bicubic", np.zeros((40, 40), np.float32),
                               (16.0, 16.0), scale=2.5, method="bicubic", overlay=captions[0],
                               overlay_short=captions[1:])])
    view = cmp_.panel("bicubic").view
    cmp_.resize(900, 300)
    cmp_.show()
    qtbot.waitExposed(cmp_)
    qtbot.waitUntil(lambda: view.viewport().width() > 400)
    assert view.caption() == [captions[0]]
    assert view.annotation_tip(view.caption_rect().center().toPoint()) == ""  # nothing hidden
    cmp_.resize(170, 300)
    qtbot.waitUntil(lambda: view.viewport().width() < 200)
    caption = view.caption()
    assert len(caption) == 1 and caption[0] in captions[1:] and "computed" in caption[0]
    assert view.overlay_text() == captions[0]
    assert view.annotation_tip(view.caption_rect().center().toPoint()) == captions[0]
    assert not view.viewport().grab().isNull()
