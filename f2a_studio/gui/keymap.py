"""Every studio action in one table: id, menu text, shortcuts, icon, menu. The `?` dialog shows this table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionSpec:
    id: str
    text: str
    keys: tuple[str, ...] = ()
    icon: str | None = None  # qtawesome name
    menu: str = "Edit"
    tip: str = ""
    checkable: bool = False
    edits: bool = False  # disabled when the project is read-only


KEYMAP: tuple[ActionSpec, ...] = (
    # File
    ActionSpec("new_project", "&New Project…", ("Ctrl+N",), "mdi6.folder-plus-outline", "File"),
    ActionSpec("open_project", "&Open Project…", ("Ctrl+O",), "mdi6.folder-open-outline", "File"),
    ActionSpec("import_files", "&Import Images…", ("Ctrl+I",), "mdi6.image-plus", "File",
               "Import scenes or webtoon strips (tall strips are split into cuts)", edits=True),
    ActionSpec("import_folder", "Import &Folder…", ("Ctrl+Shift+I",), "mdi6.folder-image", "File", edits=True),
    ActionSpec("export", "&Export…", ("Ctrl+E",), "mdi6.export", "File"),
    ActionSpec("statistics", "Project &Statistics…", (), "mdi6.chart-bar", "File"),
    ActionSpec("close_project", "&Close Project", ("Ctrl+W",), None, "File"),
    ActionSpec("quit", "&Quit", ("Ctrl+Q",), None, "File"),
    # Edit
    ActionSpec("undo", "&Undo", ("Ctrl+Z",), "mdi6.undo", "Edit", edits=True),
    ActionSpec("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "mdi6.redo", "Edit", edits=True),
    ActionSpec("accept", "&Accept Face", ("A",), "mdi6.check-bold", "Edit", "Mark the face correct", edits=True),
    ActionSpec("reject", "Re&ject Face", ("X",), "mdi6.close-thick", "Edit", "Mark the face wrong", edits=True),
    ActionSpec("unreview", "Mark &Unreviewed", ("Shift+U",), "mdi6.help-circle-outline", "Edit", edits=True),
    ActionSpec("sex_female", "Sex: &Female", ("F",), "mdi6.gender-female", "Edit", edits=True),
    ActionSpec("sex_male", "Sex: &Male", ("M",), "mdi6.gender-male", "Edit", edits=True),
    ActionSpec("sex_unknown", "Sex: Un&known", ("U",), "mdi6.help", "Edit", edits=True),
    ActionSpec("delete", "&Delete Face", ("Delete", "Backspace"), "mdi6.delete-outline", "Edit", edits=True),
    ActionSpec("draw_box", "Draw &Box", ("B",), "mdi6.vector-square", "Edit",
               "Drag on the image to add a face", edits=True),
    ActionSpec("refit_landmarks", "Refit &Landmarks", ("L",), "mdi6.face-recognition", "Edit",
               "Fit the 68 landmarks and pose to the box again (points you moved stay)", edits=True),
    ActionSpec("place_anchors", "Place &Anchors", ("P",), "mdi6.crosshairs-gps", "Edit",
               "Click the eye centres, nose tip, mouth corners and chin; the 68 points follow each click "
               "(1–6 choose, Tab skips, Backspace removes the last, Esc/Enter ends)", edits=True),
    ActionSpec("toggle_visibility", "Toggle Point &Visibility", ("V",), "mdi6.eye-off-outline", "Edit",
               "Selected landmarks: visible ↔ occluded", edits=True),
    ActionSpec("nudge_left", "Nudge Left", ("Left",), None, "Edit", edits=True),
    ActionSpec("nudge_right", "Nudge Right", ("Right",), None, "Edit", edits=True),
    ActionSpec("nudge_up", "Nudge Up", ("Up",), None, "Edit", edits=True),
    ActionSpec("nudge_down", "Nudge Down", ("Down",), None, "Edit", edits=True),
    ActionSpec("nudge_left_10", "Nudge Left ×10", ("Shift+Left",), None, "Edit", edits=True),
    ActionSpec("nudge_right_10", "Nudge Right ×10", ("Shift+Right",), None, "Edit", edits=True),
    ActionSpec("nudge_up_10", "Nudge Up ×10", ("Shift+Up",), None, "Edit", edits=True),
    ActionSpec("nudge_down_10", "Nudge Down ×10", ("Shift+Down",), None, "Edit", edits=True),
    # Review
    ActionSpec("next_face", "&Next Face", ("Tab",), "mdi6.arrow-right-bold", "Review"),
    ActionSpec("prev_face", "&Previous Face", ("Shift+Tab", "Backtab"), "mdi6.arrow-left-bold", "Review"),
    ActionSpec("review_next", "Next &Unreviewed (most uncertain first)", ("Space",), "mdi6.debug-step-over",
               "Review", "The review queue: the unreviewed face where a person is most needed (finder score, sex "
               "uncertainty, landmark disagreement; the Face panel says why)"),
    ActionSpec("next_cut", "Next &Cut", ("PgDown",), "mdi6.chevron-down", "Review"),
    ActionSpec("prev_cut", "Previous C&ut", ("PgUp",), "mdi6.chevron-up", "Review"),
    ActionSpec("clear_selection", "Clear Selection", ("Esc",), None, "Review"),
    ActionSpec("advance", "Advance After Accept/Reject", (), None, "Review",
               "After A or X, jump to the next face in the review queue", checkable=True),
    ActionSpec("zoom_to_face", "Zoom to Face on Space", (), None, "Review",
               "Space zooms the face to a good size (Esc returns to the view before)", checkable=True),
    # View
    ActionSpec("fit", "&Fit Cut", ("0",), "mdi6.fit-to-screen-outline", "View"),
    ActionSpec("fit_width", "Fit &Width", ("W",), "mdi6.arrow-expand-horizontal", "View"),
    ActionSpec("actual_size", "&1:1", ("1",), "mdi6.numeric-1-box-outline", "View"),
    ActionSpec("zoom_in", "Zoom &In", ("+", "=", "Ctrl++"), "mdi6.magnify-plus-outline", "View"),
    ActionSpec("zoom_out", "Zoom &Out", ("-", "Ctrl+-"), "mdi6.magnify-minus-outline", "View"),
    ActionSpec("theme_dark", "&Dark Theme", ("Ctrl+Shift+D",), "mdi6.theme-light-dark", "View", checkable=True),
    # Detect
    ActionSpec("detect_scene", "Detect This &Scene", ("Ctrl+D",), "mdi6.face-recognition", "Detect",
               "Find faces on this cut (replaces untouched detections, keeps your edits)", edits=True),
    ActionSpec("detect_all", "Detect &All New Cuts", ("Ctrl+Shift+A",), "mdi6.account-search-outline", "Detect",
               "Find faces on every cut not detected yet (a stopped run resumes)", edits=True),
    ActionSpec("cancel_job", "&Cancel Running Job", (), "mdi6.stop-circle-outline", "Detect"),
    # Learn
    ActionSpec("retrain_all", "&Retrain Models from Corrections", (), "mdi6.school-outline", "Learn",
               "Train the face finder, sex classifier and landmark model on what you set, in the background, "
               "then re-predict the unreviewed faces (what you set is never changed)", edits=True),
    ActionSpec("retrain_sex", "Retrain &Sex Classifier Only", (), None, "Learn",
               "Train the sex classifier on the faces whose sex you set, then re-predict the others", edits=True),
    ActionSpec("retrain_landmarks", "Retrain &Landmark Model Only", (), None, "Learn",
               "Fine-tune the landmark model on the points you placed, then refit the unreviewed faces", edits=True),
    ActionSpec("retrain_finder", "Retrain Face &Finder Only", (), None, "Learn",
               "Fine-tune the learned face finder on your accepted and drawn faces, then re-detect untouched cuts",
               edits=True),
    ActionSpec("recalibrate", "Re&calibrate Scores from Your Decisions", (), None, "Learn",
               "Refit what the finders' and the crop verifier's scores mean from the detections you accepted and "
               "rejected, then re-detect untouched cuts (no training)", edits=True),
    # Help
    ActionSpec("keymap", "&Keyboard Shortcuts", ("?", "Shift+?", "Shift+/", "F1"), "mdi6.keyboard-outline", "Help"),
    ActionSpec("about", "&About F2A Studio", (), None, "Help"),
)

SPECS = {spec.id: spec for spec in KEYMAP}

MOUSE_HELP: tuple[tuple[str, str], ...] = (
    ("Click a box", "select the face"),
    ("Drag a box / a handle", "move / resize it"),
    ("Drag a landmark", "move one point"),
    ("Shift+drag a landmark", "move its whole group (an eye, the jaw…)"),
    ("Ctrl+drag a landmark", "move all 68 points"),
    ("Wheel / Shift+wheel", "scroll the cut (smoothly) / sideways"),
    ("Ctrl+wheel", "zoom around the cursor"),
    ("Middle-drag", "pan"),
)

# Keys that mean something else while Place Anchors is on (gui/anchor_mode.py); the `?` dialog lists them.
ANCHOR_HELP: tuple[tuple[str, str], ...] = (
    ("Click", "place the next anchor; the face's points are refitted at once"),
    ("1 – 6", "the next click places: left eye, right eye, nose tip, left / right mouth corner, chin"),
    ("Tab / Shift+Tab", "skip to the next / previous anchor"),
    ("Backspace", "remove the anchor placed last"),
    ("Esc / Enter / P", "end (what was placed stays; Ctrl+Z takes the whole session back)"),
)
