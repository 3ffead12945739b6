// onnxruntime (npm onnxruntime-node) side of the benchmark: times ONNX models on request.
// Reads JSON lines {"load": name, "path": file.onnx, "shape": [...]} / {"run": name, "repeat": R}
// and answers one JSON line each. argv[2] = intra-op threads (inter-op 1, sequential execution).
const ort = require('onnxruntime-node');
const readline = require('readline');

const threads = Number(process.argv[2]);
const sessions = {};
const rl = readline.createInterface({ input: process.stdin });
const queue = [];
let busy = false;

async function handle(request) {
  if (request.load) {
    const session = await ort.InferenceSession.create(request.path, {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
      graphOptimizationLevel: 'all' });
    const size = request.shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: size }, () => Math.random() * 2 - 1);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, request.shape) };
    for (let i = 0; i < 3; ++i) await session.run(feeds);
    sessions[request.load] = { session, feeds };
    return { ok: true };
  }
  const { session, feeds } = sessions[request.run];
  const times = [];
  for (let i = 0; i < request.repeat; ++i) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { times_ms: times };
}

async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length) process.stdout.write(JSON.stringify(await handle(queue.shift())) + '\n');
  busy = false;
}

rl.on('line', (line) => { queue.push(JSON.parse(line)); drain(); });
