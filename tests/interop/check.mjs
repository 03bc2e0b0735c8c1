#!/usr/bin/env node
// Independent, offline checks of Credence's W3C-shaped JSON with third-party tools.
//
//   node check.mjs expand FILE...
//       JSON-LD 1.1 expansion (jsonld.js, safe mode) and RDF conversion of VCs, VPs and
//       status list credentials; fails if anything is dropped or does not convert.
//   node check.mjs schema SCHEMA_FILE CREDENTIAL_FILE...
//       validates each whole credential against a JSON Schema 2020-12 file (Ajv2020 + ajv-formats).
//   node check.mjs status-list FILE [--set 3,17] [--clear 5,9]
//       decodes a BitstringStatusListCredential's encodedList and checks the named bits.
//   node check.mjs openapi FILE
//       runs the locally installed `redocly lint FILE`; its exit code is passed through.
//   node check.mjs answers OPENAPI_FILE ANSWERS_FILE
//       validates real answers (method, path template, status, media type, body) against the
//       response schemas the OpenAPI 3.1 document gives for them (Ajv 2020-12).
//
// Contexts come ONLY from ../../schemas/contexts/ (the document loader refuses every other
// URL, so nothing is ever fetched from the network). Every failure exits non-zero.

import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import path from 'node:path';

import jsonld from 'jsonld';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import {decodeList} from '@digitalbazaar/vc-bitstring-status-list';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONTEXT_DIR = path.resolve(HERE, '../../schemas/contexts');

const VC_V2_URL = 'https://www.w3.org/ns/credentials/v2';
const CREDENCE_V1_URL = 'https://credence.dev/ns/credentials/v1';
// VCDM 2.0 B.1: the base context is used as a static, pinned document.
const VC_V2_SHA256 = '59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734';
const JSON_SCHEMA_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
const MIN_STATUS_LIST_BITS = 131072;

class CheckError extends Error {}

function fail(message) {
  throw new CheckError(message);
}

