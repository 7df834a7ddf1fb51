"""The Slack Web API emulator on its own (no moto, no cargo: these tests ask for no stack fixture,
so they run in any scripts/e2e run, and alone with `python -m pytest local/tests/test_slack_emulator.py`).

Its answers as Slack documents them (auth errors, DMs, updates and their history, trigger ids
expiring and used once, injected faults: 429 + Retry-After, users_not_found, 5xx, a hang), and
Slack's side of a person: the request signature (Slack's own worked example), and the
`block_actions` / `view_submission` payloads posted, signed, to an interactions URL."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from localstack import http_request, slack_interactions, slack_text
from localstack.net import LocalServer, QuietHandler, serve_in_thread
from localstack.slack_emulator import CHANNEL_ID, OUTSIDER, TEAM_ID, SlackEmulator

TOKEN = "xoxb-test-token"
SECRET = "0123456789abcdef0123456789abcdef"
APPROVERS = ("approver@example.com", "second@example.com", "third@example.com")

# api.slack.com/authentication/verifying-requests-from-slack's worked example (a slash command).
SLACK_EXAMPLE_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SLACK_EXAMPLE_TS = 1531420618
SLACK_EXAMPLE_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
    b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
    b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
SLACK_EXAMPLE_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

BLOCKS = [
    {"type": "header", "text": {"type": "plain_text", "text": "Deploy v42?"}},
    {"type": "section", "fields": [{"type": "plain_text", "text": "Requested by: carol@example.com"}]},
    {"type": "actions", "block_id": "approval", "elements": [
        {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"},
         "style": "primary", "value": "req1:approve"},
        {"type": "button", "action_id": "reject", "text": {"type": "plain_text", "text": "Reject"},
         "style": "danger", "value": "req1:reject"}]},
]
MODAL = {"type": "modal", "callback_id": "approval_vote", "private_metadata": "req1:approve",
         "title": {"type": "plain_text", "text": "Approve request"},
         "submit": {"type": "plain_text", "text": "Approve"},
         "blocks": [{"type": "section", "text": {"type": "plain_text", "text": "Deploy v42?"}},
                    {"type": "input", "block_id": "comment", "optional": True,
                     "label": {"type": "plain_text", "text": "Comment"},
                     "element": {"type": "plain_text_input", "action_id": "comment", "multiline": True}}]}


class Receiver:
    """approval-callback's interactions route as a recorder: every POST's headers and body, 200."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = LocalServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/slack/interactions"

    def payload(self, n: int = -1) -> dict[str, Any]:
        _, body = self.posts[n]
        fields = urllib.parse.parse_qs(body.decode())
        assert list(fields) == ["payload"], fields
        parsed: dict[str, Any] = json.loads(fields["payload"][0])
        return parsed


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver()
    stop = serve_in_thread(got.server, "interactions-receiver")
    yield got
    stop()


@pytest.fixture
def slack(receiver: Receiver) -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(APPROVERS, bot_token=TOKEN, signing_secret=SECRET, missing=("third@example.com",),
                             interactions_url=receiver.url)
    stop = emulator.start()
    yield emulator
    stop()


