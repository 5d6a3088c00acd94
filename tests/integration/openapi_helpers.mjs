// openapi_helpers.mjs - docs/openapi.json as a checker of real answers:
// `check(method, route, answer)` fails when the status is not documented
// for that operation, its content type is not, or a JSON body does not
// match the documented schema (ajv, JSON Schema 2020-12, OpenAPI 3.1's
// dialect). Used by api_openapi.test.mjs and by tests of endpoints that
// need a peer to answer (upstream_oauth.test.mjs).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { repoRoot } from './harness.mjs';

export const docPath = path.join(repoRoot, 'docs', 'openapi.json');
export const doc = JSON.parse(readFileSync(docPath, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, 'openapi.json');

/** The schema with its local refs ("#/components/...") pointing into the document. */
function anchored(schema) {
  return JSON.parse(JSON.stringify(schema), (k, v) => (k === '$ref' && v.startsWith('#') ? `openapi.json${v}` : v));
}

function resolve(obj) {
  return obj && obj.$ref ? obj.$ref.slice(2).split('/').reduce((o, k) => o[k], doc) : obj;
}

/** The documented answer of `method docPath` with `status`; fails when it is not documented. */
export function documented(method, route, status) {
  const op = doc.paths[route]?.[method.toLowerCase()];
  assert.ok(op, `${method} ${route} is not in docs/openapi.json`);
  const res = resolve(op.responses[String(status)]);
  assert.ok(res, `${method} ${route} answered ${status}, which docs/openapi.json does not list (it lists ${Object.keys(op.responses)})`);
  return res;
}

/** Asserts a real answer matches the document. */
export function check(method, route, answer) {
  const res = documented(method, route, answer.status);
  const type = (answer.headers.get('content-type') || '').split(';')[0];
  if (!res.content) return;
  assert.ok(res.content[type], `${method} ${route} ${answer.status}: content-type ${type} is not documented`);
  if (type !== 'application/json') return;
  const validate = ajv.compile(anchored(res.content[type].schema));
  assert.ok(validate(answer.json), `${method} ${route} ${answer.status} does not match its schema:\n` +
    `${JSON.stringify(validate.errors, null, 2)}\nbody: ${answer.text.slice(0, 2000)}`);
}

