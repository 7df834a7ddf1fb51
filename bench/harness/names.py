"""The names the stub and the functions share: one account, one stack."""

REGION = "us-east-1"
ACCOUNT = "123456789012"
APPROVER = "approver@example.com"
# The SES-verified address a stack with EMAIL_DELIVERY=ses sends from (SENDER_ADDRESS).
SENDER = "approvals@example.com"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:HumanApprovalEmailTopic"
TABLE = "ApprovalRequests"
STATE_MACHINE_NAME = "HumanApprovalLambdaStateMachine"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}"
API_URL = "https://abc123defg.execute-api.us-east-1.amazonaws.com/states"
REDIRECT_URL = "https://example.com/approval-recorded"
TASK_TIMEOUT_SECONDS = 3600
# The EventBridge bus send-email puts the gate's events on (EVENT_BUS_NAME; the template's
# EventBusName defaults to the account's default bus), and the stack's name (GATE_NAME, the
# metrics' Gate dimension).
EVENT_BUS = "default"
GATE_NAME = "approval-gate-bench"
# The events' source and their detail-types (crates/approval-domain/src/events.rs, schema v1): the
# six of a request's life and its deliveries, and the two of its nudges.
EVENT_SOURCE = "approval-gate"
DETAIL_TYPES = ("Approval Requested", "Approval Vote Recorded", "Approval Decided", "Approval Expired",
                "Approval Cancelled", "Approval Delivery Failed", "Approval Reminder Sent", "Approval Escalated")


def execution_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{STATE_MACHINE_NAME}:{name}"


def approvers(n: int) -> list[str]:
    """A stack of n approvers: APPROVER (the template's Email) first, then AdditionalApprovers."""
    return [APPROVER] + [f"approver{i:02d}@example.com" for i in range(2, n + 1)]


# Slack (the callback's Slack rows): SLACK_DELIVERY=dm, the app's secret in Secrets Manager (read
# once per process, from the stub), the Web API on the stub's `/api/…` (SLACK_API_URL). The one
# approver's Slack identity, as send-email records it from users.lookupByEmail.
SLACK_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:bench/slack-AbCdEf"
SLACK_SECRET_NAME = "bench/slack"
SLACK_BOT_TOKEN = "xoxb-bench"
SLACK_SIGNING_SECRET = "8f742231b10e8888abcd99bench85a5"
SLACK_API_PATH = "/api"
SLACK_TEAM = "T1"
SLACK_USER = "U0"
SLACK_CHANNEL = "D1"