def call(slack: SlackEmulator, method: str, args: dict[str, Any], *, form: bool = False,
         token: str | None = TOKEN) -> tuple[int, dict[str, str], dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    if form:
        answer = http_request("POST", f"{slack.base_url}/{method}", form={k: str(v) for k, v in args.items()},
                              headers=headers)
    else:
        headers["Content-Type"] = "application/json; charset=utf-8"
        answer = http_request("POST", f"{slack.base_url}/{method}", body=json.dumps(args).encode(), headers=headers)
    return answer.status, answer.headers, json.loads(answer.body)


def post_dm(slack: SlackEmulator, email: str = "approver@example.com") -> dict[str, Any]:
    status, _, answer = call(slack, "chat.postMessage",
                             {"channel": slack.user(email).id, "text": "Approval requested", "blocks": BLOCKS})
    assert status == 200 and answer["ok"], answer
    return answer


def test_the_signature_is_slacks_worked_example_and_a_fixed_vector() -> None:
    assert slack_interactions.sign(SLACK_EXAMPLE_SECRET, SLACK_EXAMPLE_BODY, SLACK_EXAMPLE_TS) == {
        "X-Slack-Request-Timestamp": "1531420618", "X-Slack-Signature": SLACK_EXAMPLE_SIGNATURE}
    # A fixed vector of this file's own: HMAC-SHA256(SECRET, b"v0:1700000000:payload=%7B%7D"),
    # computed once with Python's hmac module (`openssl dgst -sha256 -hmac` agrees).
    assert slack_interactions.sign(SECRET, b"payload=%7B%7D", 1_700_000_000)["X-Slack-Signature"] == \
        "v0=f88bc0855352488725389caa806c3688f54b96c3252b11a7c7f70ce208c23181"


def test_no_token_is_not_authed_a_wrong_one_invalid_auth_an_unknown_method_unknown_method(
        slack: SlackEmulator) -> None:
    assert call(slack, "users.lookupByEmail", {"email": "approver@example.com"}, token=None)[2] == \
        {"ok": False, "error": "not_authed"}
    status, _, answer = call(slack, "users.lookupByEmail", {"email": "approver@example.com"}, token="xoxb-other")
    assert (status, answer) == (200, {"ok": False, "error": "invalid_auth"})
    assert call(slack, "chat.delete", {"channel": CHANNEL_ID})[2]["error"] == "unknown_method"
    assert [c.error for c in slack.calls()] == ["not_authed", "invalid_auth", "unknown_method"]
    assert all(TOKEN not in json.dumps(c.args) for c in slack.calls())


def test_lookup_by_email_by_form_and_json_knows_approvers_and_the_outsider_not_the_missing(
        slack: SlackEmulator) -> None:
    _, _, found = call(slack, "users.lookupByEmail", {"email": "approver@example.com"}, form=True)
    assert found["ok"] and found["user"]["id"].startswith("U") and found["user"]["team_id"] == TEAM_ID
    assert found["user"]["profile"]["email"] == "approver@example.com" and found["user"]["deleted"] is False
    assert found["user"]["id"] == slack.user("approver@example.com").id
    assert call(slack, "users.lookupByEmail", {"email": OUTSIDER})[2]["ok"]
    assert call(slack, "users.lookupByEmail", {"email": "third@example.com"}, form=True)[2] == \
        {"ok": False, "error": "users_not_found"}
    slack.forget_user("second@example.com")
    assert call(slack, "users.lookupByEmail", {"email": "second@example.com"})[2]["error"] == "users_not_found"
    slack.fail("users.lookupByEmail", "users_not_found", where={"email": "approver@example.com"})
    assert call(slack, "users.lookupByEmail", {"email": OUTSIDER})[2]["ok"]  # not that address: untouched
    assert call(slack, "users.lookupByEmail", {"email": "approver@example.com"})[2]["error"] == "users_not_found"
    assert call(slack, "users.lookupByEmail", {"email": "approver@example.com"})[2]["ok"]  # once only


def test_a_dm_opens_one_im_per_user_and_channels_must_exist(slack: SlackEmulator) -> None:
    first, again = post_dm(slack), post_dm(slack)
    other = post_dm(slack, "second@example.com")
    assert first["channel"].startswith("D") and first["channel"] == again["channel"] != other["channel"]
    assert first["ts"] != again["ts"] and float(again["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == BLOCKS and first["message"]["bot_id"]
    _, _, in_channel = call(slack, "chat.postMessage", {"channel": CHANNEL_ID, "text": "hi"})
    assert in_channel["channel"] == CHANNEL_ID
    assert call(slack, "chat.postMessage", {"channel": "C0NOSUCH1", "text": "hi"})[2]["error"] == "channel_not_found"
    assert call(slack, "chat.postMessage", {"channel": CHANNEL_ID})[2]["error"] == "no_text"
    _, _, reply = call(slack, "chat.postMessage", {"channel": first["channel"], "thread_ts": first["ts"],
                                                    "text": "Still waiting"})
    assert reply["ok"] and [m.ts for m in slack.messages(replies=True)] == [reply["ts"]]
    assert len(slack.messages()) == 4 and len(slack.messages(first["channel"])) == 2


def test_an_update_keeps_every_version(slack: SlackEmulator) -> None:
    posted = post_dm(slack)
    decided = [BLOCKS[0], {"type": "section", "text": {"type": "plain_text", "text": "Approved by a@example.com"}}]
    _, _, answer = call(slack, "chat.update", {"channel": posted["channel"], "ts": posted["ts"],
                                               "text": "Approved: Deploy v42?", "blocks": decided})
    assert answer["ok"] and (answer["channel"], answer["ts"]) == (posted["channel"], posted["ts"])
    assert answer["message"]["blocks"] == decided and answer["text"] == "Approved: Deploy v42?"
    [message] = slack.messages()
    assert message.updated and [v["blocks"] for v in message.versions] == [BLOCKS, decided]
    assert slack_text.buttons(message.blocks) == [] and "Approved by a@example.com" in \
        slack_text.blocks_text(message.blocks)
    assert call(slack, "chat.update", {"channel": posted["channel"], "ts": "1.000001", "text": "x"})[2]["error"] \
        == "message_not_found"


def test_ratelimited_is_429_with_retry_after_then_the_call_goes_through(slack: SlackEmulator) -> None:
    slack.fail("chat.postMessage", "ratelimited", retry_after=3)
    status, headers, answer = call(slack, "chat.postMessage", {"channel": CHANNEL_ID, "text": "hi"})
    assert (status, headers.get("retry-after"), answer) == (429, "3", {"ok": False, "error": "ratelimited"})
    assert call(slack, "chat.postMessage", {"channel": CHANNEL_ID, "text": "hi"})[0] == 200
    assert [(c.status, c.error) for c in slack.calls("chat.postMessage")] == [(429, "ratelimited"), (200, None)]
    assert len(slack.messages()) == 1  # the refused call posted nothing


def test_invalid_auth_5xx_and_a_hang_on_request(slack: SlackEmulator) -> None:
    slack.fail("*", "invalid_auth", times=2)
    assert call(slack, "users.lookupByEmail", {"email": OUTSIDER})[2]["error"] == "invalid_auth"
    assert call(slack, "chat.postMessage", {"channel": CHANNEL_ID, "text": "x"})[2]["error"] == "invalid_auth"
    slack.fail_status("chat.postMessage", 503, times=1)
    status, _, answer = call(slack, "chat.postMessage", {"channel": CHANNEL_ID, "text": "x"})
    assert (status, answer["ok"]) == (503, False)
    slack.delay("users.lookupByEmail", 0.5)
    started = time.monotonic()
    assert call(slack, "users.lookupByEmail", {"email": OUTSIDER})[2]["ok"]
    assert time.monotonic() - started >= 0.5
    assert call(slack, "chat.postMessage", {"channel": CHANNEL_ID, "text": "x"})[2]["ok"]


def test_a_click_posts_a_signed_block_actions_payload_and_its_trigger_opens_one_view(
        slack: SlackEmulator, receiver: Receiver) -> None:
    post_dm(slack)
    [message] = slack.messages()
    answer = slack.click(message, "approver@example.com", "approve")
    assert answer.status == 200
    headers, body = receiver.posts[-1]
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert slack.sign(body, int(headers["x-slack-request-timestamp"]))["X-Slack-Signature"] == \
        headers["x-slack-signature"]
    assert abs(int(headers["x-slack-request-timestamp"]) - time.time()) < 5
    payload = receiver.payload()
    user = slack.user("approver@example.com")
    assert payload["type"] == "block_actions" and payload["team"]["id"] == TEAM_ID
    assert payload["user"]["id"] == user.id and payload["user"]["team_id"] == TEAM_ID
    assert payload["container"] == {"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                                    "is_ephemeral": False}
    assert payload["channel"]["id"] == message.channel and payload["message"]["blocks"] == BLOCKS
    [action] = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == \
        ("approve", "approval", "req1:approve", "button")

    trigger = payload["trigger_id"]
    _, _, opened = call(slack, "views.open", {"trigger_id": trigger, "view": MODAL})
    assert opened["ok"] and opened["view"]["id"].startswith("V") and opened["view"]["state"] == {"values": {}}
    assert opened["view"]["private_metadata"] == "req1:approve" and opened["view"]["team_id"] == TEAM_ID
    assert call(slack, "views.open", {"trigger_id": trigger, "view": MODAL})[2]["error"] == "exchanged_trigger_id"
    assert call(slack, "views.open", {"trigger_id": "1.2.abc", "view": MODAL})[2]["error"] == "invalid_trigger_id"
    [view] = slack.views()
    assert view.user == user and "[Approve]" in slack_text.render_view(view.view)

    assert slack.submit(view, values={"comment": "ship it"}).status == 200
    submitted = receiver.payload()
    assert submitted["type"] == "view_submission" and submitted["user"]["id"] == user.id
    assert submitted["view"]["callback_id"] == "approval_vote"
    assert submitted["view"]["state"]["values"] == {
        "comment": {"comment": {"type": "plain_text_input", "value": "ship it"}}}


def test_a_trigger_expires_after_three_seconds_and_a_form_view_is_json(slack: SlackEmulator,
                                                                       receiver: Receiver) -> None:
    post_dm(slack)
    slack.trigger_lifetime_s = 0.2
    slack.click(slack.messages()[0], "approver@example.com", "reject")
    trigger = receiver.payload()["trigger_id"]
    assert receiver.payload()["actions"][0]["value"] == "req1:reject"
    time.sleep(0.3)  # the trigger's age is the point here
    assert call(slack, "views.open", {"trigger_id": trigger, "view": json.dumps(MODAL)}, form=True)[2]["error"] \
        == "expired_trigger_id"
    slack.trigger_lifetime_s = 3.0
    slack.click(slack.messages()[0], "approver@example.com", "reject")
    assert call(slack, "views.open", {"trigger_id": receiver.payload()["trigger_id"], "view": json.dumps(MODAL)},
                form=True)[2]["ok"]


def test_forged_posts_and_ephemerals(slack: SlackEmulator, receiver: Receiver) -> None:
    post_dm(slack)
    message = slack.messages()[0]
    slack.click(message, OUTSIDER, "approve", secret="not-the-secret", timestamp=int(time.time()) - 301)
    headers, body = receiver.posts[-1]
    assert headers["x-slack-signature"] != slack.sign(body, int(headers["x-slack-request-timestamp"]))[
        "X-Slack-Signature"]
    slack.click(message, OUTSIDER, "approve", signed=False, team_id="T0OTHER01")
    headers, _ = receiver.posts[-1]
    assert "x-slack-signature" not in headers and receiver.payload()["team"]["id"] == "T0OTHER01"
    outsider = slack.user(OUTSIDER)
    _, _, answer = call(slack, "chat.postEphemeral", {"channel": message.channel, "user": outsider.id,
                                                      "text": "You are not an approver of this request."})
    assert answer["ok"] and answer["message_ts"]
    assert [e.text for e in slack.ephemerals(OUTSIDER)] == ["You are not an approver of this request."]
    assert call(slack, "chat.postEphemeral", {"channel": outsider.id, "user": outsider.id, "text": "x"})[2][
        "error"] == "channel_not_found"


def test_wait_for_wakes_on_a_call(slack: SlackEmulator) -> None:
    threading.Timer(0.2, lambda: post_dm(slack)).start()
    assert slack.wait_for(lambda: slack.messages(), timeout=10, what="a message")
