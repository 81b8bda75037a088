"""``python -m app.figure``: the ×4 MRI comparison figure with Laplacian maps."""
import numpy as np
from PIL import Image

from app import figure


def test_figure_on_an_mri_slice(shared_medical, tmp_path):
    slice_path = shared_medical / "mri_brain" / "val" / figure.DEFAULT_SLICE
    out = tmp_path / "fig.png"
    scores = figure.make_figure(slice_path, out, size=64, weights_dir=tmp_path / "no-weights")
    assert [m for m, _, _ in scores] == ["bicubic"]
    (_, db, l1), = scores
    assert 15 < db < 60 and l1 > 0
    sheet = np.asarray(Image.open(out))
    assert sheet.ndim == 3 and sheet.shape[1] >= 2 * 64 * 2  # two columns of ×2-zoomed panels
