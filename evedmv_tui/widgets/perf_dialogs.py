"""Modal screens of the performance screen: confirmation, full text, plan tree."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static, Tree
from textual.widgets.tree import TreeNode

from evedmv_tui.monitor.explain import ExplainResult, PlanNode
from evedmv_tui.widgets.status import KeyFooter

DIALOG_CSS = """
ConfirmScreen, TextScreen, PlanScreen {
    align: center middle;
}
ConfirmScreen > Vertical, TextScreen > Vertical, PlanScreen > Vertical {
    width: 90%;
    max-width: 110;
    height: auto;
    max-height: 90%;
    border: thick $primary;
    background: $surface;
    padding: 0 1;
}
ConfirmScreen .-warning {
    color: $text-warning;
    text-style: bold;
}
ConfirmScreen #subject {
    height: 1;
    text-wrap: nowrap;
    text-overflow: ellipsis;
}
ConfirmScreen Horizontal {
    height: auto;
    align: right middle;
}
/* The heading is docked, so that 100% below is the room under it: a fixed
   max-height of 30 rows ran past the dialog's bottom edge at 24 rows, and the
   last lines of a long text could not be scrolled into view. */
TextScreen .-heading, PlanScreen .-heading {
    dock: top;
    height: auto;
}
TextScreen VerticalScroll, PlanScreen Tree {
    height: auto;
    max-height: 100%;
}
PlanScreen Tree {
    min-height: 5;
}
"""


def skip_leading_comments(sql: str) -> str:
    """Return ``sql`` from its first character outside comments and whitespace.

    Block comments may nest, as PostgreSQL allows. A text that is only
    comments is returned whole, so the dialog still shows something.
    """
    position = 0
    while True:
        while position < len(sql) and sql[position].isspace():
            position += 1
        if sql.startswith("--", position):
            newline = sql.find("\n", position)
            position = len(sql) if newline < 0 else newline + 1
        elif sql.startswith("/*", position):
            position = _block_comment_end(sql, position)
        else:
            break
    return sql[position:] or sql


def _block_comment_end(sql: str, start: int) -> int:
    """Return the index after the block comment that opens at ``start``."""
    depth = 0
    position = start
    while position < len(sql):
        if sql.startswith("/*", position):
            depth += 1
            position += 2
        elif sql.startswith("*/", position):
            depth -= 1
            position += 2
            if depth == 0:
                return position
        else:
            position += 1
    return len(sql)


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True only on an explicit yes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
    ]
    DEFAULT_CSS = DIALOG_CSS

    def __init__(
        self, question: str, *, subject: str | None = None, warning: str | None = None
    ) -> None:
        super().__init__()
        self.question = question
        self.subject = subject
        """The text the question is about (a query), shown on one line under it
        from its first word after leading comments."""
        self.warning = warning

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.question), id="question")
            if self.subject:
                # The application tags its queries with a leading comment,
                # which would fill the one line. Whitespace and newlines
                # collapse, and the CSS cuts a long query with an ellipsis.
                # Text never parses markup.
                statement = skip_leading_comments(self.subject)
                yield Static(Text(" ".join(statement.split())), id="subject")
            if self.warning:
                yield Static(Text(f"▲ {self.warning}"), classes="-warning")
            with Horizontal():
                yield Button("Yes (y)", id="yes", variant="error")
                yield Button("No (n)", id="no", variant="primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TextScreen(ModalScreen[None]):
    """Show a long text (a full query) in a scrollable box."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q", "close", "Close", id="text-close"),
    ]
    DEFAULT_CSS = DIALOG_CSS

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, style="bold"), classes="-heading")
            with VerticalScroll():
                yield Static(Text(self.body), id="full-text")
        yield KeyFooter()

    def action_close(self) -> None:
        self.dismiss(None)


def plan_label(node: PlanNode) -> Text:
    label = Text(node.title, style="bold")
    label.append(f"  {node.estimate_text}")
    return label


