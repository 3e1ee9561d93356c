// Client of the iocwatch HTTP API v1: JSON in and out, the session cookie,
// the CSRF header on state-changing requests, and one error type.

const BASE = '/api/v1';

let csrfToken = null;

/** Error returned by the API: HTTP status plus the `error` object of the body. */
export class ApiError extends Error {
  constructor(status, code, message, field, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field || null;
    this.retryAfter = retryAfter || null;
  }
}

/** Stores the CSRF token returned with the session. */
export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Builds a query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    search.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Encodes one path segment (a watchlist name, an allowlist value). */
export function segment(value) {
  return encodeURIComponent(value);
}

/**
 * Sends a request to `BASE + path`. `body` is sent as JSON unless it is a
 * Blob or File, which is sent as it is. Resolves to the parsed JSON body,
 * or null for an empty one; rejects with ApiError.
 */
export async function request(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) {
    headers['X-CSRF-Token'] = csrfToken;
  }
  if (body instanceof Blob) {
    init.body = body;
    headers['Content-Type'] = body.type || 'application/octet-stream';
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }

  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (cause) {
    throw new ApiError(0, 'network_error', `The iocwatch service did not respond (${cause.message}); check that it is running.`);
  }

  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return data;

  const error = data && data.error ? data.error : {};
  const apiError = new ApiError(
    response.status,
    error.code || `http_${response.status}`,
    error.message || `The request failed with HTTP status ${response.status}.`,
    error.field,
    response.headers.get('Retry-After'),
  );
  if (response.status === 401 && path !== '/session') {
    window.dispatchEvent(new CustomEvent('iocwatch:unauthorized'));
  }
  throw apiError;
}

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body === undefined ? {} : body);
export const patch = (path, body) => request('PATCH', path, body);
export const del = (path, body) => request('DELETE', path, body);
