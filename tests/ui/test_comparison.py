"""Comparison panels: headers stay readable when panels are narrow."""


def test_panel_subtitle_is_elided_not_clipped(qtbot):
    from app.ui.panels import ElidedLabel

    label = ElidedLabel("×4 · 1.26 s · 64×64 px")
    qtbot.addWidget(label)
    label.resize(40, 20)
    label.show()
    assert label.text().endswith("…") and label.toolTip() == "×4 · 1.26 s · 64×64 px"
    label.resize(400, 20)
    assert label.text() == "×4 · 1.26 s · 64×64 px"
