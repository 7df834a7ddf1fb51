"""Block Kit as text, for tests and the demo: every text of a message's or a modal's blocks in
order (`blocks_text`), a printable rendering of a message or modal as a person sees it in Slack
(`render`: the header, the facts, the workflow's words, the buttons as `[Approve] [Reject]`, input
blocks as `<label: ____>`), and the buttons' values."""

from __future__ import annotations

from typing import Any


def _text_of(obj: Any) -> str:
    """A text object's text (`plain_text` or `mrkdwn`), or ""."""
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return ""


def block_lines(block: dict[str, Any]) -> list[str]:
    """The lines a block shows, buttons as `[label]`, an input as `<label: ____>`."""
    kind = block.get("type")
    lines: list[str] = []
    if kind in ("header", "section"):
        if _text_of(block.get("text")):
            lines.append(_text_of(block["text"]))
        lines.extend(_text_of(f) for f in block.get("fields", []) if _text_of(f))
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            lines.append(f"[{_text_of(accessory.get('text'))}]")
    elif kind == "context":
        lines.extend(_text_of(e) for e in block.get("elements", []) if _text_of(e))
    elif kind == "actions":
        buttons = [f"[{_text_of(e.get('text'))}]" for e in block.get("elements", []) if e.get("type") == "button"]
        if buttons:
            lines.append(" ".join(buttons))
    elif kind == "input":
        lines.append(f"<{_text_of(block.get('label'))}: ____>")
    elif kind == "divider":
        lines.append("---")
    elif kind == "rich_text":
        lines.append(_rich_text(block))
    return lines


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text", ""))
        return "".join(_rich_text(e) for e in node.get("elements", []))
    return ""


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    """Every text of `blocks`, one line each, in order."""
    return "\n".join(line for block in blocks for line in block_lines(block))


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button element of the `actions` blocks."""
    return [element for block in blocks if block.get("type") == "actions"
            for element in block.get("elements", []) if element.get("type") == "button"]


def button_values(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """{action_id: value} of the buttons."""
    return {str(b.get("action_id")): str(b.get("value")) for b in buttons(blocks)}


def render(blocks: list[dict[str, Any]], heading: str = "", fallback: str = "") -> str:
    """A message or a modal as text, under a rule; `fallback` (the message's `text`) when it has
    no blocks."""
    rule = "-" * 78
    body = blocks_text(blocks) or fallback
    return "\n".join(part for part in (rule, heading, body, rule) if part)


def render_view(view: dict[str, Any]) -> str:
    """A modal: its title, blocks and its submit and close buttons."""
    title = _text_of(view.get("title"))
    submit, close = _text_of(view.get("submit")), _text_of(view.get("close"))
    footer = " ".join(f"[{label}]" for label in (close, submit) if label)
    return render(list(view.get("blocks", [])), f"Modal: {title}") + (f"\n{footer}" if footer else "")
