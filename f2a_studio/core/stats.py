"""Project statistics: counts of cuts and faces by status, sex, title and episode (`f2a info`, the studio)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from f2a_studio.core.models import FaceStatus, Sex

if TYPE_CHECKING:
    from f2a_studio.core.store import ProjectStore


@dataclass(frozen=True)
class EpisodeCount:
    title_id: str
    episode: str
    images: int
    faces: int


@dataclass(frozen=True)
class ProjectStats:
    images: int
    faces: int
    faces_by_status: dict[str, int]
    faces_by_sex: dict[str, int]
    images_without_faces: int
    images_detected: int
    episodes: tuple[EpisodeCount, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "faces": self.faces,
            "faces_by_status": self.faces_by_status,
            "faces_by_sex": self.faces_by_sex,
            "images_without_faces": self.images_without_faces,
            "images_detected": self.images_detected,
            "titles": sorted({e.title_id for e in self.episodes}),
            "episodes": [e.__dict__ for e in self.episodes],
        }


def project_stats(store: ProjectStore) -> ProjectStats:
    by_status = {s.value: 0 for s in FaceStatus}
    by_status.update({r[0]: r[1] for r in store.query("SELECT status, count(*) FROM faces GROUP BY status")})
    by_sex = {s.value: 0 for s in Sex}
    by_sex.update({r[0]: r[1] for r in store.query("SELECT sex, count(*) FROM faces GROUP BY sex")})
    episodes = tuple(
        EpisodeCount(r[0], r[1], r[2], r[3])
        for r in store.query(
            "SELECT i.title_id, i.episode, count(DISTINCT i.id), count(f.id) FROM images i "
            "LEFT JOIN faces f ON f.image_id = i.id GROUP BY i.title_id, i.episode "
            "ORDER BY i.title_id, CAST(i.episode AS INTEGER), i.episode"
        )
    )
    no_faces = store.query(
        "SELECT count(*) FROM images i WHERE NOT EXISTS (SELECT 1 FROM faces f WHERE f.image_id = i.id)"
    )[0][0]
    return ProjectStats(
        images=store.image_count(),
        faces=store.face_count(),
        faces_by_status=by_status,
        faces_by_sex=by_sex,
        images_without_faces=int(no_faces),
        images_detected=int(store.query("SELECT count(*) FROM detection_runs")[0][0]),
        episodes=episodes,
    )
