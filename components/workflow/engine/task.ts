/**
 * The HTTP Task in the shape of Step Functions' `arn:aws:states:::http:invoke`: the request it makes from its
 * Parameters, and the result (ResponseBody, StatusCode, StatusText, Headers) or error of the ordered response.
 * Pure.
 */
import { isObject, type Json, StatesError } from '../asl/json.js';
import type { CallOutcome, CallRequest } from './types.js';

/** The longest Cause kept from a failed response's body. */
const MAX_CAUSE_CHARS = 1000;

export function buildCallRequest(params: Json): CallRequest {
  if (!isObject(params)) throw new StatesError('States.Runtime', 'Task Parameters are not an object');
  const url = params.ApiEndpoint;
  const method = params.Method;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) {
    throw new StatesError('States.Runtime', 'ApiEndpoint is not an http(s) URL');
  }
  if (typeof method !== 'string') throw new StatesError('States.Runtime', 'Method is not a string');
  const headers: Record<string, string> = {};
  if (isObject(params.Headers)) {
    for (const [k, v] of Object.entries(params.Headers)) headers[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  let full = url;
  if (isObject(params.QueryParameters)) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params.QueryParameters))
      q.append(k, typeof v === 'string' ? v : JSON.stringify(v));
    full += (url.includes('?') ? '&' : '?') + q.toString();
  }
  const req: CallRequest = { method: method.toUpperCase(), url: full, headers };
  if (params.RequestBody !== undefined) {
    req.body = typeof params.RequestBody === 'string' ? params.RequestBody : JSON.stringify(params.RequestBody);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
      headers['Content-Type'] = typeof params.RequestBody === 'string' ? 'text/plain' : 'application/json';
    }
  }
  return req;
}

/** The Task's result, or the error it raises: a status of 400 or more is States.Http.StatusCode.<code>. */
export function taskResult(outcome: CallOutcome): { result: Json; error?: StatesError } {
  if (!outcome.ok) return { result: null, error: new StatesError(outcome.error, outcome.cause) };
  let body: Json = outcome.body;
  try {
    body = outcome.body === '' ? '' : (JSON.parse(outcome.body) as Json);
  } catch {
    // Not JSON: ResponseBody is the text, as Step Functions gives it.
  }
  const result: Json = {
    ResponseBody: body,
    StatusCode: outcome.status,
    StatusText: outcome.statusText,
    Headers: outcome.headers,
  };
  if (outcome.status >= 400) {
    return {
      result,
      error: new StatesError(`States.Http.StatusCode.${outcome.status}`, outcome.body.slice(0, MAX_CAUSE_CHARS)),
    };
  }
  return { result };
}
