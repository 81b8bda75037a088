"""The engine and rmisr-train on a CUDA device (skipped where there is none).

These are the only tests of the GPU path; they run where a GPU is (``tools/device_train.sh
check``). ``RMISR_TEST_GPU=cpu`` runs the same checks on the CPU, to test the tests.
"""
import os

import numpy as np
import pytest
import torch

from models.inference import SuperResolver

from ._engine import make_weights_dir

GPU = os.environ.get("RMISR_TEST_GPU", "cuda")
pytestmark = pytest.mark.skipif(GPU == "cuda" and not torch.cuda.is_available(),
                                reason="needs a CUDA device")
CASES = [("srcnn", 3.0), ("rmisr-bl", 2.0), ("rmisr-bl", 3.0), ("rmisr-bl", 2.5),
         ("rmisr-vp", 2.5)]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return make_weights_dir(tmp_path_factory.mktemp("w"))


@pytest.fixture(scope="module")
def cpu(weights):
    return SuperResolver("cpu", weights, precision="fp32")


@pytest.fixture(scope="module")
def gpu(weights):
    return SuperResolver(GPU, weights)


def _image(seed=0, shape=(44, 38)):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return (900 * np.sin(xx / 4.0) * np.cos(yy / 6.0) + 60 * rng.standard_normal(shape)
            ).astype(np.float32)


@pytest.mark.parametrize("method,scale", CASES)
def test_fp32_on_the_gpu_equals_the_cpu(cpu, gpu, method, scale):
    """IEEE float32 on both (the engine turns TF32 off): equal to float rounding."""
    img = _image()
    a = cpu.upscale(img, scale, method)
    b, info = gpu.upscale(img, scale, method, precision="fp32", return_info=True)
    assert info.device == GPU and info.precision == "fp32"
    assert np.abs(a - b).max() <= 1e-4 * (img.max() - img.min())


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
@pytest.mark.parametrize("method,scale", CASES)
def test_half_precision_on_the_gpu_is_close_and_tiles_exactly(cpu, gpu, method, scale, precision):
    if GPU == "cpu" and precision == "fp16":
        pytest.skip("fp16 is a CUDA precision")
    img = _image(1)
    ref = cpu.upscale(img, scale, method)
    whole, info = gpu.upscale(img, scale, method, precision=precision, tile=0, return_info=True)
    tiled = gpu.upscale(img, scale, method, precision=precision, tile=16)
    span = img.max() - img.min()
    assert info.precision == precision
    assert np.isfinite(whole).all() and np.abs(whole - ref).max() <= 0.05 * span
    assert np.abs(whole - tiled).max() <= 1e-3 * span


def test_auto_precision_on_the_gpu_keeps_ct_in_fp32(gpu):
    _, info = gpu.upscale(_image(2), 2.0, "rmisr-bl", modality="CT", return_info=True)
    assert info.precision == "fp32"


def test_region_and_ensemble_on_the_gpu_match_the_cpu(cpu, gpu):
    img = _image(3, (60, 52))
    roi = (9, 11, 21, 17)
    a = cpu.upscale(img, 2.5, "rmisr-bl", roi=roi, ensemble=True)
    b, info = gpu.upscale(img, 2.5, "rmisr-bl", roi=roi, ensemble=True, precision="fp32",
                          return_info=True)
    assert info.uncertainty is not None and info.uncertainty.shape == b.shape
    assert np.abs(a - b).max() <= 1e-4 * (img.max() - img.min())


def test_rmisr_train_runs_on_the_gpu(tmp_path):
    from models.manifest import Manifest, load_model
    from models.training import train

    from ._engine import write_tiny_image_folders
    from .test_train import _args
    data = write_tiny_image_folders(tmp_path / "data")
    assert train.main(_args(data, tmp_path / "run", tmp_path / "w", 3,
                            "--device", GPU, "--precision", "auto")) == 0
    rec = Manifest(tmp_path / "w").resolve("rmisr-bl", 2)
    load_model(rec, tmp_path / "w")  # sha256 verified
    if GPU == "cuda":
        assert rec.training["hardware"] == torch.cuda.get_device_name(0)
