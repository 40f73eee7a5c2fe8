// SDK conformance: what the official `openai` and `@anthropic-ai/sdk` clients report for
// each answer and fault a server under test produces, asserted case by case with
// node:test. The server is not this script's business: it gets a base URL and a cases
// file that says, per case, which path under the base URL serves the fault and what each
// SDK must report there (tests/sdk/fleet-cases.json for `failover fleet`). A second
// server under test (a gateway in front of the fleet) comes with its own cases file.
//
// Usage: node conformance.mjs CASES_JSON BASE_URL [--report OUT_JSON]
//   --report writes every observation (case, mode, what the SDK reported) as JSON: the
//   source of docs/fleet.md's table of what each SDK reports.
// TLS: trust the server's CA with NODE_EXTRA_CA_CERTS; verification is never turned off.
//
// Each case is called in each of its modes:
//   create  -- non-streamed: chat.completions.create / messages.create (.withResponse())
//   stream  -- streamed, raw iteration over the SDK's Stream of chunks / events
//   helper  -- the SDK's stream helper and its final result:
//              chat.completions.stream().finalChatCompletion() / messages.stream().finalMessage()
// and what the SDK reported is observed as
//   { outcome: "ok" | "error", error: class name, status, type (the error's type),
//     request_id, headers: {name: value} (rate-limit and retry headers only),
//     stop_reason, words (of the text received, before the error too), usage_output,
//     tool_calls ([{ name, arguments }] or null), elapsed_ms }
// A case's `params` (optional) are added to the request's parameters.
// An expectation names the members it checks; `request_id: true` means "a req_ id",
// `ratelimit: true` means the protocol's request and token rate-limit headers are present,
// `headers` gives exact values and `headers_present` names headers whose value varies.
import { readFileSync, writeFileSync } from 'node:fs';
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';

const [casesFile, baseUrl, ...rest] = process.argv.slice(2);
if (!casesFile || !baseUrl) {
  console.error('usage: node conformance.mjs CASES_JSON BASE_URL [--report OUT_JSON]');
  process.exit(2);
}
const reportAt = rest[0] === '--report' ? rest[1] : undefined;
const suite = JSON.parse(readFileSync(casesFile, 'utf8'));
const observations = [];
// The key the SDKs send: SDK_API_KEY when the server checks keys (the gateway), else a
// placeholder the fleet ignores.
const apiKey = (placeholder) => process.env.SDK_API_KEY || placeholder;

const RATE_LIMIT_HEADERS = {
  openai: [
    'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests',
    'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens',
  ],
  anthropic: [
    'anthropic-ratelimit-requests-limit', 'anthropic-ratelimit-requests-remaining',
    'anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-tokens-limit',
    'anthropic-ratelimit-tokens-remaining', 'anthropic-ratelimit-tokens-reset',
  ],
};
const KEPT_HEADERS = new Set([...RATE_LIMIT_HEADERS.openai, ...RATE_LIMIT_HEADERS.anthropic, 'retry-after',
  'retry-after-ms', 'x-request-id', 'request-id', 'x-failover-target', 'x-failover-attempts']);

function keptHeaders(headers) {
  const out = {};
  if (!headers || typeof headers.forEach !== 'function') return out;
  headers.forEach((value, name) => {
    if (KEPT_HEADERS.has(name)) out[name] = value;
  });
  return out;
}

// Tool calls as { name, arguments (parsed) } whatever the protocol; null when none.
function openAiToolCalls(calls) {
  if (!calls?.length) return null;
  return calls.map((c) => ({ name: c.function.name, arguments: JSON.parse(c.function.arguments) }));
}

function anthropicToolCalls(blocks) {
  const calls = (blocks ?? []).filter((b) => b?.type === 'tool_use');
  return calls.length ? calls.map((b) => ({ name: b.name, arguments: b.input })) : null;
}

