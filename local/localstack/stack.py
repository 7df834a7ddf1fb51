"""The whole approval gate on one machine, no AWS account: `LocalStack` ties the pieces together,
as its `StackConfig` (stack_config.py) asks, with both functions' settings from functions_env.py.

* moto (moto_server.py): Step Functions with its interpreter running the real ASL file, SNS, SQS,
  SES and DynamoDB (the request table, created from template.yaml's definition: store.py; its
  conditional writes made atomic, as DynamoDB's are);
* `cargo lambda watch` (functions.py) runs both binaries, 4 instances of each (`--concurrency`:
  simultaneous votes race for real), behind a front (watch_front.py) that lets at most 32
  requests per function into it at a time (more at once deadlock it); moto's
  interpreter invokes send-email through the invoke shim (invoke_shim.py) and the front; the links
  point at approval-callback's function URL on the front (`lambda_port`);
* the approvers' inboxes (inbox.py), fed by the channel of `email_delivery`: with "sns" one SQS
  queue per approver, subscribed to the topic with its filter policy (sns_inbox.py); with "ses"
  the sender identity verified in moto's SES and what SES sent, read from moto's backend
  (ses_inbox.py); with "none" nothing;
* the "decision recorded" page (pages.py): the callback's REDIRECT_URL;
* the event source mapping of the request table's stream (stream_poller.py), with template.yaml's
  settings (stream_mapping.py): once the functions are ready, a thread follows the table's stream
  and invokes send-email with each batch of changes (stream_event.py) through the front, as Lambda
  would;
* the gate's events (gate_events.py): the functions put them on moto's default EventBridge bus
  (EVENT_BUS_NAME), where a rule sends them to an SQS queue the stack reads (`gate_events`);
  `eventbridge_down()` makes PutEvents fail for a while;
* Step Functions' execution status-change events (execution_watcher.py), which moto does not emit:
  a thread notices executions that ended (and every StopExecution, which moto's own executions do
  not show) and invokes send-email with the event, as template.yaml's rule would;
* the reminders' and escalations' schedules (schedule_firer.py): moto's Scheduler keeps them but
  never fires one; a thread fires each due one-time schedule into send-email, as Scheduler would;
* with `slack_delivery` dm or channel (slack_app.py): Slack's Web API emulated (slack_emulator.py,
  the functions' SLACK_API_URL; `stack.slack`) and the Slack app's secret in moto's Secrets Manager
  (SLACK_SECRET_ARN); the emulator posts approvers' clicks to the callback's /slack/interactions.

Leaving `with LocalStack(config) as stack:` (normally, on an exception or Ctrl-C) stops everything
it started. Readiness is always polled for, never slept for. One stack runs in a process at a
time: moto's mock is process-wide (its backends, the interpreter's Lambda endpoint in os.environ).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from . import (
    execution_watcher,
    functions_env,
    invoke_shim,
    moto_server,
    schedule_firer,
    slack_app,
    store,
    template,
    watch_front,
)
from .common import ASL_PATH, CALLBACK_FUNCTION, SEND_EMAIL_FUNCTION, StackError
from .execution_watcher import ExecutionWatcher
from .functions import CargoLambdaWatch
from .gate_events import EVENT_BUS_NAME, EventBridgeOutage, GateEvents
from .inbox import Email, Inbox
from .net import free_port, require_port_free
from .pages import DECISION_RECORDED_PATH, start_decision_recorded_page
from .schedule_firer import ScheduleFirer
from .ses_inbox import SesMailbox
from .slack_emulator import SlackEmulator
from .sns_inbox import TOPIC_NAME, SnsInboxes
from .stack_config import StackConfig
from .stream_mapping import mapping_options
from .stream_poller import StreamPoller
from .workflow import StateMachineSpec, Workflows, stack_substitutions

MAIN_STATE_MACHINE = "HumanApprovalLambdaStateMachine"
EMAIL_DELIVERIES = ("sns", "ses", "none")  # EMAIL_DELIVERY of both functions (template.yaml's EmailDelivery)
_T = TypeVar("_T")
_running = threading.Lock()  # held by the one LocalStack started in this process


class LocalStack:
    """Start with `with LocalStack(StackConfig(...)) as stack:`; everything stops on exit."""

    def __init__(self, config: StackConfig, progress: Callable[[str], None] | None = None) -> None:
        self.config = config
        self._progress = progress or (lambda message: None)
        self._exit_stack = contextlib.ExitStack()
        self.main = StateMachineSpec(MAIN_STATE_MACHINE, config.approval_timeout_seconds)
        self.state_machine_arn = self.main.arn
        # What start() makes; the properties below raise StackError before it has.
        self._watch: CargoLambdaWatch | None = None
        self._workflows: Workflows | None = None
        self._inbox: Inbox | None = None
        self._sns_inboxes: SnsInboxes | None = None
        self._ses_mailbox: SesMailbox | None = None
        self._holds_process_lock = False
        self._table: store.RequestTable | None = None
        self._stream_poller: StreamPoller | None = None
        self._gate_events: GateEvents | None = None
        self._execution_watcher: ExecutionWatcher | None = None
        self._schedule_firer: ScheduleFirer | None = None
        self._slack: SlackEmulator | None = None
        self.slack_secret_arn = ""  # SLACK_SECRET_ARN: the Slack app's secret, with Slack on
        self._clients: dict[str, Any] = {}  # SDK clients of the moto server, by service name
        self.topic_arn = ""
        self._template = template.load()

    # ---- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @staticmethod
    def _started(part: _T | None, what: str) -> _T:
        if part is None:
            raise StackError(f"the local stack has no {what} yet: start it first (`with LocalStack(config) as stack:`)")
        return part

    @property
    def watch(self) -> CargoLambdaWatch:
        return self._started(self._watch, "cargo lambda watch")

    @property
    def workflows(self) -> Workflows:
        return self._started(self._workflows, "state machines")

    @property
    def inbox(self) -> Inbox:
        return self._started(self._inbox, "inboxes")

    @property
    def ses_mailbox(self) -> SesMailbox:
        """With email_delivery "ses": the reader of moto's SES (every message it sent: `.sent`)."""
        return self._started(self._ses_mailbox, "SES mailbox (email_delivery is not ses?)")

    @property
    def slack(self) -> SlackEmulator:
        """With slack_delivery dm or channel: Slack's Web API as the functions see it (calls,
        messages, views, faults) and Slack's side of approvers (click, submit, sign)."""
        return self._started(self._slack, "Slack emulator (slack_delivery is none?)")

    @property
    def table(self) -> store.RequestTable:
        return self._started(self._table, "request table")

    @property
    def stream_poller(self) -> StreamPoller:
        """The request table's stream into send-email: what it invoked, retried, skipped; wait_idle()."""
        return self._started(self._stream_poller, "stream poller")

    @property
    def gate_events(self) -> GateEvents:
        """The gate's events as a rule on the bus delivered them: all(), of_request(), wait_for()."""
        return self._started(self._gate_events, "gate events")

    @property
    def execution_watcher(self) -> ExecutionWatcher:
        """Step Functions' status-change events into send-email: reports, wait_reported()."""
        return self._started(self._execution_watcher, "execution watcher")

    @property
    def schedule_firer(self) -> ScheduleFirer:
        """Scheduler's part: what fired (`fired`), fire_now(name), wait_fired(name), names()."""
        return self._started(self._schedule_firer, "schedule firer")

    def schedules(self) -> list[str]:
        """The names of the nudges' schedules now in the stack's group (fired ones are deleted)."""
        return self.schedule_firer.names()

    def _client(self, service: moto_server.Service) -> Any:
        return self._started(self._clients.get(service), f"{service} client")

    @property
    def sfn(self) -> Any:
        return self._client("stepfunctions")

    @property
    def sns(self) -> Any:
        return self._client("sns")

    @property
    def sqs(self) -> Any:
        return self._client("sqs")

    @property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @property
    def sesv2(self) -> Any:
        return self._client("sesv2")

    @property
    def events(self) -> Any:
        return self._client("events")

    @property
    def trusted_state_machine_arns(self) -> list[str]:
        """The stack's own state machine and the trusted extra ones."""
        return [self.state_machine_arn, *(s.arn for s in self.config.extra_state_machines if s.trusted)]

    @property
    def approvers(self) -> list[str]:
        return list(self.config.approvers)

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.config.moto_port}"

    @property
    def redirect_url(self) -> str:
        return f"http://127.0.0.1:{self.config.page_port}{DECISION_RECORDED_PATH}"

    @property
    def functions_url(self) -> str:
        """Both functions, through the front: function URLs and the Lambda Invoke API."""
        return f"http://127.0.0.1:{self.config.lambda_port}"

    @property
    def api_url(self) -> str:
        """API_URL: the callback's base URL under cargo lambda watch; links are {this}/execution?…"""
        return f"{self.functions_url}/lambda-url/{CALLBACK_FUNCTION}"

    callback_base_url = api_url

    @property
    def functions_log_path(self) -> Path:
        return self.config.work_dir / "functions.log"

    def start(self) -> None:
        cfg = self.config
        if cfg.link_mode not in ("confirm", "one-click"):
            raise StackError(f"link mode must be confirm or one-click, got {cfg.link_mode!r}")
        if cfg.email_delivery not in EMAIL_DELIVERIES:
            raise StackError(f"email delivery must be one of {', '.join(EMAIL_DELIVERIES)}, got {cfg.email_delivery!r}")
        if cfg.email_delivery == "ses" and "@" not in cfg.sender_address:
            raise StackError(f"email delivery ses needs a sender address, got {cfg.sender_address!r}")
        if not cfg.approvers:
            raise StackError("the stack needs at least one approver")
        slack_app.check(cfg.slack_delivery, cfg.slack_channel_id, cfg.slack_missing, cfg.approvers)
        if not ASL_PATH.is_file():
            raise StackError(f"state machine file missing: {ASL_PATH}")
        require_port_free(cfg.moto_port, "the moto server", "--moto-port")
        require_port_free(cfg.lambda_port, "the functions (the front of cargo lambda watch)", "--lambda-port")
        require_port_free(cfg.page_port, "the decision-recorded page", "--page-port")
        if not _running.acquire(blocking=False):
            raise StackError("another local stack is running in this process: moto's mock, its backends and the "
                             "interpreter's Lambda endpoint are process-wide; stop that one first")
        self._holds_process_lock = True
        self._exit_stack.callback(self._release_process_lock)
        cfg.work_dir.mkdir(parents=True, exist_ok=True)
        self.functions_log_path.write_bytes(b"")  # this run's logs only

        self._progress(f"starting moto (Step Functions interpreter, SNS, SQS, SES, DynamoDB and its streams, "
                       f"EventBridge, Scheduler) on {self.moto_url}")
        moto_server.start(self._exit_stack, cfg.moto_port)
        self._clients = {s: moto_server.client(s) for s in moto_server.SERVICES}
        self._workflows = workflows = Workflows(self.sfn)
        self._exit_stack.callback(self._stop_executions)
        self._progress(f"starting the decision-recorded page on {self.redirect_url}")
        self._exit_stack.callback(start_decision_recorded_page(cfg.page_port))
        self._progress("creating the request table from template.yaml's ApprovalRequestsTable")
        self._table = store.RequestTable(self.dynamodb, store.create_table(self.dynamodb, self._template))
        self._progress(f"routing the gate's events: a rule on EventBridge's {EVENT_BUS_NAME} bus (source "
                       f"approval-gate) into an SQS queue the stack reads")
        self._gate_events = GateEvents(self.events, self.sqs)
        self._gate_events.create()
        self._progress(f"creating the nudges' schedule group {schedule_firer.GROUP_NAME} in moto's Scheduler")
        self._schedule_firer = ScheduleFirer(self._client("scheduler"), self.functions_url,
                                             log=self._log_to_functions_log)
        self._schedule_firer.create_group()
        self._inbox = inbox = Inbox(self.approvers)
        if cfg.email_delivery == "sns":
            self._progress(f"creating the SNS topic and one inbox queue per approver ({', '.join(cfg.approvers)})")
            self._sns_inboxes = sns_inboxes = SnsInboxes(self.sns, self.sqs, inbox)
            self.topic_arn = sns_inboxes.create()
            self._exit_stack.callback(sns_inboxes.start())
        elif cfg.email_delivery == "ses":
            self._progress(f"verifying the SES sender {cfg.sender_address}; each approver's inbox reads what "
                           f"SES sent them ({', '.join(cfg.approvers)}); no SNS topic")
            self._ses_mailbox = mailbox = SesMailbox(self.sesv2, cfg.sender_address, inbox)
            mailbox.verify_sender()
            self._exit_stack.callback(mailbox.start())
        else:
            self._progress("email delivery none: no topic, no SES, the inboxes stay empty")
        if cfg.slack_delivery != "none":
            self._progress(f"starting Slack's Web API emulator (SLACK_DELIVERY {cfg.slack_delivery}) and the app's "
                           f"secret {slack_app.SECRET_NAME} in moto's Secrets Manager")
            self._slack, self.slack_secret_arn = slack_app.start(
                self._exit_stack, self._client("secretsmanager"), approvers=cfg.approvers,
                missing=cfg.slack_missing, channel_id=cfg.slack_channel_id, callback_url=self.api_url)
        substitutions = stack_substitutions(self.api_url)
        for spec in (self.main, *cfg.extra_state_machines):
            self._progress(f"creating state machine {spec.name} (approval timeout {spec.approval_timeout_seconds}s)")
            workflows.create(spec, substitutions)
        self._start_functions()
        self._start_stream_poller()
        self._start_execution_watcher()
        self._progress(f"firing the due schedules of {schedule_firer.GROUP_NAME} into {SEND_EMAIL_FUNCTION} "
                       f"(moto's Scheduler never fires)")
        self._exit_stack.callback(self.schedule_firer.start())

    def functions_env(self) -> dict[str, str]:
        """The environment of cargo lambda watch, inherited by both functions (functions_env.py)."""
        return functions_env.environment(
            self.config, self._template, self._progress,
            table_name=self._table.name if self._table is not None else store.TABLE_NAME,
            topic_arn=self.topic_arn, api_url=self.api_url, state_machine_arn=self.state_machine_arn,
            redirect_url=self.redirect_url, slack_secret_arn=self.slack_secret_arn,
            slack_api_url=self._slack.base_url if self._slack is not None else "", moto_url=self.moto_url,
        )

    def _start_functions(self) -> None:
        cfg = self.config
        deadline = time.monotonic() + cfg.build_timeout_s
        watch = CargoLambdaWatch(port=free_port(), env=self.functions_env(), log_path=self.functions_log_path)
        self._watch = watch
        _, stop_front = watch_front.start(cfg.lambda_port, watch.port)
        self._exit_stack.callback(stop_front)
        shim_url, stop_shim = invoke_shim.start(self.functions_url)
        self._exit_stack.callback(stop_shim)
        os.environ["AWS_ENDPOINT_URL_LAMBDA"] = shim_url  # moto's interpreter invokes send-email here
        build_log = cfg.work_dir / "build.log"
        self._progress(f"building both binaries (cold: minutes; log: {build_log})")
        started = time.monotonic()
        watch.build(build_log, deadline)
        self._progress(f"built in {time.monotonic() - started:.0f}s")
        self._progress(f"starting cargo lambda watch on 127.0.0.1:{watch.port}, behind {self.functions_url} "
                       f"(logs: {self.functions_log_path})")
        self._exit_stack.callback(watch.stop)
        watch.start()
        watch.wait_ready(deadline, progress=self._progress)

    def _start_stream_poller(self) -> None:
        """After the functions are ready, before anything writes to the table (the readiness probes
        do not): start() takes the stream's starting positions before it returns. From LATEST,
        nothing written after that is missed; from TRIM_HORIZON (template.yaml's), the new table's
        every change is delivered."""
        options, notes = mapping_options(template.stream_mapping(self._template))
        poller = StreamPoller(self.dynamodb, self._client("dynamodbstreams"), self.table.name, self.functions_url,
                              log=self._log_to_functions_log, **options)
        self._progress(f"following the request table's stream into {SEND_EMAIL_FUNCTION} as template.yaml's event "
                       f"source mapping does ({poller.settings()}); its log lines go to {self.functions_log_path}")
        for note in notes:
            self._progress(f"stream poller: {note}")
        self._exit_stack.callback(poller.start())
        self._stream_poller = poller

    def _start_execution_watcher(self) -> None:
        """After the functions are ready (it invokes send-email): moto emits no status-change
        events, so the watcher plays them, matched against template.yaml's rule."""
        rule = template.execution_rule(self._template)
        pattern, notes = execution_watcher.rule_pattern(rule, self.trusted_state_machine_arns)
        retries = template.async_retry_attempts(self._template)
        if retries is None:
            retries = execution_watcher.MAX_RETRY_ATTEMPTS
        watcher = ExecutionWatcher(moto_server.client("stepfunctions"), self.functions_url, pattern,
                                   log=self._log_to_functions_log, max_retry_attempts=retries)
        self._progress(f"sending Step Functions' execution status changes to {SEND_EMAIL_FUNCTION} as template.yaml's "
                       f"rule does ({watcher.settings()})")
        for note in notes:
            self._progress(f"execution watcher: {note}")
        self._exit_stack.callback(watcher.start())
        self._execution_watcher = watcher

    def _log_to_functions_log(self, line: str) -> None:
        # Appended beside cargo lambda watch's own output (both O_APPEND): each poller line lands
        # right before the function lines of the invocation it names.
        with open(self.functions_log_path, "a", encoding="utf-8") as log:
            log.write(line + "\n")

    def _stop_executions(self) -> None:
        if self._workflows is None:
            return
        with contextlib.suppress(Exception):
            self._workflows.stop_running()

    def _release_process_lock(self) -> None:
        if self._holds_process_lock:
            self._holds_process_lock = False
            _running.release()

    def stop(self) -> None:
        """Stop everything started, newest first; safe to call twice and after a failed start."""
        # A second Ctrl-C must not cut the teardown short and leave cargo lambda watch running.
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                previous[sig] = signal.signal(sig, signal.SIG_IGN)
        try:
            self._exit_stack.close()
            self._exit_stack = contextlib.ExitStack()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # ---- the workflow, as tests and the demo use it -----------------------------------------

    def start_execution(self, name: str | None = None, state_machine_arn: str | None = None,
                        execution_input: dict[str, Any] | None = None) -> str:
        return self.workflows.start_execution(state_machine_arn or self.state_machine_arn, name, execution_input)

    def wait_for_email(self, execution_name: str, approver: str | None = None, timeout: float = 60.0) -> Email:
        return self.inbox.wait_for_email(execution_name, approver, timeout)

    def describe(self, execution_arn: str) -> dict[str, Any]:
        return self.workflows.describe(execution_arn)

    def wait_for_end(self, execution_arn: str, timeout: float | None = 60.0) -> dict[str, Any]:
        return self.workflows.wait_for_end(execution_arn, timeout)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self.workflows.history(execution_arn)

    def last_state_entered(self, execution_arn: str) -> str | None:
        return self.workflows.last_state_entered(execution_arn)

    def invoke_send_email(self, payload: Any) -> invoke_shim.Invocation:
        """send-email invoked directly (not by Step Functions), as anyone allowed to invoke it could."""
        return invoke_shim.invoke(self.functions_url, SEND_EMAIL_FUNCTION, payload)

    @contextlib.contextmanager
    def topic_missing(self) -> Iterator[None]:
        """The SNS topic deleted for the duration (send-email's Publish then fails), then restored
        with the same ARN and the inboxes subscribed again (email_delivery "sns" only)."""
        sns_inboxes = self._started(self._sns_inboxes, "SNS topic (email_delivery is not sns)")
        self.sns.delete_topic(TopicArn=self.topic_arn)
        try:
            yield
        finally:
            restored = self.sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
            assert restored == self.topic_arn, (restored, self.topic_arn)
            sns_inboxes.subscribe()

    @contextlib.contextmanager
    def eventbridge_down(self) -> Iterator[EventBridgeOutage]:
        """EventBridge failing inside for the duration: every PutEvents answers HTTP 500
        InternalException and puts nothing. Yields what the outage refused."""
        self._started(self._gate_events, "gate events")
        outage = EventBridgeOutage()
        moto_server.set_eventbridge_down(True)
        try:
            yield outage
        finally:
            moto_server.set_eventbridge_down(False)
