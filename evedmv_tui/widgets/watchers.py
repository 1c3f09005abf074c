"""Release the watchers that removed widgets leave on the objects they watched.

``widget.watch(obj, "attr", callback)``, and ``data_bind`` with it, stores
the widget and its callback on ``obj``. Textual drops such an entry only
when ``attr`` changes again after the widget closed. So an attribute that
never changes keeps every removed widget, with its children and data, in
memory. A footer's ``compact`` never changes, and
each new set of keys added seven dead keys to it; each closed screen left
its header and status bar on the app's ``title`` and ``status``.
"""

from __future__ import annotations

from textual.dom import DOMNode


def prune_closed_watchers(observed: DOMNode) -> int:
    """Drop the watchers of closed nodes from ``observed``; return how many.

    A node counts as closed by the same test Textual applies when the
    attribute changes.
    """
    # Textual keeps the watchers in an attribute named by a plain string.
    watchers: dict[str, list[tuple[DOMNode, object]]] = getattr(
        observed, "__watchers", {}
    )
    dropped = 0
    for entries in watchers.values():
        kept = [(node, callback) for node, callback in entries if not node._closing]
        dropped += len(entries) - len(kept)
        entries[:] = kept
    return dropped
