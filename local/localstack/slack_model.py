"""What the Slack emulator (slack_emulator.py) keeps and hands to tests: the workspace's users,
every Web API call, the messages with every version, ephemerals, opened views, injected faults;
and the workspace's fixed ids."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

TEAM_ID = "T0GATE0001"
TEAM_DOMAIN = "approval-gate-local"
CHANNEL_ID = "C0GATE0001"
OUTSIDER = "outsider@example.com"  # a Slack user of the workspace who is no approver
BOT_ID = "B0GATE0001"
APP_ID = "A0GATE0001"
TRIGGER_LIFETIME_S = 3.0  # Slack: a trigger_id must be used within about 3 s
MAX_BODY_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class SlackUser:
    email: str
    id: str
    team_id: str
    name: str

    @property
    def dm_channel(self) -> str:
        """The IM channel Slack opens when the app posts to this user (`D` + the user's suffix)."""
        return "D" + self.id[1:]

    def as_slack(self) -> dict[str, Any]:
        """As `users.lookupByEmail` answers (the fields the spec's example has that matter here)."""
        return {"id": self.id, "team_id": self.team_id, "name": self.name, "real_name": self.name.title(),
                "deleted": False, "is_bot": False, "is_app_user": False,
                "profile": {"email": self.email, "real_name": self.name.title(), "display_name": self.name}}


@dataclasses.dataclass
class SlackCall:
    """One Web API call as the emulator saw it; `args` never holds a token."""

    method: str
    args: dict[str, Any]
    status: int  # the HTTP status answered
    answer: dict[str, Any]  # the JSON answered
    at: float  # time.time()

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.answer.get("ok") is True

    @property
    def error(self) -> str | None:
        return None if self.ok else str(self.answer.get("error", f"HTTP {self.status}"))


@dataclasses.dataclass
class SlackMessage:
    """A posted message: where, its ts, and every version (`versions[0]` as posted; the last is
    what Slack shows now)."""

    channel: str
    ts: str
    thread_ts: str | None
    versions: list[dict[str, Any]]  # {"text", "blocks", "at"}

    @property
    def text(self) -> str:
        return str(self.versions[-1]["text"])

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return list(self.versions[-1]["blocks"])

    @property
    def updated(self) -> bool:
        return len(self.versions) > 1

    def as_slack(self, version: int = -1) -> dict[str, Any]:
        """The message object as Slack puts it in answers and interaction payloads."""
        shown = self.versions[version]
        message: dict[str, Any] = {"type": "message", "subtype": "bot_message", "text": shown["text"],
                                   "blocks": shown["blocks"], "ts": self.ts, "bot_id": BOT_ID, "app_id": APP_ID}
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if len(self.versions) > 1 and version in (-1, len(self.versions) - 1):
            message["edited"] = {"user": BOT_ID, "ts": f"{shown['at']:.6f}"}
        return message


@dataclasses.dataclass
class SlackEphemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    message_ts: str


@dataclasses.dataclass
class SlackView:
    """A modal `views.open` opened: as Slack answered it, whose click's trigger opened it."""

    view: dict[str, Any]
    trigger_id: str
    user: SlackUser

    @property
    def id(self) -> str:
        return str(self.view["id"])


@dataclasses.dataclass
class Fault:
    error: str | None = None  # an error code in Slack's 200 answer (ratelimited: HTTP 429)
    status: int | None = None  # an HTTP status with `body`
    body: str = ""
    retry_after: int = 1
    delay_s: float = 0.0
    remaining: int | None = 1  # None: every call
    where: dict[str, str] = dataclasses.field(default_factory=dict)  # only calls with these args


def make_user(email: str, team_id: str) -> SlackUser:
    # Stable across runs: the same address is the same user id in every test and demo.
    suffix = hashlib.sha256(email.encode()).hexdigest()[:9].upper()
    return SlackUser(email=email, id=f"U{suffix}", team_id=team_id, name=email.split("@", 1)[0])
