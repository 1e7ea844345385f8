"""Head pose (yaw, pitch, roll in degrees) from 68 landmarks with `cv2.solvePnP` against the mean 3D face.

Angles follow face_model.py: yaw > 0 turns the nose to the image right, pitch > 0 lifts the chin,
roll > 0 turns the face clockwise on screen. Drawn faces are near-orthographic, so the camera is put far
away (a long focal length) and the pose comes out of the weak-perspective limit.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from f2a_studio.core.models import Pose

# Jaw points (except the chin) lie on the silhouette, not on fixed 3D points: leave them out.
PNP_POINTS = (8, *range(17, 68))
FOCAL_PER_FACE = 20.0  # focal length in face widths: far camera, almost orthographic


def estimate_pose(points: np.ndarray, model_points: np.ndarray, visible: np.ndarray | None = None) -> Pose | None:
    """Pose from (68, 2) image points and a (68, 3) canonical model; None when it cannot be solved."""
    pts = np.asarray(points, dtype=np.float64).reshape(68, 2)
    idx = [i for i in PNP_POINTS if visible is None or visible[i]]
    if len(idx) < 6 or not np.isfinite(pts[idx]).all():
        return None
    image = pts[idx]
    # canonical z points to the viewer; OpenCV's camera z points away from it
    obj = np.asarray(model_points, dtype=np.float64)[idx] * np.array([1.0, 1.0, -1.0])
    width = float(np.linalg.norm(pts[16] - pts[0])) or float(np.ptp(image[:, 0])) or 1.0
    focal = FOCAL_PER_FACE * width
    center = image.mean(axis=0)
    camera = np.array([[focal, 0, center[0]], [0, focal, center[1]], [0, 0, 1]], dtype=np.float64)
    # start in front of the camera at the distance that gives the observed size, upright
    rvec0 = np.zeros((3, 1))
    tvec0 = np.array([[0.0], [0.0], [FOCAL_PER_FACE]])
    ok, rvec, _tvec = cv2.solvePnP(obj, image, camera, None, rvec0, tvec0, useExtrinsicGuess=True,
                                   flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok or not np.isfinite(rvec).all():
        return None
    r_cv, _ = cv2.Rodrigues(rvec)
    return pose_from_matrix(r_cv @ np.diag([1.0, 1.0, -1.0]))


def pose_from_matrix(matrix: np.ndarray) -> Pose:
    """Yaw, pitch, roll from a matrix whose first two rows map canonical points to the image (the third row
    is rebuilt so the matrix is a proper rotation)."""
    r0, r1 = matrix[0] / np.linalg.norm(matrix[0]), matrix[1] / np.linalg.norm(matrix[1])
    r2 = np.cross(r0, r1)
    r2 /= np.linalg.norm(r2)
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, r2[1]))))
    yaw = math.degrees(math.atan2(-r2[0], r2[2]))
    roll = math.degrees(math.atan2(-r0[1], r1[1]))
    return Pose(round(yaw, 2), round(pitch, 2), round(roll, 2))
