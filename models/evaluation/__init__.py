"""Evaluation: the benchmark protocol and the measuring tools.

Libraries: :mod:`.benchmark` (the SR literature's protocol), :mod:`.benchmark_csv` (reading
``rmisr-eval``'s tables), :mod:`.complexity` (parameters, multiply-adds), :mod:`.medical_data`
(DICOM pixels in modality units). Command-line tools (``python -m models.evaluation.NAME``):
:mod:`.evaluate` (``rmisr-eval``), :mod:`.medical_eval`, :mod:`.side_by_side`, :mod:`.curve`,
:mod:`.summary`, :mod:`.speed`, :mod:`.fidelity`, :mod:`.uncertainty_eval`; no tool imports another.
Not part of the viewer's bundle.
"""
