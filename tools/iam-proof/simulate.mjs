// Evaluates requests with @cloud-copilot/iam-simulate, offline.
// stdin: a JSON list of requests, each
//   {principal, action, resource, resourceAccount, context, identityPolicies: [{name, policy}], resourcePolicy}
// stdout: a JSON list of answers, in the same order, each
//   {result: "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied", validated, ignoredContextKeys}
// A request that iam-simulate refuses (invalid policy, action or resource) ends the run with its error.
//
// `validated: false` marks an action that the Service Authorization Reference lists with no resource
// type (iam-simulate then refuses any resource but "*") asked on a specific resource: it is
// evaluated with runUnsafeSimulation, which matches the policies against that resource without
// validating it. The same request is also run validated on "*", so that its policies are still
// validated. tools/iam-proof/send_task_success.py says which actions may be evaluated so, and why.
import { isWildcardOnlyAction, runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate'
import { readFileSync } from 'node:fs'

function simulation(request, resource) {
  return {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource, accountId: request.resourceAccount },
      contextVariables: request.context
    },
    identityPolicies: request.identityPolicies,
    resourcePolicy: request.resourcePolicy ?? undefined,
    serviceControlPolicies: [],
    resourceControlPolicies: []
  }
}

async function validated(request, resource) {
  const answer = await runSimulation(simulation(request, resource), {})
  if (answer.resultType !== 'single') {
    const detail = answer.resultType === 'error' ? JSON.stringify(answer.errors) : answer.resultType
    throw new Error(`${request.action} on ${resource} by ${request.principal}: ${detail}`)
  }
  return answer
}

async function evaluate(request) {
  const [service, action] = request.action.split(':')
  if (request.resource !== '*' && (await isWildcardOnlyAction(service, action))) {
    const { result } = await validated(request, '*')
    return {
      result: runUnsafeSimulation(simulation(request, request.resource), {}),
      validated: false,
      ignoredContextKeys: result.ignoredContextKeys ?? []
    }
  }
  const answer = await validated(request, request.resource)
  return {
    result: answer.overallResult,
    validated: true,
    ignoredContextKeys: answer.result.ignoredContextKeys ?? []
  }
}

const requests = JSON.parse(readFileSync(0, 'utf8'))
const answers = []
for (const request of requests) {
  answers.push(await evaluate(request))
}
process.stdout.write(JSON.stringify(answers))
