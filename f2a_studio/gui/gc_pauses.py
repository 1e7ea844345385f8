"""Keep Python's full garbage collections off the GUI's critical path.

A generation-2 collection walks every tracked object in the process. In the studio that is everything the
imports (Qt, numpy, OpenCV, scikit-image…), the window and the open project created: a single pass measured
110–140 ms, and it runs in whichever thread happens to allocate, holding the GIL. A detection job writing a
20-face result triggered one and froze the window for that long (the only stall over 50 ms in gui_bench).

`gc.freeze()` moves the objects alive now into a permanent generation that collections skip. Objects made
later (a cut's overlay items, faces read from the store) are still collected as usual; frozen objects are
still freed by reference counting when dropped, only frozen *cycles* would outlive their use.
"""

from __future__ import annotations

import gc


def freeze_long_lived(*, collect: bool = True) -> None:
    """Call after a burst of long-lived allocations (opening a project, a first detection). `collect` first
    drops today's garbage (one full pass, ~50–140 ms: only where the user already waits, like opening)."""
    if collect:
        gc.collect()
    gc.freeze()
