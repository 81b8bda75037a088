"""The networks, one module per paper concept, each architecture registered on its class.

Importing this package fills :data:`models.registry.ARCH_REGISTRY`: ``rmisr_bl`` and ``rmisr_vp``
(:mod:`.rmisr`), ``srcnn`` (:mod:`.srcnn`). Their parts: :mod:`.blocks` (SRB, PyConv-3, PYB),
:mod:`.icca`, :mod:`.pfmdb`, :mod:`.laplacian` and :mod:`.upsamplers` (sub-pixel and meta).
"""
from __future__ import annotations

from . import rmisr, srcnn  # noqa: F401  (registers the architectures)
