"""Training: ``rmisr-train`` (:mod:`.train`, the driver) and its parts.

:mod:`.loop` (steps, schedule, validation, export), :mod:`.data` (HR patches and their LR),
:mod:`.losses` (eqs. 18–20 and each architecture's objective), :mod:`.warm_start` (seeding from
trained files), :mod:`.grow` (function-preserving RMISR-BL → RMISR-VP), :mod:`.resume_state`
and :mod:`.ship` (trained weights into ``weights/``). Not part of the viewer's bundle.
"""
