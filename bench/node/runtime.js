// A minimal Lambda Runtime API client for Node.js: what the managed nodejs runtime does between
// process start and the handler, minus everything optional. Used instead of npm's aws-lambda-ric,
// whose install compiles curl and aws-lambda-cpp from source (cmake, autoconf, libtool and minutes
// of a 2-core CI machine). Being the least a runtime can do, it is Node's best case: any real
// runtime only adds to its init and latency figures.
//
//   node runtime.js        with LAMBDA_TASK_ROOT=<dir of index.js>, _HANDLER=index.<export>,
//                          AWS_LAMBDA_RUNTIME_API=host:port (as Lambda sets them)
//
// Loop: GET /2018-06-01/runtime/invocation/next -> handler(event, context, callback) ->
// POST .../{id}/response (or .../{id}/error). The callback result is posted as soon as the
// handler calls back (callbackWaitsForEmptyEventLoop treated as false), again Node's best case.
'use strict';
const http = require('node:http');
const path = require('node:path');

const [apiHost, apiPort] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const [moduleName, exportName] = process.env._HANDLER.split('.');
// One kept-alive connection to the Runtime API, as the managed runtime holds.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    };
    const req = http.request({ host: apiHost, port: apiPort, method, path: urlPath, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function errorPayload(err) {
  if (err instanceof Error) {
    return { errorType: err.name, errorMessage: err.message, trace: String(err.stack || '').split('\n') };
  }
  return { errorType: 'Error', errorMessage: JSON.stringify(err) };
}

async function main() {
  const handler = require(path.join(process.env.LAMBDA_TASK_ROOT, moduleName))[exportName];
  if (typeof handler !== 'function') {
    throw new Error(`${process.env._HANDLER} is not a function`);
  }
  for (;;) {
    const next = await request('GET', '/2018-06-01/runtime/invocation/next');
    if (next.status !== 200) {
      throw new Error(`Runtime API /next answered ${next.status}: ${next.body}`);
    }
    const requestId = next.headers['lambda-runtime-aws-request-id'];
    const deadline = Number(next.headers['lambda-runtime-deadline-ms']);
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: next.headers['lambda-runtime-invoked-function-arn'],
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      awsRequestId: requestId,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    const outcome = await new Promise((resolve) => {
      let settled = false;
      const callback = (err, result) => {
        if (settled) return; // the managed runtime also ignores a second callback
        settled = true;
        resolve({ err, result });
      };
      try {
        const returned = handler(JSON.parse(next.body), context, callback);
        if (returned && typeof returned.then === 'function') {
          returned.then((result) => callback(null, result), (err) => callback(err || new Error('rejected')));
        }
      } catch (err) {
        callback(err);
      }
    });
    const base = `/2018-06-01/runtime/invocation/${requestId}`;
    if (outcome.err !== null && outcome.err !== undefined) {
      await request('POST', `${base}/error`, JSON.stringify(errorPayload(outcome.err)));
    } else {
      await request('POST', `${base}/response`, JSON.stringify(outcome.result === undefined ? null : outcome.result));
    }
  }
}

main().catch((err) => {
  console.error('runtime loop failed:', err);
  process.exit(1);
});
