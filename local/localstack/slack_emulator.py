"""Slack's Web API on 127.0.0.1, for the functions' `SLACK_API_URL` (`{base_url}` = http://…/api;
they call `{base_url}/{method}`), answering as Slack documents (shapes and error codes of
slackapi/slack-api-specs' web-api/slack_web_openapi_v2.json):

* `Authorization: Bearer <bot token>`: none → `not_authed`, another → `invalid_auth` (HTTP 200);
* `users.lookupByEmail`, `chat.postMessage` (a user id opens the IM: channel `D…`, one per user;
  `thread_ts` replies), `chat.update` (every version kept), `views.open` (trigger ids minted by
  `click`: unknown, used or older than `trigger_lifetime_s` refused as Slack does),
  `chat.postEphemeral`; any other method → `unknown_method`;
* JSON (`application/json`, charset optional) and form (`application/x-www-form-urlencoded`;
  `blocks`/`view` JSON-encoded) bodies for every method;
* faults on request, counted and per method: `fail` (an error code; `ratelimited` is HTTP 429 with
  `Retry-After`), `fail_status` (HTTP 5xx), `delay` (a hang), `forget_user`.

Every call is recorded (method, arguments, status answered, time; the token never is). Slack's
side of an approver (signed `block_actions` and `view_submission` posts) is in slack_interactions.py,
reached through `click`, `submit`, `sign` and `post_interaction` here. Tests run in the stack's
process and steer the emulator through its methods; `wait_for` waits on a condition, never sleeps."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from . import slack_interactions
from .common import StackError
from .net import HttpResponse, LocalServer, QuietHandler, serve_in_thread
from .slack_model import (  # noqa: F401 (re-exported: tests and the stack import them from here)
    APP_ID,
    BOT_ID,
    CHANNEL_ID,
    MAX_BODY_BYTES,
    OUTSIDER,
    TEAM_DOMAIN,
    TEAM_ID,
    TRIGGER_LIFETIME_S,
    Fault,
    SlackCall,
    SlackEphemeral,
    SlackMessage,
    SlackUser,
    SlackView,
    make_user,
)

_T = TypeVar("_T")


class SlackEmulator:
    """Slack's Web API for one workspace: the approvers (but `missing`) and `outsiders` are its
    users, `channel_id` its one channel. `start()` returns the stop function."""

    def __init__(self, approvers: Iterable[str], *, bot_token: str, signing_secret: str,
                 missing: Iterable[str] = (), outsiders: Iterable[str] = (OUTSIDER,), team_id: str = TEAM_ID,
                 channel_id: str = CHANNEL_ID, interactions_url: str = "") -> None:
        self._bot_token = bot_token
        self._signing_secret = signing_secret
        self.team_id = team_id
        self.channel_id = channel_id
        self.interactions_url = interactions_url  # approval-callback's /slack/interactions
        self.trigger_lifetime_s = TRIGGER_LIFETIME_S
        left_out = set(missing)
        self._users = {e: make_user(e, team_id) for e in (*approvers, *outsiders) if e not in left_out}
        self._forgotten: set[str] = set()
        self._calls: list[SlackCall] = []
        self._messages: dict[tuple[str, str], SlackMessage] = {}
        self._ephemerals: list[SlackEphemeral] = []
        self._views: list[SlackView] = []
        self._triggers: dict[str, tuple[float, SlackUser, bool]] = {}  # minted at, clicker, used
        self._faults: dict[str, list[Fault]] = {}
        self._seq = itertools.count(1)
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server: LocalServer | None = None

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> Callable[[], None]:
        self._server = LocalServer(("127.0.0.1", 0), _handler_for(self))
        stop_serving = serve_in_thread(self._server, "slack-emulator")

        def stop() -> None:
            self._stopping.set()  # cuts injected hangs short
            stop_serving()

        return stop

    @property
    def base_url(self) -> str:
        """SLACK_API_URL: methods are `{base_url}/{method}`."""
        if self._server is None:
            raise StackError("the Slack emulator is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    # ---- the workspace ----------------------------------------------------------------------

    def user(self, email_or_id: str) -> SlackUser:
        """A user of the workspace by address or user id (forgotten ones too)."""
        for user in self._users.values():
            if email_or_id in (user.email, user.id):
                return user
        raise StackError(f"no Slack user {email_or_id!r} in the emulator (users: {', '.join(self._users)})")

    def users(self) -> list[SlackUser]:
        return list(self._users.values())

    def channel_name(self, channel: str) -> str:
        """The name Slack gives a conversation in payloads: `directmessage` for an IM."""
        return "directmessage" if channel.startswith("D") else "approvals"

    def forget_user(self, email: str) -> None:
        """From now on `users.lookupByEmail` of `email` answers `users_not_found`."""
        with self._changed:
            self._forgotten.add(email)

    # ---- faults -----------------------------------------------------------------------------

    def fail(self, method: str, error: str, times: int | None = 1, retry_after: int = 1,
             where: dict[str, str] | None = None) -> None:
        """The next `times` calls of `method` ("*": any; None: every one) whose arguments include
        `where` answer `{"ok": false, "error": error}`; `ratelimited` as Slack does: HTTP 429,
        `Retry-After: retry_after`."""
        self._add_fault(method, Fault(error=error, retry_after=retry_after, remaining=times, where=where or {}))

    def fail_status(self, method: str, status: int, times: int | None = 1, body: str | None = None) -> None:
        """The next `times` calls of `method` answer HTTP `status` (a 5xx outage) with `body`."""
        default = json.dumps({"ok": False, "error": "service_unavailable" if status == 503 else "internal_error"})
        self._add_fault(method, Fault(status=status, body=default if body is None else body, remaining=times))

    def delay(self, method: str, seconds: float, times: int | None = 1) -> None:
        """The next `times` calls of `method` hang `seconds` before their normal answer."""
        self._add_fault(method, Fault(delay_s=seconds, remaining=times))

    def clear_faults(self) -> None:
        with self._changed:
            self._faults.clear()

    def _add_fault(self, method: str, fault: Fault) -> None:
        with self._changed:
            self._faults.setdefault(method, []).append(fault)

    def _take_fault(self, method: str, args: dict[str, Any]) -> Fault | None:
        with self._changed:
            for key in (method, "*"):
                for fault in self._faults.get(key, []):
                    if all(str(args.get(k)) == v for k, v in fault.where.items()):
                        if fault.remaining is not None:
                            fault.remaining -= 1
                            if fault.remaining <= 0:
                                self._faults[key].remove(fault)
                        return fault
        return None

    # ---- what was done ------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[SlackCall]:
        with self._changed:
            return [c for c in self._calls if method in (None, c.method)]

    def messages(self, channel: str | None = None, *, replies: bool = False) -> list[SlackMessage]:
        """Posted messages in the order posted (top-level ones; `replies=True`: thread replies)."""
        with self._changed:
            return [m for m in self._messages.values()
                    if channel in (None, m.channel) and (m.thread_ts is not None) == replies]

    def ephemerals(self, user: str | None = None) -> list[SlackEphemeral]:
        """`chat.postEphemeral`s, to `user` (address or id) if given."""
        wanted = None if user is None else self.user(user).id
        with self._changed:
            return [e for e in self._ephemerals if wanted in (None, e.user)]

    def views(self) -> list[SlackView]:
        with self._changed:
            return list(self._views)

    def wait_for(self, condition: Callable[[], _T | None], timeout: float, what: str) -> _T:
        """`condition()`'s first truthy value, re-checked after every call the emulator answers."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                value = condition()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StackError(f"Slack emulator: no {what} within {timeout:.0f}s; calls: "
                                     f"{[(c.method, c.status, c.error) for c in self._calls][-20:]}")
                self._changed.wait(left)

    # ---- Slack's side of a person (slack_interactions.py) --------------------------------

    def sign(self, body: bytes, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
        """X-Slack-Request-Timestamp and X-Slack-Signature of `body`, as Slack signs (the app's
        signing secret unless `secret` is given)."""
        return slack_interactions.sign(self._signing_secret if secret is None else secret, body, timestamp)

    def click(self, message: SlackMessage, user: str, action: str = "approve", **options: Any) -> HttpResponse:
        """`user` (address or id) clicks the button `action` of `message` (its current version, or
        `version=`): Slack mints a trigger id and posts the signed `block_actions` payload to the
        interactions URL. Options: see slack_interactions.post_payload (secret, timestamp,
        signed, team_id, tamper)."""
        version = options.pop("version", -1)
        trigger_id = self._mint_trigger(self.user(user))
        payload = slack_interactions.block_actions(self, message, self.user(user), action, trigger_id, version)
        return self.post_payload(payload, **options)

    def submit(self, view: SlackView, user: str | None = None, values: dict[str, str | None] | None = None,
               **options: Any) -> HttpResponse:
        """`user` (default: who opened it) submits the modal `view` with `values` ({block_id: text})
        in its input blocks (others left empty); posted signed to the interactions URL."""
        who = view.user if user is None else self.user(user)
        payload = slack_interactions.view_submission(self, view, who, values or {})
        return self.post_payload(payload, **options)

    def post_payload(self, payload: dict[str, Any], **options: Any) -> HttpResponse:
        """`payload=<JSON>` posted as Slack does (see slack_interactions.post_payload)."""
        return slack_interactions.post_payload(self, payload, **options)

    def post_interaction(self, body: bytes, headers: dict[str, str]) -> HttpResponse:
        """Any body with any headers to the interactions URL (forgeries, malformed requests)."""
        return slack_interactions.post(self._interactions_url(), body, headers)

    def _interactions_url(self) -> str:
        if not self.interactions_url:
            raise StackError("the Slack emulator has no interactions URL (approval-callback's /slack/interactions)")
        return self.interactions_url

    def _mint_trigger(self, user: SlackUser) -> str:
        # Slack's shape: digits.digits.hex
        trigger_id = f"{next(self._seq)}{secrets.randbelow(10**6):06d}.{secrets.randbelow(10**9)}." \
                     f"{secrets.token_hex(16)}"
        with self._changed:
            self._triggers[trigger_id] = (time.monotonic(), user, False)
        return trigger_id

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._seq):06d}"

    # ---- the Web API ----------------------------------------------------------------------------

    def answer(self, method: str, authorization: str | None, args: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        """One call: (HTTP status, headers, body). Recorded, and waiters woken."""
        args = {k: v for k, v in args.items() if k != "token"}
        json_type = {"Content-Type": "application/json; charset=utf-8"}
        refused = self._refusal(method, authorization)
        fault = None if refused else self._take_fault(method, args)
        if fault is not None and fault.delay_s:
            self._stopping.wait(fault.delay_s)  # a hang, then the normal answer
            fault = None
        if refused:
            status, headers, reply = 200, {}, refused
        elif fault is not None and fault.status is not None:
            self._record(method, args, fault.status, {"ok": False, "error": f"HTTP {fault.status}"})
            return fault.status, json_type, fault.body
        elif fault is not None and fault.error == "ratelimited":
            status, headers, reply = 429, {"Retry-After": str(fault.retry_after)}, _error("ratelimited")
        elif fault is not None:
            status, headers, reply = 200, {}, _error(str(fault.error))
        else:
            with self._changed:
                status, headers, reply = 200, {}, _METHODS[method](self, args)
        self._record(method, args, status, reply)
        return status, {**json_type, **headers}, json.dumps(reply)

    def _record(self, method: str, args: dict[str, Any], status: int, reply: dict[str, Any]) -> None:
        with self._changed:
            self._calls.append(SlackCall(method, args, status, reply, time.time()))
            self._changed.notify_all()

    def _refusal(self, method: str, authorization: str | None) -> dict[str, Any] | None:
        """Slack's answer to a call without the bot token, or of a method it does not have."""
        if not authorization or not authorization.startswith("Bearer "):
            return _error("not_authed")
        if not secrets.compare_digest(authorization[len("Bearer "):].encode(), self._bot_token.encode()):
            return _error("invalid_auth")
        if method not in _METHODS:
            return {**_error("unknown_method"), "req_method": method}
        return None

    def _lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email") or "")
        if not email:
            return _error("invalid_arguments")
        user = self._users.get(email)
        if user is None or email in self._forgotten:
            return _error("users_not_found")
        return {"ok": True, "user": user.as_slack()}

    def _channel_of(self, channel: str) -> str | None:
        """Where a post to `channel` lands: a user id opens (or reuses) the user's IM."""
        if channel == self.channel_id:
            return channel
        for user in self._users.values():
            if channel in (user.id, user.dm_channel):
                return user.dm_channel
        return None

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_of(str(args.get("channel") or ""))
        if channel is None:
            return _error("channel_not_found")
        if not args.get("text") and not args.get("blocks"):
            return _error("no_text")
        thread_ts = args.get("thread_ts") or None
        if thread_ts is not None and (channel, str(thread_ts)) not in self._messages:
            return _error("thread_not_found")
        message = SlackMessage(channel, self._new_ts(), thread_ts and str(thread_ts), [_version(args)])
        self._messages[(channel, message.ts)] = message
        return {"ok": True, "channel": channel, "ts": message.ts, "message": message.as_slack()}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._messages.get((str(args.get("channel") or ""), str(args.get("ts") or "")))
        if message is None:
            return _error("message_not_found")
        if not args.get("text") and not args.get("blocks"):
            return _error("no_text")
        message.versions.append(_version(args))
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text,
                "message": message.as_slack()}

    def _open_view(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger_id = str(args.get("trigger_id") or "")
        view = args.get("view")
        if trigger_id not in self._triggers:
            return _error("invalid_trigger_id")
        minted, user, used = self._triggers[trigger_id]
        if used:
            return _error("exchanged_trigger_id")
        self._triggers[trigger_id] = (minted, user, True)
        if time.monotonic() - minted > self.trigger_lifetime_s:
            return _error("expired_trigger_id")
        if not isinstance(view, dict) or view.get("type") != "modal":
            return _error("invalid_arguments")
        view_id = f"V{next(self._seq):010d}"
        opened = {**view, "id": view_id, "team_id": self.team_id, "app_id": APP_ID, "bot_id": BOT_ID,
                  "app_installed_team_id": self.team_id, "callback_id": view.get("callback_id", ""),
                  "private_metadata": view.get("private_metadata", ""), "external_id": "",
                  "state": {"values": {}}, "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
                  "clear_on_close": False, "notify_on_close": False, "root_view_id": view_id,
                  "previous_view_id": None}
        self._views.append(SlackView(opened, trigger_id, user))
        return {"ok": True, "view": opened}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_of(str(args.get("channel") or ""))
        if channel is None or channel != args.get("channel"):
            return _error("channel_not_found")  # an ephemeral goes to a conversation, not a user id
        if not args.get("text") and not args.get("blocks"):
            return _error("no_text")
        if not any(u.id == args.get("user") for u in self._users.values()):
            return _error("user_not_in_channel")
        ephemeral = SlackEphemeral(channel, str(args["user"]), str(args.get("text") or ""),
                                   list(args.get("blocks") or []), self._new_ts())
        self._ephemerals.append(ephemeral)
        return {"ok": True, "message_ts": ephemeral.message_ts}


_METHODS: dict[str, Callable[[SlackEmulator, dict[str, Any]], dict[str, Any]]] = {
    "users.lookupByEmail": SlackEmulator._lookup_by_email,
    "chat.postMessage": SlackEmulator._post_message,
    "chat.update": SlackEmulator._update,
    "views.open": SlackEmulator._open_view,
    "chat.postEphemeral": SlackEmulator._post_ephemeral,
}


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


def _version(args: dict[str, Any]) -> dict[str, Any]:
    return {"text": str(args.get("text") or ""), "blocks": list(args.get("blocks") or []), "at": time.time()}


def parse_args(content_type: str, body: bytes) -> dict[str, Any] | None:
    """A call's arguments from a JSON or form body (form values `blocks` and `view` are JSON, as
    Slack takes them); None when the body is neither."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    try:
        if media_type == "application/json":
            parsed = json.loads(body or b"{}")
            return parsed if isinstance(parsed, dict) else None
        if media_type == "application/x-www-form-urlencoded":
            args: dict[str, Any] = dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
            for key in ("blocks", "view", "attachments"):
                if isinstance(args.get(key), str) and args[key]:
                    args[key] = json.loads(args[key])
            return args
    except (ValueError, UnicodeDecodeError):
        return None
    return None


def _handler_for(emulator: SlackEmulator) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            path = urllib.parse.urlsplit(self.path).path
            if not path.startswith("/api/"):
                self._send(404, {"Content-Type": "text/plain"}, "not Slack's Web API (POST /api/<method>)")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, MAX_BODY_BYTES))
            args = parse_args(self.headers.get("Content-Type", ""), body)
            if args is None:
                self._send(200, {"Content-Type": "application/json"}, json.dumps(_error("invalid_form_data")))
                return
            status, headers, reply = emulator.answer(path[len("/api/"):], self.headers.get("Authorization"), args)
            self._send(status, headers, reply)

        def _send(self, status: int, headers: dict[str, str], body: str) -> None:
            data = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
