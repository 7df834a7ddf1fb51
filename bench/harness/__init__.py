"""The benchmark's parts, one job each (bench/bench.py is the command line):

  http_server   the loopback HTTP/1.1 server: one thread, a selector, a request parser
  session       what the driver knows of one function process (events, timings, problems)
  runtime_api   the stub Lambda Runtime API (/2018-06-01/runtime/...)
  aws_stub      the stub AWS endpoint: routing, SNS, SES, Step Functions
  dynamodb      the stub DynamoDB table (PutItem with conditions, GetItem)
  payloads      fresh send-email payloads (one task token each) and the callback's events
  arms          the functions under test: command, environment, events, checks, AWS calls
  answers       what each invocation's answer must be
  emails        what the run must have emailed (SNS, SES, the decided notices)
  seeded_rows   the change and Slack rows: events from seeded requests, after-run checks
  measure       cold starts, warm runs, CPU time, peak RSS
  report        the table, send-email (ses) by number of approvers, and the targets
"""
