"""`SamLocal`: `sam local invoke` of the functions `sam build` made (arm64, in Docker, through qemu) against
the local stack: moto on 127.0.0.1, the containers on the host network (sam_host_network.py).

Run by scripts/sam-local (after scripts/check-template, whose `sam build` output it uses). The
stack is local/localstack's, started as the e2e suite starts it; the helpers and the planting of
the events' request are local/tests' own (imported, not copied)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LOCAL = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(LOCAL))
sys.path.insert(0, str(LOCAL / "tests"))

import localstack  # noqa: E402
from localstack import template  # noqa: E402

WORK_DIR = localstack.REPO_ROOT / ".local-stack" / "sam-local"
SAM_BUILD_DIR = Path(os.environ.get("SAM_BUILD_DIR", localstack.REPO_ROOT / ".aws-sam" / "sam-build"))
IMAGE = os.environ.get("SAM_LOCAL_IMAGE", "approval-gate/provided-al2023:arm64")
FUNCTIONS = {localstack.SEND_EMAIL_FUNCTION: "SendEmailFunction",
             localstack.CALLBACK_FUNCTION: "ApprovalCallbackFunction"}
# What the functions need besides the template's own variables: the SDK's endpoints (moto) and the
# log level. sam local passes only variables the template declares (the rest of --env-vars is
# dropped), so the generated template copy declares these too.
EXTRA_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SFN", "AWS_ENDPOINT_URL_SNS", "AWS_ENDPOINT_URL_DYNAMODB",
                   "AWS_LAMBDA_LOG_LEVEL")
# Under qemu the emulator takes about a second to listen, more on a busy machine; SAM CLI's
# default wait is 20 s.
CONTAINER_CONNECTION_TIMEOUT_S = "120"
INVOKE_TIMEOUT_S = 300


def _progress(message: str) -> None:
    print(f"==> sam-local: {message}", file=sys.__stderr__, flush=True)


class SamLocal:
    """`sam local invoke LOGICAL_ID -e EVENT` of the built functions, with a generated template
    (the built one, its variables declared for the local endpoints) and --env-vars file."""

    def __init__(self, stack: localstack.LocalStack, work_dir: Path) -> None:
        built = SAM_BUILD_DIR / "template.yaml"
        if not built.is_file():
            raise localstack.StackError(f"{built} is missing: run scripts/check-template (its sam build) first")
        self.work_dir = work_dir
        self.stack = stack
        self.template_path = work_dir / "template.json"
        self.env_vars_path = work_dir / "env-vars.json"
        self.log_path = work_dir / "sam.log"
        self.answers: list[dict[str, Any]] = []
        self._write_inputs(template.load(built))

    def _write_inputs(self, built: dict[str, Any]) -> None:
        env = self.stack.functions_env()
        env_vars: dict[str, dict[str, str]] = {}
        for logical_id in FUNCTIONS.values():
            props = built["Resources"][logical_id]["Properties"]
            code = props.get("CodeUri")
            if not isinstance(code, str) or not (SAM_BUILD_DIR / code / "bootstrap").is_file():
                raise localstack.StackError(f"{SAM_BUILD_DIR}: {logical_id} has no built bootstrap (CodeUri {code!r})")
            props["CodeUri"] = str(SAM_BUILD_DIR / code)
            variables = props.setdefault("Environment", {}).setdefault("Variables", {})
            for name in EXTRA_VARIABLES:
                variables.setdefault(name, "")
            missing = [name for name in variables if name not in env]
            if missing:
                raise localstack.StackError(f"the local stack has no value for {logical_id}'s {', '.join(missing)}")
            env_vars[logical_id] = {name: env[name] for name in variables}
        # SAM CLI 1.170's local invoke fails on the template's Fn::ForEach loops ("'list' object has
        # no attribute 'get'", the built template as well as template.yaml): they make only the
        # extra approvers' subscriptions and the trusted state machines' permissions, nothing a
        # local invoke uses, so the copy leaves them out.
        for name in [n for n in built["Resources"] if n.startswith("Fn::ForEach::")]:
            del built["Resources"][name]
        self.template_path.write_text(json.dumps(built, indent=1))
        self.env_vars_path.write_text(json.dumps(env_vars, indent=1))
        _progress(f"template {self.template_path}, --env-vars {self.env_vars_path}")

    def invoke(self, function: str, event: Path) -> dict[str, Any]:
        """The function's answer (a function error is its {"errorType", "errorMessage"})."""
        logical_id = FUNCTIONS[function]
        cmd = [sys.executable, str(Path(__file__).with_name("sam_host_network.py")), "local", "invoke", logical_id,
               "--template-file", str(self.template_path), "--event", str(event),
               "--env-vars", str(self.env_vars_path), "--invoke-image", IMAGE, "--skip-pull-image",
               "--docker-network", "host", "--container-host", "127.0.0.1", "--region", localstack.common.REGION]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": localstack.common.REGION, "SAM_CLI_TELEMETRY": "0",
                    "SAM_CLI_CONTAINER_CONNECTION_TIMEOUT": CONTAINER_CONNECTION_TIMEOUT_S})
        started = time.monotonic()
        done = subprocess.run(cmd, cwd=self.work_dir, env=env, capture_output=True, text=True,
                              timeout=INVOKE_TIMEOUT_S, check=False)
        seconds = time.monotonic() - started
        with open(self.log_path, "a") as log:
            log.write(f"\n===== {logical_id} {event.name} ({seconds:.1f}s, exit {done.returncode})\n"
                      f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}\n")
        # SAM CLI exits 0 even when it got no answer ("No response from invoke container"): only
        # a JSON answer on stdout counts.
        try:
            answer = json.loads(done.stdout)
        except json.JSONDecodeError as err:
            tail = "\n".join(done.stderr.splitlines()[-25:])
            raise localstack.StackError(f"sam local invoke {logical_id} -e {event.name}: no answer (exit "
                                        f"{done.returncode}, {seconds:.1f}s); last lines:\n{tail}\n"
                                        f"(full: {self.log_path})") from err
        self.answers.append({"function": logical_id, "event": event.name, "seconds": round(seconds, 1),
                             "answer": answer})
        (self.work_dir / "answers.json").write_text(json.dumps(self.answers, indent=1, ensure_ascii=False))
        _progress(f"{logical_id} -e {event.name} ({seconds:.1f}s): {summary(answer)}")
        return answer


def summary(answer: dict[str, Any]) -> str:
    if "statusCode" in answer:
        headers = {**(answer.get("headers") or {}),
                   **{k: ", ".join(v) for k, v in (answer.get("multiValueHeaders") or {}).items()}}
        shown = {k: v for k, v in headers.items() if k.lower() in ("content-type", "allow", "location")}
        return f"statusCode {answer['statusCode']} {json.dumps(shown)} body {len(answer.get('body') or '')} chars"
    return json.dumps(answer)