function readJson(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch(e) {
    fail(`${file}: cannot read: ${e.message}`);
  }
  try {
    return JSON.parse(text);
  } catch(e) {
    fail(`${file}: not JSON: ${e.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Offline document loader: the two vendored contexts, nothing else.

function loadContexts() {
  const files = {
    [VC_V2_URL]: {file: path.join(CONTEXT_DIR, 'credentials-v2.jsonld'), sha256: VC_V2_SHA256},
    [CREDENCE_V1_URL]: {file: path.join(CONTEXT_DIR, 'credentials-v1.jsonld')}
  };
  const contexts = new Map();
  for(const [url, {file, sha256}] of Object.entries(files)) {
    let bytes;
    try {
      bytes = readFileSync(file);
    } catch(e) {
      fail(`context ${url}: cannot read ${file}: ${e.message}`);
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if(sha256 && digest !== sha256) {
      fail(`context ${url}: ${file} has SHA-256 ${digest}, expected ${sha256}`);
    }
    try {
      contexts.set(url, JSON.parse(bytes.toString('utf8')));
    } catch(e) {
      fail(`context ${url}: ${file} is not JSON: ${e.message}`);
    }
  }
  return contexts;
}

let CONTEXTS;
async function documentLoader(url) {
  CONTEXTS ??= loadContexts();
  if(CONTEXTS.has(url)) {
    // A fresh copy each time, so that nothing jsonld does can alter the cached one.
    return {contextUrl: null, documentUrl: url, document: structuredClone(CONTEXTS.get(url))};
  }
  throw new Error(`refusing to load ${url}: only the vendored contexts ` +
    `(${[...CONTEXTS.keys()].join(', ')}) are available offline`);
}

function jsonldMessage(e) {
  // jsonld.js errors carry a name (e.g. jsonld.ValidationError) and details: for safe mode the
  // event (its code, e.g. "invalid property", and the offending term), for a context that could
  // not be loaded the code, the URL and the document loader's own error as the cause.
  const details = e.details ?? {};
  const event = details.event;
  const parts = [`${e.name ?? 'Error'}: ${e.message}`];
  if(event) {
    parts.push(`code=${event.code}`);
    if(event.details) {
      parts.push(`details=${JSON.stringify(event.details)}`);
    }
  } else {
    if(details.code) {
      // the code says it; jsonld's long text about CORS and Link headers does not help here
      parts[0] = `${e.name ?? 'Error'}: ${details.code}`;
    }
    if(details.url) {
      parts.push(`url=${details.url}`);
    }
  }
  const cause = details.cause ?? e.cause;
  if(cause && cause !== e) {
    parts.push(`cause: ${cause.message ?? cause}`);
  }
  return parts.join('; ');
}

// Node objects in expanded JSON-LD (including those inside @graph/@list/@set), excluding
// value objects and @json literals.
function countNodes(value) {
  if(Array.isArray(value)) {
    return value.reduce((n, v) => n + countNodes(v), 0);
  }
  if(value === null || typeof value !== 'object' || '@value' in value) {
    return 0;
  }
  let n = '@list' in value || '@set' in value ? 0 : 1;
  for(const [key, v] of Object.entries(value)) {
    if(key !== '@type') {
      n += countNodes(v);
    }
  }
  return n;
}

async function cmdExpand(files) {
  if(files.length === 0) {
    fail('usage: node check.mjs expand FILE...');
  }
  for(const file of files) {
    const doc = readJson(file);
    const ctx = doc?.['@context'];
    // VCDM 2.0 §4.3: @context is an ordered set whose first item is the v2 URL.
    if(!Array.isArray(ctx) || ctx[0] !== VC_V2_URL) {
      fail(`${file}: @context must be an array whose first item is ${VC_V2_URL}; ` +
        `got ${JSON.stringify(ctx)}`);
    }
    let expanded;
    try {
      expanded = await jsonld.expand(doc, {documentLoader, safe: true});
    } catch(e) {
      fail(`${file}: JSON-LD expansion failed: ${jsonldMessage(e)}`);
    }
    if(!Array.isArray(expanded) || expanded.length === 0) {
      fail(`${file}: JSON-LD expansion produced nothing`);
    }
    let quads;
    try {
      quads = await jsonld.toRDF(doc, {documentLoader, safe: true});
    } catch(e) {
      fail(`${file}: JSON-LD to RDF conversion failed: ${jsonldMessage(e)}`);
    }
    if(quads.length === 0) {
      fail(`${file}: JSON-LD to RDF conversion produced no quads`);
    }
    const graphs = new Set(quads.map(q => q.graph.value));
    console.log(`expand OK ${file}: ${countNodes(expanded)} nodes, ${quads.length} quads ` +
      `in ${graphs.size} graph(s)`);
  }
}

// ---------------------------------------------------------------------------------------------

function ajvErrors(errors) {
  return (errors ?? []).map(e => {
    const params = Object.keys(e.params ?? {}).length ? ` ${JSON.stringify(e.params)}` : '';
    return `  ${e.instancePath || '/'} ${e.message}${params} (schema ${e.schemaPath})`;
  }).join('\n');
}

async function cmdSchema(args) {
  const [schemaFile, ...files] = args;
  if(!schemaFile || files.length === 0) {
    fail('usage: node check.mjs schema SCHEMA_FILE CREDENTIAL_FILE...');
  }
  const schema = readJson(schemaFile);
  // VC JSON Schema: a schema without $schema MUST NOT be processed (Indeterminate);
  // $id is required; 2020-12 is the version this checker supports.
  if(schema?.$schema !== JSON_SCHEMA_2020_12) {
    fail(`${schemaFile}: $schema must be ${JSON_SCHEMA_2020_12} (got ` +
      `${JSON.stringify(schema?.$schema)}): Indeterminate`);
  }
  if(typeof schema.$id !== 'string' || schema.$id === '') {
    fail(`${schemaFile}: the schema has no $id`);
  }
  // Ajv strict mode stays on (unknown keywords, ignored keywords, type mismatches and
  // formats are errors); Credence's own annotation keywords are declared, not tolerated.
  // strictRequired is left off: a schema may require credential members (@context, type,
  // issuer) whose shape it does not describe.
  const ajv = new Ajv2020({
    strict: true,
    strictRequired: false,
    allErrors: true
  });
  addFormats(ajv);
  ajv.addKeyword({keyword: 'x-credence', schemaType: 'object'});
  ajv.addKeyword({keyword: 'x-credence-encoding', schemaType: 'string'});
  // Display text in other languages (docs/cryptosuites.md §2.7): annotation only.
  ajv.addKeyword({keyword: 'x-credence-l10n', schemaType: 'object'});
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch(e) {
    fail(`${schemaFile}: the schema does not compile: ${e.message}`);
  }
  for(const file of files) {
    const credential = readJson(file);
    if(!validate(credential)) {
      fail(`${file}: does not validate against ${schemaFile} (${schema.$id}):\n` +
        ajvErrors(validate.errors));
    }
    console.log(`schema OK ${file}: valid against ${schema.$id}`);
  }
}

// ---------------------------------------------------------------------------------------------

function parseIndices(flag, text) {
  if(text === undefined) {
    fail(`${flag} needs a comma-separated list of indices`);
  }
  return text.split(',').filter(s => s !== '').map(s => {
    if(!/^[0-9]+$/.test(s)) {
      fail(`${flag}: not a non-negative integer: ${JSON.stringify(s)}`);
    }
    return Number(s);
  });
}

async function cmdStatusList(args) {
  let file;
  const set = [];
  const clear = [];
  for(let i = 0; i < args.length; i++) {
    const a = args[i];
    if(a === '--set' || a === '--clear') {
      (a === '--set' ? set : clear).push(...parseIndices(a, args[++i]));
    } else if(a.startsWith('--set=') || a.startsWith('--clear=')) {
      const [flag, value] = a.split('=', 2);
      (flag === '--set' ? set : clear).push(...parseIndices(flag, value));
    } else if(a.startsWith('--')) {
      fail(`status-list: unknown option ${a}`);
    } else if(file === undefined) {
      file = a;
    } else {
      fail(`status-list: one FILE only (got ${file} and ${a})`);
    }
  }
  if(file === undefined) {
    fail('usage: node check.mjs status-list FILE [--set 3,17] [--clear 5,9]');
  }
  const vc = readJson(file);
  const types = [].concat(vc?.type ?? []);
  if(!types.includes('BitstringStatusListCredential')) {
    fail(`${file}: type ${JSON.stringify(vc?.type)} does not include BitstringStatusListCredential`);
  }
  const subject = vc.credentialSubject;
  if(subject === null || typeof subject !== 'object' || Array.isArray(subject)) {
    fail(`${file}: credentialSubject must be one object`);
  }
  if(subject.type !== 'BitstringStatusList') {
    fail(`${file}: credentialSubject.type is ${JSON.stringify(subject.type)}, ` +
      'expected "BitstringStatusList"');
  }
  const encodedList = subject.encodedList;
  if(typeof encodedList !== 'string' || !encodedList.startsWith('u')) {
    fail(`${file}: credentialSubject.encodedList must be a string starting with "u" (multibase base64url)`);
  }
  if(!/^u[A-Za-z0-9_-]*$/.test(encodedList)) {
    fail(`${file}: credentialSubject.encodedList is not base64url without padding`);
  }
  // The spec requires GZIP (RFC 1952); the library's pako would also accept zlib.
  const compressed = Buffer.from(encodedList.slice(1), 'base64url');
  if(compressed.length < 2 || compressed[0] !== 0x1f || compressed[1] !== 0x8b) {
    fail(`${file}: credentialSubject.encodedList is not GZIP data (no 1f 8b header)`);
  }
  let list;
  try {
    list = await decodeList({encodedList});
  } catch(e) {
    fail(`${file}: decodeList failed: ${e.message}`);
  }
  if(list.length < MIN_STATUS_LIST_BITS) {
    fail(`${file}: the list has ${list.length} bits, fewer than ${MIN_STATUS_LIST_BITS} ` +
      '(STATUS_LIST_LENGTH_ERROR)');
  }
  const wrong = [];
  for(const [indices, expected] of [[set, true], [clear, false]]) {
    for(const i of indices) {
      if(i >= list.length) {
        fail(`${file}: index ${i} is outside the list (${list.length} bits) (RANGE_ERROR)`);
      }
      const status = list.getStatus(i);
      if(status !== expected) {
        wrong.push(`index ${i} is ${status ? 'set' : 'clear'}, expected ${expected ? 'set' : 'clear'}`);
      }
    }
  }
  if(wrong.length) {
    fail(`${file}: ${wrong.join('; ')}`);
  }
  let total = 0;
  for(let i = 0; i < list.length; i++) {
    if(list.getStatus(i)) {
      total++;
    }
  }
  const purpose = JSON.stringify(subject.statusPurpose);
  console.log(`status-list OK ${file}: ${list.length} bits, purpose ${purpose}, ${total} set; ` +
    `set [${set.join(',')}] and clear [${clear.join(',')}] as expected`);
}

// ---------------------------------------------------------------------------------------------

function cmdOpenapi(args) {
  if(args.length !== 1) {
    fail('usage: node check.mjs openapi FILE');
  }
  const bin = path.join(HERE, 'node_modules', '.bin', 'redocly');
  const result = spawnSync(bin, ['lint', args[0]], {
    stdio: 'inherit',
    env: {
      ...process.env,
      // no telemetry and no update check: this checker never talks to the network
      REDOCLY_TELEMETRY: 'off',
      REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
      REDOCLY_SUPPRESS_NOTIFICATIONS: 'true'
    }
  });
  if(result.error) {
    fail(`openapi: cannot run ${bin}: ${result.error.message} (run npm ci in ${HERE})`);
  }
  if(result.status === null) {
    fail(`openapi: redocly was killed by ${result.signal}`);
  }
  return result.status;
}

// ---------------------------------------------------------------------------------------------

// OpenAPI 3.1's integer formats (and `binary`), which Ajv does not know: checked as ranges.
const OPENAPI_FORMATS = {
  int8: {type: 'number', validate: n => Number.isInteger(n) && n >= -128 && n <= 127},
  uint8: {type: 'number', validate: n => Number.isInteger(n) && n >= 0 && n <= 255},
  int16: {type: 'number', validate: n => Number.isInteger(n) && n >= -32768 && n <= 32767},
  uint16: {type: 'number', validate: n => Number.isInteger(n) && n >= 0 && n <= 65535},
  int32: {type: 'number', validate: n => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31},
  uint32: {type: 'number', validate: n => Number.isInteger(n) && n >= 0 && n < 2 ** 32},
  // JSON numbers past 2^53 lose precision in JavaScript: only integrality is checked.
  int64: {type: 'number', validate: n => Number.isInteger(n)},
  uint64: {type: 'number', validate: n => Number.isInteger(n) && n >= 0},
  int128: {type: 'number', validate: n => Number.isInteger(n)},
  uint128: {type: 'number', validate: n => Number.isInteger(n) && n >= 0},
  float: {type: 'number', validate: () => true},
  double: {type: 'number', validate: () => true},
  binary: {type: 'string', validate: () => true}
};

// Validates answers a server gave against the response schemas of its OpenAPI 3.1 document.
// ANSWERS_FILE: [{ "method": "get", "path": "/v1/blocks/{height}", "status": 200,
//                  "contentType": "application/json", "body": ... }, ...]
function cmdAnswers(args) {
  if(args.length !== 2) {
    fail('usage: node check.mjs answers OPENAPI_FILE ANSWERS_FILE');
  }
  const [docFile, answersFile] = args;
  const doc = readJson(docFile);
  const answers = readJson(answersFile);
  if(!Array.isArray(answers) || answers.length === 0) {
    fail(`${answersFile}: expected a non-empty list of answers`);
  }
  // The components become $defs of each response schema, so its $refs resolve in it.
  const defs = JSON.parse(JSON.stringify(doc.components?.schemas ?? {})
    .replaceAll('"#/components/schemas/', '"#/$defs/'));
  const ajv = new Ajv2020({strict: false, allErrors: true});
  addFormats(ajv);
  for(const [name, format] of Object.entries(OPENAPI_FORMATS)) {
    ajv.addFormat(name, format);
  }
  let checked = 0;
  for(const a of answers) {
    const where = `${a.method.toUpperCase()} ${a.path} → ${a.status}`;
    const response = doc.paths?.[a.path]?.[a.method]?.responses?.[String(a.status)];
    if(!response) {
      fail(`${where}: the document does not list this answer`);
    }
    const media = response.content?.[a.contentType];
    if(!media) {
      fail(`${where}: the document lists no ${a.contentType} body for it (it lists ` +
        `${JSON.stringify(Object.keys(response.content ?? {}))})`);
    }
    const schema = JSON.parse(JSON.stringify(media.schema ?? {})
      .replaceAll('"#/components/schemas/', '"#/$defs/'));
    const validate = ajv.compile({...schema, $defs: defs});
    if(!validate(a.body)) {
      fail(`${where}: the answer does not match the document's schema:\n` +
        ajvErrors(validate.errors));
    }
    checked++;
  }
  console.log(`answers OK ${answersFile}: ${checked} answers match ${docFile}`);
}

// ---------------------------------------------------------------------------------------------

const USAGE = `usage:
  node check.mjs expand FILE...
  node check.mjs schema SCHEMA_FILE CREDENTIAL_FILE...
  node check.mjs status-list FILE [--set 3,17] [--clear 5,9]
  node check.mjs openapi FILE
  node check.mjs answers OPENAPI_FILE ANSWERS_FILE`;

async function main(argv) {
  const [command, ...args] = argv;
  switch(command) {
    case 'expand':
      await cmdExpand(args);
      return 0;
    case 'schema':
      await cmdSchema(args);
      return 0;
    case 'status-list':
      await cmdStatusList(args);
      return 0;
    case 'openapi':
      return cmdOpenapi(args);
    case 'answers':
      cmdAnswers(args);
      return 0;
    default:
      console.error(USAGE);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch(e) {
  if(e instanceof CheckError) {
    console.error(`FAIL ${e.message}`);
  } else {
    console.error(`FAIL internal error: ${e.stack ?? e}`);
  }
  process.exitCode = 1;
}
