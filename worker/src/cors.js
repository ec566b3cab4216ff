// CORS, so that browser pages on other origins can call /scan (and read the verdict header).

/** Request headers a browser page may send. */
const ALLOW_HEADERS = 'Content-Type, X-Modelsieve-Token, X-Modelsieve-Policy, Authorization';
/** Response headers a browser page may read. */
const EXPOSE_HEADERS = 'X-Modelsieve-Verdict, X-Modelsieve-Failed';

/** The origin to allow: `CORS_ORIGIN` when set (one origin, or `*`), else `*`. */
function allowOrigin(config) {
  return config.corsOrigin ?? '*';
}

/** The answer to a preflight (OPTIONS) request. */
export function preflight(config) {
  return new Response(null, {
    status: 204,
    headers: {
      'Access-Control-Allow-Origin': allowOrigin(config),
      'Access-Control-Allow-Methods': 'GET, POST, PUT, OPTIONS',
      'Access-Control-Allow-Headers': ALLOW_HEADERS,
      'Access-Control-Max-Age': '86400',
      Vary: 'Origin',
    },
  });
}

/** `response` with the CORS headers added (a copy when its headers are immutable). */
export function withCors(response, config) {
  let out = response;
  try {
    out.headers.set('Access-Control-Allow-Origin', allowOrigin(config));
  } catch {
    // Headers of a fetched response are immutable: copy it.
    out = new Response(response.body, response);
    out.headers.set('Access-Control-Allow-Origin', allowOrigin(config));
  }
  out.headers.set('Access-Control-Expose-Headers', EXPOSE_HEADERS);
  out.headers.append('Vary', 'Origin');
  return out;
}
