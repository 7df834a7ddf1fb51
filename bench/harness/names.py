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


def execution_arn(name: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{STATE_MACHINE_NAME}:{name}"


def approvers(n: int) -> list[str]:
    """A stack of n approvers: APPROVER (the template's Email) first, then AdditionalApprovers."""
    return [APPROVER] + [f"approver{i:02d}@example.com" for i in range(2, n + 1)]
