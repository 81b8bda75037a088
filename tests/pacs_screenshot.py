"""Screenshot of File ▸ Open from PACS… searching a real Orthanc (the README's picture).

    xvfb-run -s "-screen 0 1280x800x24" python -m tests.pacs_screenshot resources/pacs_dialog.png

Starts a seeded Orthanc as the tests do (``tests/_orthanc.py``), opens the dialog in a real X
window, searches (study date range, CT), chooses the chest CT study, waits for its series and
saves ``QWidget.grab()`` of the dialog. Orthanc is stopped at the end.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def _wait(app, condition, timeout: float = 20.0) -> bool:
    from app.ui.screenshot import _wait as wait
    return wait(app, condition, timeout)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("output", nargs="?", default="resources/pacs_dialog.png")
    args = p.parse_args(argv)

    from tests import _orthanc
    from app.net import PacsConfig, PacsNode, Timeouts, save_config

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        seed = _orthanc.seed_files(root / "seed")
        server = _orthanc.OrthancServer(root / "server", client_port=_orthanc.free_port(),
                                        max_patients=len(seed.patients))
        server.start()
        try:
            server.seed(seed)
            config = root / "pacs.json"
            save_config(PacsConfig(local_ae=_orthanc.CLIENT_AET, timeouts=Timeouts(3, 10, 30, 30),
                                   nodes=(PacsNode("hospital", _orthanc.ORTHANC_AET, "127.0.0.1",
                                                   server.dicom_port),)), config)
            os.environ["RMISR_PACS_CACHE"] = str(root / "cache")
            from PyQt5.QtWidgets import QApplication

            from app.ui.pacs_dialog import PacsDialog

            app = QApplication.instance() or QApplication(sys.argv)
            dlg = PacsDialog(config_file=config)
            dlg.resize(1000, 620)
            dlg.show()
            dlg.date_from.setText("20070101")
            dlg.date_to.setText("20071231")
            dlg.modality.setCurrentIndex(dlg.modality.findData("CT"))
            dlg.search()
            if not _wait(app, lambda: len(dlg.studies) > 0 and not dlg.busy()):
                print(f"no study found: {dlg.status.text()}", file=sys.stderr)
                return 1
            row = next((i for i, s in enumerate(dlg.studies)
                        if s.patient_id == "Lung_Dx-A0001"), 0)
            dlg.study_table.selectRow(row)
            if not _wait(app, lambda: len(dlg.series) > 0 and not dlg.busy()):
                print(f"no series found: {dlg.status.text()}", file=sys.stderr)
                return 1
            dlg.series_table.selectRow(0)
            _wait(app, lambda: False, 0.5)
            out = Path(args.output)
            out.parent.mkdir(parents=True, exist_ok=True)
            if not dlg.grab().save(str(out)):
                print(f"cannot write {out}", file=sys.stderr)
                return 1
            print(out)
            dlg.wait_idle()
            dlg.close()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