def plan_node_text(node: PlanNode) -> str:
    """Return every line the plan tree shows for ``node``, none of them cut."""
    lines = [node.title, node.estimate_text]
    if node.actual_text is not None:
        lines.append(node.actual_text)
    if node.detail:
        lines.append(node.detail)
    return "\n".join(lines)


def _add_leaves(branch: TreeNode[PlanNode], node: PlanNode) -> None:
    """Add the node's ANALYZE figures and its conditions under its label.

    The figures get a line of their own, because after the estimates they
    ran past the right edge of the dialog at 80 columns. The leaves carry
    their node, so that enter on them shows the whole node too.
    """
    if node.actual_text is not None:
        branch.add_leaf(Text(node.actual_text), data=node)
    if node.detail:
        branch.add_leaf(Text(node.detail), data=node)


def _add_nodes(parent: TreeNode[PlanNode], node: PlanNode) -> None:
    branch = parent.add(plan_label(node), data=node, expand=True)
    _add_leaves(branch, node)
    for child in node.children:
        _add_nodes(branch, child)


class PlanTree(Tree[PlanNode]):
    """A plan tree whose lines end in an ellipsis where the tree's edge cuts them.

    Tree crops a line at its right edge with no mark, and its End key goes
    to the last line, not to the end of a long one. Enter shows the whole
    node of the cursor line instead of folding it, which space still does.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Whole node", id="plan-node"),
    ]

    def __init__(self, label: Text, data: PlanNode) -> None:
        super().__init__(label, data=data)
        self.auto_expand = False

    def render_label(
        self, node: TreeNode[PlanNode], base_style: Style, style: Style
    ) -> Text:
        label = super().render_label(node, base_style, style)
        room = self.label_room(node)
        if room is not None and label.cell_len > room:
            label.truncate(room, overflow="ellipsis")
        return label

    def label_room(self, node: TreeNode[PlanNode]) -> int | None:
        """Return the cells left for ``node``'s label, or None before layout.

        The guides take ``guide_depth`` cells per level below the root. The
        vertical scrollbar's width is kept free whether it shows or not, so
        the cut does not depend on the number of lines.
        """
        if not self.size.width:
            return None
        depth = 0
        parent = node.parent
        while parent is not None:
            depth += 1
            parent = parent.parent
        if not self.show_root:
            depth = max(depth - 1, 0)
        guides = depth * self.guide_depth
        return max(self.size.width - self.styles.scrollbar_size_vertical - guides, 1)


class PlanScreen(ModalScreen[None]):
    """Show an EXPLAIN result as a tree of plan nodes with their costs."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="plan-close"),
    ]
    DEFAULT_CSS = DIALOG_CSS

    def __init__(self, query_text: str, result: ExplainResult) -> None:
        super().__init__()
        self.query_text = query_text
        self.result = result

    def compose(self) -> ComposeResult:
        result = self.result
        heading = "EXPLAIN ANALYZE" if result.analyzed else "EXPLAIN"
        summary = f"{heading} ({result.method.replace('_', ' ')})"
        if result.planning_ms is not None:
            summary += f", planning {result.planning_ms:.3f} ms"
        if result.execution_ms is not None:
            summary += f", execution {result.execution_ms:.3f} ms"
        tree = PlanTree(plan_label(result.plan), result.plan)
        tree.root.expand()
        _add_leaves(tree.root, result.plan)
        for child in result.plan.children:
            _add_nodes(tree.root, child)
        with Vertical():
            with Vertical(classes="-heading"):
                yield Static(Text(summary, style="bold"))
                yield Static(Text(" ".join(self.query_text.split())[:300]))
                if result.note:
                    yield Static(Text(f"note: {result.note}"))
            yield tree
        yield KeyFooter()

    def on_tree_node_selected(self, event: Tree.NodeSelected[PlanNode]) -> None:
        node = event.node.data
        if node is not None:
            self.app.push_screen(TextScreen(node.title, plan_node_text(node)))

    def action_close(self) -> None:
        self.dismiss(None)
