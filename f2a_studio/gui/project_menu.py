"""File and Help menu behaviour: new/open project (with the recent list), import, export, statistics,
the keymap and about boxes. Kept apart from main_window so the window only wires."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

from f2a_studio.core.errors import F2AError
from f2a_studio.core.imageio import IMAGE_SUFFIXES
from f2a_studio.core.store import ProjectStore, is_project
from f2a_studio.gui.dialogs.import_dialog import ImportDialog
from f2a_studio.gui.dialogs.keymap_dialog import KeymapDialog
from f2a_studio.gui.dialogs.stats_dialog import StatsDialog

if TYPE_CHECKING:
    from f2a_studio.gui.main_window import MainWindow


class ProjectMenu:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        a = window.actions
        a["new_project"].triggered.connect(self.new_project)
        a["open_project"].triggered.connect(self.open_project)
        a["import_files"].triggered.connect(self.import_files)
        a["import_folder"].triggered.connect(self.import_folder)
        a["export"].triggered.connect(self.export)
        a["statistics"].triggered.connect(self.statistics)
        a["keymap"].triggered.connect(self.keymap)
        a["about"].triggered.connect(self.about)
        self.refresh_recent()

    def refresh_recent(self) -> None:
        menu = self.window.actions.recent_menu
        menu.clear()
        recent = [p for p in self.window.settings.recent_projects() if is_project(p)]
        for path in recent:
            action = menu.addAction(str(path))
            action.triggered.connect(lambda _=False, p=path: self.window.open_project(p))
        menu.setEnabled(bool(recent))

    def new_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "New project: choose an empty folder")
        if not folder:
            return
        try:
            store = ProjectStore.create(Path(folder))
        except F2AError as exc:
            QMessageBox.critical(self.window, "Cannot create project", str(exc))
            return
        self.window.set_store(store)
        self.import_files()

    def open_project(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Open project folder")
        if folder:
            if not is_project(folder):
                QMessageBox.warning(self.window, "Not a project", f"{folder} has no project.f2a.sqlite.")
                return
            self.window.open_project(Path(folder))

    def import_files(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(self.window, "Import images or webtoon strips", "",
                                                f"Images ({patterns});;All files (*)")
        if files:
            self.run_import([Path(f) for f in files])

    def import_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Import a folder of images (recursively)")
        if folder:
            self.run_import([Path(folder)])

    def run_import(self, paths: list[Path]) -> ImportDialog | None:
        session = self.window.session
        if session is None or session.read_only:
            return None
        dialog = ImportDialog(session.store, paths, self.window)
        dialog.imported.connect(lambda _report: self._imported())
        dialog.show()
        return dialog

    def _imported(self) -> None:
        w = self.window
        if w.session is None or w.navigator is None:
            return
        w.browser.reload_from_store()  # the navigator's order follows through orderChanged
        if w.navigator.record is None and w.navigator.order:
            w.navigator.open_cut(w.navigator.order[0])

    def export(self) -> None:
        session = self.window.session
        if session is None:
            return
        try:
            from f2a_studio.gui.export_dialog import ExportDialog
        except ImportError as exc:
            self.window.status.showMessage(f"export is not available: {exc}", 6000)
            return
        ExportDialog(session.store, self.window).exec()

    def statistics(self) -> None:
        if self.window.session is not None:
            StatsDialog(self.window.session.reads.stats(), self.window).exec()

    def keymap(self) -> None:
        KeymapDialog(self.window).exec()

    def about(self) -> None:
        QMessageBox.about(self.window, "F2A Studio",
                          "<b>F2A Studio</b><br>Webtoon and anime faces → clean datasets for face-to-anime "
                          "translation.<br>Every edit is saved at once; undo is unlimited within a session.")
