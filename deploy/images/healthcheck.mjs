// The image's HEALTHCHECK: the service's admin port (TESSERA_METRICS_LISTEN) answers /readyz with
// 200. Node's own fetch, so the image needs no curl.
const listen = process.env.TESSERA_METRICS_LISTEN ?? '';
const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
try {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2_000) });
  process.exit(res.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
