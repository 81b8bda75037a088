"""DICOM networking with a PACS (no Qt): nodes and settings, C-ECHO, C-FIND, C-GET / C-MOVE into
a per-user retrieve cache, and C-STORE — all through pynetdicom.

::

    from app.net import load_config, echo, find_studies, StudyQuery, retrieve_series, store
    cfg = load_config()                         # ~/.config/rmisr/pacs.json (or $RMISR_PACS_CONFIG)
    node = cfg.node("hospital")
    echo(node, cfg)
    studies = find_studies(node, cfg, StudyQuery(patient_id="12345"))
"""
from __future__ import annotations

from .cache import RetrieveCache, cache_root
from .errors import (AssociationAbortedError, AssociationRejectedError,
                     NoPresentationContextError, PacsConfigError, PacsConnectionError, PacsError,
                     PacsTimeoutError, QueryFailedError, RetrieveCancelled, RetrieveFailedError,
                     StoreRefusedError, UnknownNodeError)
from .nodes import (DEFAULT_LOCAL_AE, RETRIEVE_METHODS, PacsConfig, PacsNode, Timeouts,
                    back_up_unreadable, config_path, load_config, save_config,
                    validate_ae_title)
from .retrieve import retrieve_series
from .scu import (Series, StoreResult, Study, StudyQuery, echo, find_series, find_studies,
                  status_text, store)

__all__ = [
    "RetrieveCache", "cache_root",
    "PacsError", "PacsConfigError", "UnknownNodeError", "PacsConnectionError",
    "PacsTimeoutError", "AssociationRejectedError", "AssociationAbortedError",
    "NoPresentationContextError", "QueryFailedError", "RetrieveFailedError",
    "RetrieveCancelled", "StoreRefusedError",
    "DEFAULT_LOCAL_AE", "RETRIEVE_METHODS", "PacsConfig", "PacsNode", "Timeouts", "config_path",
    "load_config", "save_config", "back_up_unreadable", "validate_ae_title",
    "Series", "StoreResult", "Study", "StudyQuery", "echo", "find_series", "find_studies",
    "retrieve_series", "status_text", "store",
]
