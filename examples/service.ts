/**
 * A feature-normalization service on plain `node:http`: it loads a trained
 * BatchNormalization layer saved with `layer.saveWeights(path)` and applies it
 * (inference mode, the moving statistics) to batches posted to it.
 *
 *   npx tsx examples/service.ts --train-demo            # writes the demo model, then serves it
 *   npx tsx examples/service.ts --model bn.safetensors --port 8080
 *   npx tsx examples/service-client.ts                  # a few requests against it
 *
 * Endpoints:
 *   POST /normalize            JSON  {"shape":[4,16],"data":[...]} (data flat, row-major, or nested)
 *                              -> 200 {"shape":[4,16],"data":[...]}
 *   POST /normalize            application/octet-stream: float32 little-endian values, the shape in
 *                              the `X-Shape` header ("4,16") -> 200, same content type and header
 *   POST /normalize?async=1    the same on the libuv pool (`layer.applyAsync`): the event loop stays
 *                              free while a large batch is normalized
 *   GET  /healthz              {"status":"ok", "layer": {...config}, "weights": [{name, shape}, ...]}
 *
 * Bad input gets a 4xx with the library's own message, e.g.
 *   400 {"error":{"code":"ERR_NORMKIT_SHAPE_MISMATCH","message":"BatchNormalization.apply: expected input of rank 2 with 16 channels on axis -1, got shape [4,15]"}}
 * SIGINT/SIGTERM: stop accepting, finish the requests in flight, exit (forced after 10 s).
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nk from '../lib/index.js';

/** Largest request body accepted (413 beyond). */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

/** An error that becomes an HTTP response as is. */
class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** normkit's own errors carry a stable `code`: those are the client's fault (400). */
function isNormkitError(e: unknown): e is Error & { code: string } {
  const code = (e as { code?: unknown } | null)?.code;
  return (e instanceof TypeError || e instanceof RangeError) && typeof code === 'string' && code.startsWith('ERR_NORMKIT_');
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new HttpError(413, 'ERR_BODY_TOO_LARGE', `service: expected a body of at most ${MAX_BODY_BYTES} bytes, got Content-Length ${declared}`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'ERR_BODY_TOO_LARGE', `service: expected a body of at most ${MAX_BODY_BYTES} bytes, got more`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** `"4,16"` or `"[4,16]"` -> [4, 16]. */
function parseShapeHeader(value: string | string[] | undefined): number[] {
  const text = Array.isArray(value) ? value[0] : value;
  const shape = text === undefined ? [] : text.replace(/^\s*\[|\]\s*$/g, '').split(',').map((s) => Number(s.trim()));
  if (text === undefined || shape.length === 0 || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new HttpError(400, 'ERR_BAD_SHAPE_HEADER', `service: expected header X-Shape as comma-separated non-negative integers (e.g. "32,16"), got ${text === undefined ? 'none' : JSON.stringify(text)}`);
  }
  return shape;
}

/** The request body as a tensor (JSON or raw float32). */
function decode(req: http.IncomingMessage, body: Buffer): { x: nk.Tensor; binary: boolean } {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/octet-stream') {
    const shape = parseShapeHeader(req.headers['x-shape']);
    if (body.length % 4 !== 0) {
      throw new HttpError(400, 'ERR_BAD_BODY', `service: expected a body of float32 values (a multiple of 4 bytes), got ${body.length} bytes`);
    }
    // Copy into an aligned buffer: the body's bytes may sit at any offset of a pooled Buffer.
    const data = new Float32Array(body.length / 4);
    new Uint8Array(data.buffer).set(body);
    return { x: nk.tensor(data, shape), binary: true };
  }
  if (type === 'application/json' || type === '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, 'ERR_BAD_JSON', `service: expected a JSON body, got invalid JSON (${(e as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null || !('data' in parsed)) {
      throw new HttpError(400, 'ERR_BAD_BODY', 'service: expected a JSON object {"shape": [...], "data": [...]}, got ' + (Array.isArray(parsed) ? 'an array' : typeof parsed));
    }
    const { shape, data } = parsed as { shape?: unknown; data: unknown };
    if (shape !== undefined && !Array.isArray(shape)) {
      throw new HttpError(400, 'ERR_BAD_BODY', `service: expected "shape" as an array of integers, got ${JSON.stringify(shape)}`);
    }
    // nk.tensor checks the values and the shape and says what is wrong.
    return { x: nk.tensor(data as nk.NestedArray, shape as number[] | undefined), binary: false };
  }
  throw new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', `service: expected Content-Type application/json or application/octet-stream, got ${type}`);
}

