"""Comparison panels: headers stay readable when panels are narrow."""


def test_panel_subtitle_is_elided_not_clipped(qtbot):
    from app.ui.panels import ElidedLabel

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
