// Evaluates the shipped IAM policies (deploy/iam/*.json) offline against the table in
// tests/iam/cases.json: every request a rollout makes must be Allowed, every hole in the tenant
// boundary Denied. Prints one line per row and exits non-zero on any mismatch.
//
// The evaluator is @cloud-copilot/iam-simulate, installed by scripts/iam-tools.sh into the
// git-ignored scratch folder .tools/iam-simulate/ (AGPL-3.0: a test-time tool, never vendored
// or shipped). Plain Node ESM, no other dependency.
//
// What the harness does on top of the simulator, and why:
// - A row's tags become context keys: principalTags -> aws:PrincipalTag/K, resourceTags ->
//   aws:ResourceTag/K, requestTags -> aws:RequestTag/K plus aws:TagKeys (unless tagKeys is
//   given, as for DeleteTags). aws:PrincipalAccount is the principal ARN's account and
//   aws:ResourceAccount the resource's (its ARN's, or the row's `account` for S3).
// - A row whose action SageMaker authorizes against several resources at once (CreateEndpoint:
//   the endpoint and its config; CreateInferenceComponent: the endpoint and the component) may
//   list them as `resources`, each with its own resourceTags: the row is simulated once per
//   resource, the request and principal context shared, and it is Allowed only when every
//   resource is (IAM's rule: the caller must be allowed the action on each), explicitly denied
//   when any is.
// - A context key the simulator ignores for the action (not a condition key of the action or
//   its resource type in the Service Authorization Reference data it ships) fails the row:
//   a row must not pass for a reason AWS would not have.
// - Policy variables in Resource elements are substituted from the row's context before the
//   simulator sees the policy, as IAM does. The simulator (0.1.173) splits an ARN on ':'
//   before substituting, so `${aws:...}` in an SNS topic name never matches there. A variable
//   with no value is left as written, which matches nothing.
//   Conditions are left to the simulator, variables included.
// - Sanity: no policy variable before the resource part of an ARN (IAM does not substitute
//   there); every policy file in deploy/iam/ has a suite with at least one Allowed and one
//   denied row; every action its statements name appears in an Allowed row; every Allow
//   statement allows at least one Allowed row and every Deny statement decides at least one
//   ExplicitlyDenied row, so no statement is dead.

import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const pkgDir = path.join(root, '.tools/iam-simulate/node_modules/@cloud-copilot/iam-simulate')
if (!existsSync(path.join(pkgDir, 'package.json'))) {
  console.error('iam-simulate is not installed: run `bash scripts/iam-tools.sh` first')
  process.exit(2)
}
const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'))
const { runSimulation } = await import(pathToFileURL(path.join(pkgDir, pkg.exports['.'].import)).href)

const read = (rel) => JSON.parse(readFileSync(path.join(root, rel), 'utf8'))
const cases = read('tests/iam/cases.json')
const failures = []
const fail = (msg) => {
  failures.push(msg)
  console.log(`FAIL ${msg}`)
}

/** The account of an ARN (its fifth field), or undefined for S3 and `*`. */
const arnAccount = (arn) => (arn.startsWith('arn:') ? arn.split(':')[4] || undefined : undefined)

/** Substitutes `${key}` in a Resource string from the context (keys compared case-insensitively). */
function substitute(value, context) {
  const lower = Object.fromEntries(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]))
  return value.replace(/\$\{([^}]+)\}/g, (whole, key) => {
    const v = lower[key.toLowerCase()]
    return typeof v === 'string' ? v : whole
  })
}

function withResources(policy, context) {
  const list = (v) => (v === undefined ? v : Array.isArray(v) ? v.map((r) => substitute(r, context)) : substitute(v, context))
  return {
    ...policy,
    Statement: policy.Statement.map((s) => ({
      ...s,
      ...(s.Resource !== undefined ? { Resource: list(s.Resource) } : {}),
      ...(s.NotResource !== undefined ? { NotResource: list(s.NotResource) } : {})
    }))
  }
}

