/**
 * A client for examples/service.ts: sends the same batch as JSON and as
 * binary float32, on the sync and the async path, then one bad request, and
 * prints what came back.
 *
 *   npx tsx examples/service.ts --train-demo &     # in another terminal
 *   npx tsx examples/service-client.ts [--url http://127.0.0.1:8080]
 */
import * as nk from '../lib/index.js';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--url');
  const base = i >= 0 ? process.argv[i + 1] : 'http://127.0.0.1:8080';
  const health = (await (await fetch(`${base}/healthz`)).json()) as { weights: { shape: number[] }[] };
  const features = health.weights[0].shape[0];
  const x = nk.randomNormal([4, features], { mean: 5, stddev: 2, seed: 1 });

  for (const path of ['/normalize', '/normalize?async=1']) {
    const res = await fetch(base + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ shape: x.shape, data: Array.from(x.data) }),
    });
    const out = (await res.json()) as { shape: number[]; data: number[] };
    console.log(`JSON   ${path}: ${res.status}, shape [${out.shape}], first values ${out.data.slice(0, 4).map((v) => v.toFixed(4)).join(', ')}`);

    const bin = await fetch(base + path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'X-Shape': x.shape.join(',') },
      body: new Uint8Array(x.data.buffer, x.data.byteOffset, x.data.byteLength),
    });
    const y = new Float32Array(await bin.arrayBuffer());
    console.log(`binary ${path}: ${bin.status}, X-Shape ${bin.headers.get('x-shape')}, first values ${Array.from(y.subarray(0, 4), (v) => v.toFixed(4)).join(', ')}`);
  }

  const bad = await fetch(`${base}/normalize`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ shape: [2, features - 1], data: new Array(2 * (features - 1)).fill(0) }),
  });
  console.log(`bad request: ${bad.status} ${await bad.text()}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
