/**
 * examples/service.ts end to end on loopback: JSON and binary batches on the
 * sync and async paths give exactly the layer's own output; bad requests get
 * a 4xx carrying the library's message; shutdown finishes requests in flight.
 */
import * as http from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as nk from '../../lib/index.js';
import { createService, trainDemoModel } from '../../examples/service.js';

let server: http.Server;
let service: ReturnType<typeof createService>;
let base: string;
let layer: nk.layers.Layer;
const FEATURES = 64;

function listen(s: http.Server): Promise<string> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as { port: number }).port}`)));
}

beforeAll(async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'normkit-service-')), 'bn.safetensors');
  trainDemoModel(file, FEATURES);
  layer = nk.layers.loadLayer(file);
  service = createService({ layer, onInternalError: () => {} });
  server = service.server;
  base = await listen(server);
});
afterAll(async () => {
  await service.shutdown(1000);
});

const post = (pathname: string, body: string | Uint8Array, headers: Record<string, string>) => fetch(base + pathname, { method: 'POST', headers, body });
const json = (v: unknown) => JSON.stringify(v);

describe('examples/service.ts', () => {
  const x = nk.randomNormal([5, FEATURES], { mean: 5, stddev: 2, seed: 3 });
  for (const pathname of ['/normalize', '/normalize?async=1']) {
    it(`normalizes JSON and binary float32 batches (${pathname})`, async () => {
      const want = layer.apply(x);
      const res = await post(pathname, json({ shape: x.shape, data: Array.from(x.data) }), { 'Content-Type': 'application/json' });
      expect(res.status).toBe(200);
      const out = (await res.json()) as { shape: number[]; data: number[] };
      expect(out.shape).toEqual([5, FEATURES]);
      expect(out.data).toEqual(Array.from(want.data));
      // Nested arrays without a shape work too.
      const nested = await post(pathname, json({ data: x.toArray() }), { 'Content-Type': 'application/json' });
      expect(((await nested.json()) as { data: number[] }).data).toEqual(Array.from(want.data));

      const bin = await post(pathname, new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength), { 'Content-Type': 'application/octet-stream', 'X-Shape': '5,64' });
      expect(bin.status).toBe(200);
      expect(bin.headers.get('x-shape')).toBe('5,64');
      expect(Array.from(new Float32Array(await bin.arrayBuffer()))).toEqual(Array.from(want.data));
    });
  }

  const bad: [string, string, string | Uint8Array, Record<string, string>, number, string, RegExp | string][] = [
    ['a different feature count', '/normalize', json({ shape: [2, 63], data: new Array(126).fill(1) }), { 'Content-Type': 'application/json' }, 400, 'ERR_NORMKIT_SHAPE_MISMATCH', 'BatchNormalization.apply: expected input of rank 2 with 64 channels on axis -1, got shape [2,63]'],
    ['a different feature count (async)', '/normalize?async=1', json({ shape: [2, 63], data: new Array(126).fill(1) }), { 'Content-Type': 'application/json' }, 400, 'ERR_NORMKIT_SHAPE_MISMATCH', 'BatchNormalization.applyAsync: expected input of rank 2 with 64 channels on axis -1, got shape [2,63]'],
    ['data not matching the shape', '/normalize', json({ shape: [2, 64], data: [1, 2, 3] }), { 'Content-Type': 'application/json' }, 400, 'ERR_NORMKIT_SHAPE_MISMATCH', 'tensor: expected 128 values for shape [2,64], got 3 values'],
    ['a string among the values', '/normalize', json({ data: [[1, 'x']] }), { 'Content-Type': 'application/json' }, 400, 'ERR_NORMKIT_INVALID_TYPE', 'tensor: expected numbers in the nested arrays, got "x"'],
    ['rank 1', '/normalize', json({ data: [1, 2, 3] }), { 'Content-Type': 'application/json' }, 400, 'ERR_NORMKIT_SHAPE_MISMATCH', 'BatchNormalization.apply: expected input of rank >= 2, got shape [3]'],
    ['a zero-size batch', '/normalize', json({ shape: [0, 64], data: [] }), { 'Content-Type': 'application/json' }, 400, 'ERR_NORMKIT_SHAPE_MISMATCH', 'BatchNormalization.apply: expected input without zero-size dimensions, got shape [0,64]'],
    ['invalid JSON', '/normalize', '{"shape": [1,', { 'Content-Type': 'application/json' }, 400, 'ERR_BAD_JSON', /^service: expected a JSON body, got invalid JSON/],
    ['JSON without data', '/normalize', json([1, 2]), { 'Content-Type': 'application/json' }, 400, 'ERR_BAD_BODY', 'service: expected a JSON object {"shape": [...], "data": [...]}, got an array'],
    ['binary without X-Shape', '/normalize', new Uint8Array(8), { 'Content-Type': 'application/octet-stream' }, 400, 'ERR_BAD_SHAPE_HEADER', 'service: expected header X-Shape as comma-separated non-negative integers (e.g. "32,16"), got none'],
    ['binary with a bad X-Shape', '/normalize', new Uint8Array(8), { 'Content-Type': 'application/octet-stream', 'X-Shape': '2,x' }, 400, 'ERR_BAD_SHAPE_HEADER', 'service: expected header X-Shape as comma-separated non-negative integers (e.g. "32,16"), got "2,x"'],
    ['binary of 7 bytes', '/normalize', new Uint8Array(7), { 'Content-Type': 'application/octet-stream', 'X-Shape': '1,2' }, 400, 'ERR_BAD_BODY', 'service: expected a body of float32 values (a multiple of 4 bytes), got 7 bytes'],
    ['binary not matching X-Shape', '/normalize', new Uint8Array(8), { 'Content-Type': 'application/octet-stream', 'X-Shape': '1,64' }, 400, 'ERR_NORMKIT_SHAPE_MISMATCH', 'tensor: expected 64 values for shape [1,64], got 2 values'],
    ['text/plain', '/normalize', 'hello', { 'Content-Type': 'text/plain' }, 415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'service: expected Content-Type application/json or application/octet-stream, got text/plain'],
    ['an unknown path', '/nope', '{}', { 'Content-Type': 'application/json' }, 404, 'ERR_NOT_FOUND', 'service: expected POST /normalize or GET /healthz, got POST /nope'],
  ];
  for (const [what, pathname, body, headers, status, code, message] of bad) {
    it(`answers ${status} ${code} to ${what}`, async () => {
      const res = await post(pathname, body, headers);
      expect(res.status).toBe(status);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe(code);
      if (typeof message === 'string') expect(error.message).toBe(message);
      else expect(error.message).toMatch(message);
    });
  }

  it('answers 405 to GET /normalize and reports health', async () => {
    expect((await fetch(`${base}/normalize`)).status).toBe(405);
    const health = (await (await fetch(`${base}/healthz`)).json()) as { status: string; weights: { shape: number[] }[] };
    expect(health.status).toBe('ok');
    expect(health.weights[0].shape).toEqual([FEATURES]);
  });

  it('shuts down gracefully: requests in flight are answered, then the port is closed', async () => {
    const svc = createService({ layer });
    const url = await listen(svc.server);
    // An idle keep-alive connection is ended too.
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const big = nk.randomNormal([65536, FEATURES], { seed: 4 });
    const pending = fetch(`${url}/normalize?async=1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'X-Shape': `65536,${FEATURES}` },
      body: new Uint8Array(big.data.buffer),
    });
    while (svc.inFlight === 0) await new Promise((r) => setTimeout(r, 1));
    const closed = svc.shutdown(5000);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(new Float32Array(await res.arrayBuffer())).toHaveLength(65536 * FEATURES);
    const t0 = performance.now();
    await closed;
    expect(performance.now() - t0, 'closed by itself, not by the 5 s timeout').toBeLessThan(4000);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