/** The request context of a row. */
function contextOf(suite, row, principal, resourceAccount) {
  const ctx = {}
  const account = arnAccount(principal)
  if (account) ctx['aws:PrincipalAccount'] = account
  if (resourceAccount) ctx['aws:ResourceAccount'] = resourceAccount
  const principalTags = row.principalTags ?? suite.principalTags ?? {}
  for (const [k, v] of Object.entries(principalTags)) ctx[`aws:PrincipalTag/${k}`] = v
  for (const [k, v] of Object.entries(row.resourceTags ?? {})) ctx[`aws:ResourceTag/${k}`] = v
  for (const [k, v] of Object.entries(row.requestTags ?? {})) ctx[`aws:RequestTag/${k}`] = v
  const tagKeys = row.tagKeys ?? (row.requestTags ? Object.keys(row.requestTags) : undefined)
  if (tagKeys) ctx['aws:TagKeys'] = tagKeys
  Object.assign(ctx, row.context ?? {})
  return ctx
}

const sids = (policy) => policy.Statement.map((s) => s.Sid)
const actionsOf = (policy) => new Set(policy.Statement.flatMap((s) => [s.Action].flat()))

const policyFiles = readdirSync(path.join(root, 'deploy/iam'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => `deploy/iam/${f}`)
  .sort()
const suiteFiles = new Set(cases.suites.map((s) => s.policy))
for (const f of policyFiles) {
  if (!suiteFiles.has(f)) fail(`${f}: no suite in tests/iam/cases.json`)
}

let total = 0
let allowedRows = 0
let deniedRows = 0
for (const suite of cases.suites) {
  const policy = read(suite.policy)
  const name = path.basename(suite.policy, '.json')
  if (policy.Version !== '2012-10-17') fail(`${suite.policy}: Version is not 2012-10-17`)
  const ids = sids(policy)
  if (ids.some((s) => !s) || new Set(ids).size !== ids.length) {
    fail(`${suite.policy}: every statement needs a unique Sid`)
  }
  // A trust policy is evaluated as the role's resource policy, its caller holding the named
  // identity policy (one that may assume anything, so that the trust policy alone decides).
  // IAM substitutes policy variables only in the resource part of an ARN (after the fifth colon).
  for (const s of policy.Statement) {
    for (const r of [s.Resource ?? [], s.NotResource ?? []].flat()) {
      if (r.startsWith('arn:') && r.split(':').slice(0, 5).join(':').includes('${')) {
        fail(`${suite.policy}: ${s.Sid}: a policy variable before the resource part of ${r}`)
      }
    }
  }
  const identity = suite.as === 'trust' ? cases.policies[suite.identity] : policy
  if (!identity) fail(`${suite.policy}: no policy named ${suite.identity}`)
  const trust = suite.as === 'trust' ? policy : undefined
  const seen = { actions: new Set(), allow: new Set(), deny: new Set(), allowed: 0, denied: 0 }

  for (const row of suite.rows) {
    total++
    const principal = row.principal ?? suite.principal
    const targets = row.resources ?? [{ resource: row.resource, resourceTags: row.resourceTags }]
    const label = `${name}  ${row.action}  ${targets.map((t) => t.resource).join(' + ')}`
    if (!row.why) fail(`${label}: the row says nothing about why`)
    if (row.resources && (row.resource !== undefined || row.resourceTags !== undefined || !row.resources.length)) {
      fail(`${label}: a row lists either resource (and resourceTags) or resources, not both`)
      continue
    }
    const resourcePolicy = trust ?? (row.resourcePolicy ? cases.policies[row.resourcePolicy] : undefined)
    if (row.resourcePolicy && !resourcePolicy) {
      fail(`${label}: no resource policy named ${row.resourcePolicy}`)
      continue
    }
    // One simulation per resource the action is authorized against.
    const outs = []
    for (const target of targets) {
      const account = row.account ?? arnAccount(target.resource) ?? suite.account
      const context = contextOf(suite, { ...row, resourceTags: target.resourceTags }, principal, account)
      const simulation = {
        identityPolicies: [{ name: 'identity', policy: withResources(identity, context) }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy: withResources(resourcePolicy, context) } : {}),
        request: {
          action: row.action,
          principal,
          resource: { resource: target.resource, accountId: account },
          contextVariables: context
        }
      }
      let out
      try {
        out = await runSimulation(simulation, {})
      } catch (e) {
        fail(`${label}: the simulator threw ${e.message}`)
        break
      }
      if (out.resultType === 'error') {
        fail(`${label}: the simulator refused the request: ${JSON.stringify(out.errors)}`)
        break
      }
      const ignored = out.result?.ignoredContextKeys ?? out.results?.flatMap((r) => r.ignoredContextKeys) ?? []
      if (ignored.length) {
        fail(`${label}: context keys the action does not support on ${target.resource}: ${ignored.join(', ')}`)
        break
      }
      outs.push(out)
    }
    if (outs.length !== targets.length) continue
    const results = outs.map((o) => o.overallResult)
    const got = results.includes('ExplicitlyDenied')
      ? 'ExplicitlyDenied'
      : results.every((r) => r === 'Allowed')
        ? 'Allowed'
        : 'ImplicitlyDenied'
    const expect = row.expect
    const ok =
      expect === got || (expect === 'Denied' && (got === 'ImplicitlyDenied' || got === 'ExplicitlyDenied'))
    // The statements that decided: every resource's allows, or the explicit denies.
    const deciding = outs.filter((o) => got === 'Allowed' || o.overallResult === got)
    const analyses = deciding.flatMap((o) => (o.resultType === 'single' ? [o.result.analysis] : o.results.map((r) => r.analysis)))
    const deciders = (kind) =>
      analyses.flatMap((a) =>
        [a.identityAnalysis, a.resourceAnalysis].filter(Boolean).flatMap((x) => x[kind].map((s) => s.statement.sid()))
      )
    const allowing = deciders('allowStatements')
    const denying = deciders('denyStatements')
    const ownAllow = trust ? analyses.flatMap((a) => a.resourceAnalysis?.allowStatements ?? []).map((s) => s.statement.sid()) : allowing
    const ownDeny = trust ? analyses.flatMap((a) => a.resourceAnalysis?.denyStatements ?? []).map((s) => s.statement.sid()) : denying
    const by = got === 'Allowed' ? allowing : got === 'ExplicitlyDenied' ? denying : []
    const line = `${(got === 'Allowed' ? 'ALLOW' : 'DENY').padEnd(5)}  ${label}${by.length ? `  [${[...new Set(by)].join(', ')}]` : ''}  — ${row.why}`
    if (!ok) {
      fail(`expected ${expect}, got ${got}: ${line}`)
      continue
    }
    console.log(`ok   ${line}`)
    if (got === 'Allowed') {
      seen.allowed++
      seen.actions.add(row.action)
      ownAllow.forEach((s) => seen.allow.add(s))
    } else {
      seen.denied++
      if (got === 'ExplicitlyDenied') ownDeny.forEach((s) => seen.deny.add(s))
    }
  }

  allowedRows += seen.allowed
  deniedRows += seen.denied
  if (!seen.allowed || !seen.denied) fail(`${suite.policy}: needs at least one Allowed and one denied row`)
  for (const a of actionsOf(policy)) {
    if (!seen.actions.has(a)) fail(`${suite.policy}: ${a} appears in no Allowed row`)
  }
  for (const s of policy.Statement) {
    if (s.Effect === 'Allow' && !seen.allow.has(s.Sid)) fail(`${suite.policy}: Allow statement ${s.Sid} allows no row`)
    if (s.Effect === 'Deny' && !seen.deny.has(s.Sid)) fail(`${suite.policy}: Deny statement ${s.Sid} decides no row`)
  }
}

console.log(
  `\n${total} rows (${allowedRows} allowed, ${deniedRows} denied) over ${cases.suites.length} policy files; ` +
    `@cloud-copilot/iam-simulate ${pkg.version}; ${failures.length} failure(s)`
)
process.exit(failures.length ? 1 : 0)
