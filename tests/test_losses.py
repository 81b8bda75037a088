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
