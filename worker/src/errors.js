// Errors the worker answers with: a status, a stable machine-readable code and a message meant
// for the client. Anything else thrown is an internal error: the client gets a generic 500 with
// a request id, and the details go to the log only (never to the response).

/** An error the client caused or should know about; its message is safe to show. */
export class HttpError extends Error {
  /**
   * @param {number} status HTTP status (4xx, or 502/503 for origin and configuration trouble)
   * @param {string} code stable identifier, e.g. `body_too_large`
   * @param {string} message what went wrong and how to fix it
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A JSON response with no caching. */
export function json(body, status = 200, headers = {}) {
  return new Response(JSON.stringify(body, null, 2) + '\n', {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
  });
}

/** The response for anything thrown while handling a request. */
export function errorResponse(error) {
  if (error instanceof HttpError) {
    return json({ error: { code: error.code, message: error.message } }, error.status);
  }
  const id = crypto.randomUUID();
  console.error(`modelsieve-worker internal error ${id}:`, error?.stack ?? String(error));
  return json({ error: { code: 'internal', message: `internal error (request id ${id})` } }, 500);
}
