"""Contextual loss with the no-download patch extractor."""
import torch

from models.training.losses import ContextualLoss, PatchFeatures, contextual_similarity


def test_cx_is_one_for_identical_feature_sets_and_lower_otherwise():
    torch.manual_seed(0)
    y = torch.randn(2, 49, 50)
    assert torch.allclose(contextual_similarity(y, y), torch.ones(2), atol=1e-3)
    assert (contextual_similarity(torch.randn(2, 49, 50), y) < 0.5).all()


def test_contextual_loss_prefers_the_target_and_has_gradients():
    torch.manual_seed(1)
    target = torch.randn(1, 1, 24, 24)
    loss = ContextualLoss(PatchFeatures(max_positions=200))
    pred = torch.randn(1, 1, 24, 24, requires_grad=True)
    l_rand = loss(pred, target)
    l_rand.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all()
    assert loss(target, target) < l_rand


def test_every_registered_architecture_has_a_training_objective():
    import torch

    from models.registry import ARCH_REGISTRY, create_model
    from models.training.losses import LOSS_REGISTRY, LossSettings, build_loss

    assert LOSS_REGISTRY.keys() == ARCH_REGISTRY.keys()
    for arch in ARCH_REGISTRY.keys():
        args = {} if arch == "srcnn" else {"scale": 2, "channels": 8, "distilled": 4}
        model = create_model(arch, **args)
        objective = build_loss(arch, LossSettings(cx_weight=0.0), torch.device("cpu"))
        loss = objective(model, torch.rand(2, 1, 6, 6), torch.rand(2, 1, 12, 12), 2.0)
        assert loss.ndim == 0 and torch.isfinite(loss) and objective.name.startswith("L1")


def test_pixel_loss_l2_is_the_mean_squared_error_and_vp_refuses_it():
    import pytest

    from models.training.losses import LossSettings, build_loss

    cpu = torch.device("cpu")
    hr = torch.zeros(1, 1, 8, 8)
    sr = torch.full((1, 1, 8, 8), 0.5)
    net = lambda lr, scale, size: sr  # noqa: E731
    l1 = build_loss("rmisr_bl", LossSettings(), cpu)
    l2 = build_loss("rmisr_bl", LossSettings(pixel_loss="l2"), cpu)
    assert l1.name == "L1" and l2.name == "L2"
    assert float(l1(net, hr, hr, 2)) == pytest.approx(0.5)
    assert float(l2(net, hr, hr, 2)) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="l3"):
        build_loss("rmisr_bl", LossSettings(pixel_loss="l3"), cpu)
    with pytest.raises(ValueError, match="eq. 18"):
        build_loss("rmisr_vp", LossSettings(pixel_loss="l2", cx_weight=0.0), cpu)
