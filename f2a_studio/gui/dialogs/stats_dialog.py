"""Project statistics: counts by status and sex, per title and episode (ProjectStore.stats)."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from f2a_studio.core.stats import ProjectStats


def summary_text(stats: ProjectStats) -> str:
    status = ", ".join(f"{k} {v}" for k, v in stats.faces_by_status.items())
    sex = ", ".join(f"{k} {v}" for k, v in stats.faces_by_sex.items())
    return (
        f"<b>{stats.images}</b> cuts · <b>{stats.faces}</b> faces · {stats.images_without_faces} cuts without faces"
        f" · {stats.images_detected} cuts detected<br>faces by status: {status}<br>faces by sex: {sex}"
    )


class StatsDialog(QDialog):
    def __init__(self, stats: ProjectStats, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Project statistics")
        self.summary = QLabel(summary_text(stats))
        table = QTableWidget(len(stats.episodes), 4)
        table.setHorizontalHeaderLabels(["Title", "Episode", "Cuts", "Faces"])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, ep in enumerate(stats.episodes):
            for c, value in enumerate((ep.title_id, ep.episode, ep.images, ep.faces)):
                table.setItem(r, c, QTableWidgetItem(str(value)))
        table.resizeColumnsToContents()
        self.table = table
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(table)
        layout.addWidget(buttons)
        self.resize(520, 480)