function words(text) {
  const t = (text ?? '').trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

function errorObservation(err, partial) {
  return {
    outcome: 'error',
    words: words(partial.text),  // text a stream delivered before the error
    error: err?.constructor?.name ?? typeof err,
    status: err?.status ?? null,
    // OpenAI: err.type (or the stream's error body's type); Anthropic: err.type.
    type: err?.type ?? err?.error?.type ?? err?.error?.error?.type ?? null,
    request_id: err?.requestID ?? null,
    headers: keptHeaders(err?.headers),
    message: String(err?.message ?? err).slice(0, 200),
  };
}

async function callOpenAi(c, mode, partial) {
  const client = new OpenAI({ apiKey: apiKey('sk-unused'), baseURL: baseUrl + c.path, maxRetries: 0,
    timeout: c.timeout_ms ?? 5000 });
  const params = { model: c.model, max_tokens: c.max_tokens, messages: [{ role: 'user', content: 'hello' }],
    ...c.params };
  const obs = { outcome: 'ok', stop_reason: null, usage_output: null, request_id: null, headers: {} };
  if (mode === 'create') {
    const { data, response, request_id } = await client.chat.completions.create(params).withResponse();
    partial.text = data.choices[0].message.content;
    Object.assign(obs, { request_id, headers: keptHeaders(response.headers), stop_reason: data.choices[0].finish_reason,
      usage_output: data.usage?.completion_tokens ?? null });
    obs.tool_calls = openAiToolCalls(data.choices[0].message.tool_calls);
  } else if (mode === 'stream') {
    const { data: stream, response, request_id } = await client.chat.completions
      .create({ ...params, stream: true, stream_options: { include_usage: true } }).withResponse();
    Object.assign(obs, { request_id, headers: keptHeaders(response.headers) });
    const calls = [];
    for await (const chunk of stream) {
      if (chunk.usage) obs.usage_output = chunk.usage.completion_tokens;
      const choice = chunk.choices[0];
      if (!choice) continue;
      partial.text += choice.delta?.content ?? '';
      for (const call of choice.delta?.tool_calls ?? []) {
        calls[call.index] ??= { function: { name: '', arguments: '' } };
        if (call.function?.name) calls[call.index].function.name = call.function.name;
        calls[call.index].function.arguments += call.function?.arguments ?? '';
      }
      if (choice.finish_reason) obs.stop_reason = choice.finish_reason;
    }
    obs.tool_calls = openAiToolCalls(calls);
  } else {
    const runner = client.chat.completions.stream({ ...params, stream_options: { include_usage: true } });
    const completion = await runner.finalChatCompletion();
    partial.text = completion.choices[0]?.message?.content ?? '';
    Object.assign(obs, { stop_reason: completion.choices[0]?.finish_reason ?? null,
      usage_output: completion.usage?.completion_tokens ?? null });
    obs.tool_calls = openAiToolCalls(completion.choices[0]?.message?.tool_calls);
  }
  return obs;
}

async function callAnthropic(c, mode, partial) {
  const client = new Anthropic({ apiKey: apiKey('sk-ant-unused'), baseURL: baseUrl + c.path, maxRetries: 0,
    timeout: c.timeout_ms ?? 5000 });
  const params = { model: c.model, max_tokens: c.max_tokens, messages: [{ role: 'user', content: 'hello' }],
    ...c.params };
  const obs = { outcome: 'ok', stop_reason: null, usage_output: null, request_id: null, headers: {} };
  if (mode === 'create') {
    const { data, response, request_id } = await client.messages.create(params).withResponse();
    partial.text = data.content.map((b) => b.text ?? '').join('');
    Object.assign(obs, { request_id, headers: keptHeaders(response.headers), stop_reason: data.stop_reason,
      usage_output: data.usage?.output_tokens ?? null });
    obs.tool_calls = anthropicToolCalls(data.content);
  } else if (mode === 'stream') {
    const { data: stream, response, request_id } = await client.messages
      .create({ ...params, stream: true }).withResponse();
    Object.assign(obs, { request_id, headers: keptHeaders(response.headers) });
    const blocks = [];
    for await (const event of stream) {
      if (event.type === 'content_block_start') blocks[event.index] = { ...event.content_block, json: '' };
      if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta') {
        blocks[event.index].json += event.delta.partial_json;
      }
      if (event.type === 'content_block_stop' && blocks[event.index]?.type === 'tool_use') {
        blocks[event.index].input = JSON.parse(blocks[event.index].json || '{}');
      }
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') partial.text += event.delta.text;
      if (event.type === 'message_delta') {
        obs.stop_reason = event.delta.stop_reason;
        obs.usage_output = event.usage?.output_tokens ?? null;
      }
    }
    obs.tool_calls = anthropicToolCalls(blocks);
  } else {
    const stream = client.messages.stream(params);
    const message = await stream.finalMessage();
    partial.text = message.content.map((b) => b.text ?? '').join('');
    Object.assign(obs, { request_id: stream.request_id ?? null, stop_reason: message.stop_reason,
      usage_output: message.usage?.output_tokens ?? null });
    obs.tool_calls = anthropicToolCalls(message.content);
  }
  return obs;
}

async function observe(c, mode) {
  const started = Date.now();
  const partial = { text: '' };
  let obs;
  try {
    obs = c.protocol === 'anthropic' ? await callAnthropic(c, mode, partial) : await callOpenAi(c, mode, partial);
    obs.words = words(partial.text);
  } catch (err) {
    obs = errorObservation(err, partial);
  }
  obs.elapsed_ms = Date.now() - started;
  return obs;
}

function check(c, obs, expect) {
  const where = JSON.stringify(obs);
  for (const [key, want] of Object.entries(expect)) {
    if (key === 'request_id' && want === true) {
      assert.match(obs.request_id ?? '', /^req_[0-9a-zA-Z]+$/, `request_id: ${where}`);
    } else if (key === 'ratelimit') {
      const names = RATE_LIMIT_HEADERS[c.protocol];
      for (const name of names) {
        assert.equal(name in obs.headers, want, `${name} ${want ? 'missing' : 'present'}: ${where}`);
      }
    } else if (key === 'headers') {
      for (const [name, value] of Object.entries(want)) {
        assert.equal(obs.headers[name] ?? null, value, `header ${name}: ${where}`);
      }
    } else if (key === 'headers_present') {
      for (const name of want) assert.ok(name in obs.headers, `header ${name} missing: ${where}`);
    } else if (key === 'message_includes') {
      assert.ok((obs.message ?? '').includes(want), `message: ${where}`);
    } else if (key === 'elapsed_ms_below') {
      assert.ok(obs.elapsed_ms < want, `elapsed_ms: ${where}`);
    } else if (key === 'elapsed_ms_at_least') {
      assert.ok(obs.elapsed_ms >= want, `elapsed_ms: ${where}`);
    } else {
      assert.deepEqual(obs[key] ?? null, want, `${key}: ${where}`);
    }
  }
}

for (const c of suite.cases) {
  for (const [mode, override] of Object.entries(c.modes)) {
    const expect = { ...c.expect, ...override };
    test(`${suite.server}: ${c.name} [${c.protocol} ${mode}]`, async () => {
      const obs = await observe(c, mode);
      observations.push({ case: c.name, fault: c.fault, protocol: c.protocol, mode, observed: obs });
      check(c, obs, expect);
    });
  }
}

after(() => {
  if (reportAt) writeFileSync(reportAt, JSON.stringify({ server: suite.server, observations }, null, 2) + '\n');
});