function send(res: http.ServerResponse, status: number, body: string | Uint8Array, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function sendError(res: http.ServerResponse, status: number, code: string, message: string): void {
  send(res, status, JSON.stringify({ error: { code, message } }), { 'Content-Type': 'application/json' });
}

/** What the service needs from the loaded layer (any normkit layer works). */
export interface ServiceOptions {
  layer: nk.layers.Layer;
  /** Called for each 5xx (default: console.error). */
  onInternalError?: (e: unknown) => void;
}

/**
 * The HTTP server and a graceful `shutdown()` for it. Exported so tests and
 * other programs can embed it (`service.server.listen(...)`).
 */
export function createService({ layer, onInternalError = (e) => console.error('service: internal error', e) }: ServiceOptions) {
  let draining = false;
  const open = new Set<http.ServerResponse>();
  /** Requests in progress per connection: a connection with none is idle. */
  const active = new Map<net.Socket, number>();

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://service');
    if (url.pathname === '/healthz') {
      if (req.method !== 'GET') return sendError(res, 405, 'ERR_METHOD_NOT_ALLOWED', `service: expected GET /healthz, got ${req.method}`);
      return send(res, draining ? 503 : 200, JSON.stringify({ status: draining ? 'draining' : 'ok', layer: layer.getConfig(), weights: layer.variables.map((v) => ({ name: v.name, shape: v.shape })) }), { 'Content-Type': 'application/json' });
    }
    if (url.pathname !== '/normalize') return sendError(res, 404, 'ERR_NOT_FOUND', `service: expected POST /normalize or GET /healthz, got ${req.method} ${url.pathname}`);
    if (req.method !== 'POST') return sendError(res, 405, 'ERR_METHOD_NOT_ALLOWED', `service: expected POST /normalize, got ${req.method}`);
    const useAsync = url.searchParams.get('async') === '1';
    const body = await readBody(req);
    const { x, binary } = decode(req, body);
    const y = useAsync ? await layer.applyAsync(x) : layer.apply(x);
    const data = y.dtype === 'float32' ? (y.data as Float32Array) : Float32Array.from(y.data);
    if (binary) {
      return send(res, 200, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), { 'Content-Type': 'application/octet-stream', 'X-Shape': y.shape.join(',') });
    }
    return send(res, 200, JSON.stringify({ shape: y.shape, data: Array.from(data) }), { 'Content-Type': 'application/json' });
  }

  function listener(req: http.IncomingMessage, res: http.ServerResponse): void {
    const socket = req.socket;
    active.set(socket, (active.get(socket) ?? 0) + 1);
    open.add(res);
    if (draining) res.setHeader('Connection', 'close');
    res.on('close', () => {
      open.delete(res);
      const left = (active.get(socket) ?? 1) - 1;
      active.set(socket, left);
      // Draining: a keep-alive connection whose last response was sent is ended
      // gracefully (end() flushes what is still queued, then sends FIN).
      if (draining && left === 0) socket.end();
    });
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) sendError(res, e.status, e.code, e.message);
      else if (isNormkitError(e)) sendError(res, 400, e.code, e.message);
      else {
        onInternalError(e);
        if (!res.headersSent) sendError(res, 500, 'ERR_INTERNAL', 'service: internal error');
        else res.destroy();
      }
    });
  }

  const server = http.createServer({ keepAliveTimeout: 5_000 }, listener);
  server.on('connection', (socket: net.Socket) => {
    active.set(socket, 0);
    socket.on('close', () => active.delete(socket));
  });

  /**
   * Stops accepting connections, lets every request in flight finish (its
   * response says `Connection: close`), ends idle keep-alive connections, and
   * resolves when the server is closed (or after `timeoutMs`, closing what is left).
   */
  function shutdown(timeoutMs = 10_000): Promise<void> {
    draining = true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        server.closeAllConnections();
        resolve();
      }, timeoutMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const res of open) if (!res.headersSent) res.setHeader('Connection', 'close');
      for (const [socket, n] of active) if (n === 0) socket.end();
    });
  }

  return { server, shutdown, get inFlight() { return open.size; } };
}

/** The demo model: a BatchNormalization over 64 features trained on N(5, 2) data with per-feature offsets. */
export function trainDemoModel(file: string, features = 64): nk.layers.BatchNormalization {
  const net = new nk.layers.BatchNormalization({ momentum: 0.9, name: 'features_bn' });
  const x = nk.randomNormal([256, features], { mean: 5, stddev: 2, seed: 7 });
  const offsets = nk.tensor(Float32Array.from({ length: features }, (_, i) => i / 4), [features]);
  const batch = nk.add(x, offsets);
  for (let i = 0; i < 100; i++) net.apply(batch, { training: true });
  net.saveWeights(file);
  return net;
}

function parseArgs(argv: string[]) {
  const o = { model: path.join(os.tmpdir(), 'normkit-service-bn.safetensors'), port: 8080, host: '127.0.0.1', trainDemo: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model') o.model = argv[++i];
    else if (a === '--port') o.port = Number(argv[++i]);
    else if (a === '--host') o.host = argv[++i];
    else if (a === '--train-demo') o.trainDemo = true;
    else throw new Error(`service: unknown argument ${a} (--model PATH --port N --host ADDR --train-demo)`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new Error(`service: expected --port in [0, 65535], got ${o.port}`);
  return o;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.trainDemo) {
    trainDemoModel(o.model);
    console.log(`service: trained the demo model (64 features) into ${o.model}`);
  }
  const layer = nk.layers.loadLayer(o.model);
  const service = createService({ layer });
  const { server } = service;
  server.listen(o.port, o.host, () => {
    const addr = server.address() as { address: string; port: number };
    console.log(`service: ${layer.name} (${layer.variables[0]?.shape.join('x')} features) on http://${addr.address}:${addr.port} (backend ${nk.backendInfo().isa}, ${nk.backendInfo().threads} threads)`);
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`service: ${signal}, finishing ${service.inFlight} request(s) in flight`);
    void service.shutdown().then(() => {
      console.log('service: stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (typeof require !== 'undefined' && require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
