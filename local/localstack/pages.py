"""The approver's side of the pages: reading the confirmation page's form, doing what a person
does with a link (open it, submit the form), and the local "decision recorded" page the callback
redirects to (its REDIRECT_URL)."""

from __future__ import annotations

import dataclasses
import html.parser
import urllib.parse
from collections.abc import Callable
from typing import Any

from .common import StackError
from .net import HttpResponse, LocalServer, QuietHandler, http_request, serve_in_thread

DECISION_RECORDED_PATH = "/decision-recorded"


class _FormParser(html.parser.HTMLParser):
    """The parts of the confirmation page that a person (or a test) acts on."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self._in_form = True
            self.forms.append({"method": attr.get("method", "get").lower(),
                               "action": attr["action"] if "action" in attr else None,
                               "hidden": {}, "textareas": [], "submit_buttons": 0})
        elif not self._in_form:
            return
        elif tag == "input" and attr.get("type", "text").lower() == "hidden":
            self.forms[-1]["hidden"][attr.get("name", "")] = attr.get("value", "")
        elif tag == "textarea":
            self.forms[-1]["textareas"].append(attr.get("name", ""))
        elif (tag == "button" and attr.get("type", "submit").lower() == "submit") or (
                tag == "input" and attr.get("type", "").lower() == "submit"):
            self.forms[-1]["submit_buttons"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False


def parse_confirmation_page(page_html: str) -> dict[str, Any]:
    """The page's one POST form: {"method", "action" (None if absent), "hidden": {name: value},
    "textareas": [names], "submit_buttons": count}."""
    parser = _FormParser()
    parser.feed(page_html)
    post_forms = [f for f in parser.forms if f["method"] == "post"]
    if len(post_forms) != 1:
        raise StackError(f"expected exactly one <form method=post> on the page, found {len(post_forms)}")
    return post_forms[0]


@dataclasses.dataclass
class Decision:
    """What the approver's browser saw: the confirmation page, then the answer to the POST."""

    page: HttpResponse
    answer: HttpResponse


def decide_via_confirmation_page(link: str, comment: str, *, timeout: float = 60.0) -> Decision:
    """Open the link (GET), then submit the page's form (POST) with `comment` in its textarea.

    The form has no action, so it posts to the page's own URL (the link, query included); the
    hidden inputs carry action and c."""
    page = http_request("GET", link, timeout=timeout)
    if page.status != 200:
        return Decision(page=page, answer=page)
    form = parse_confirmation_page(page.body)
    target = link if not form["action"] else urllib.parse.urljoin(link, form["action"])
    fields = dict(form["hidden"])
    for name in form["textareas"]:
        fields[name] = comment
    return Decision(page=page, answer=http_request("POST", target, form=fields, timeout=timeout))


def post_link(link: str, comment: str = "", *, timeout: float = 60.0) -> HttpResponse:
    """The confirmation form's POST without opening the page first (a second tab, a replay)."""
    params = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(link).query).items()}
    return http_request("POST", link, form={**params, "comment": comment}, timeout=timeout)


_DECISION_RECORDED_HTML = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Decision recorded</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Decision recorded</h1>
<p>The local Step Functions execution has been told. The terminal running
<code>scripts/demo</code> prints the end state and the decision output.</p>
<p>(Deployed, this redirect goes to the execution's page in the Step Functions console.)</p>
</body></html>
"""


class _DecisionRecordedHandler(QuietHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if urllib.parse.urlsplit(self.path).path != DECISION_RECORDED_PATH:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(_DECISION_RECORDED_HTML)))
        self.end_headers()
        self.wfile.write(_DECISION_RECORDED_HTML)


def start_decision_recorded_page(port: int) -> Callable[[], None]:
    """Serve the page on 127.0.0.1:`port`; returns the stop function."""
    return serve_in_thread(LocalServer(("127.0.0.1", port), _DecisionRecordedHandler), "decision-recorded-page")
