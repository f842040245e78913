import {
  AbortedError,
  isKeyholdError,
  type KeyholdError,
  ProviderUnavailableError,
  TimeoutError,
} from '../errors.js';
import type { AbortSignalLike } from '../transport/abort.js';
import type { TransportRequest, TransportResponse } from '../transport/transport.js';
import type { CallContext } from './adapter.js';
import { errorFromStatus, type UpstreamErrorInfo } from './http-errors.js';

/** Reads what an error body says (type, code, context-length), never keeping its text. */
export type ErrorBodyReader = (body: unknown, status: number) => UpstreamErrorInfo;

/**
 * Sends one upstream request and returns the response when it is a 2xx. Any other status becomes
 * a typed error (the body is read only to classify it), and transport failures become
 * `ProviderUnavailableError`, `TimeoutError` or `AbortedError`.
 */
export async function sendUpstream(
  provider: string,
  call: CallContext,
  request: Omit<TransportRequest, 'signal'>,
  readErrorBody: ErrorBodyReader,
): Promise<TransportResponse> {
  let response: TransportResponse;
  try {
    const sent: TransportRequest = {
      url: request.url,
      method: request.method,
      headers: mergeHeaders(call.headers, request.headers),
    };
    if (request.body !== undefined) sent.body = request.body;
    if (call.signal) sent.signal = call.signal;
    response = await call.transport.request(sent);
  } catch (error) {
    throw transportError(provider, error, call.signal);
  }
  if (response.status >= 200 && response.status < 300) return response;
  let info: UpstreamErrorInfo = {};
  try {
    const text = await response.text();
    info = readErrorBody(safeJson(text), response.status);
  } catch {
    // An unreadable error body still maps by status.
  }
  throw errorFromStatus(provider, response.status, response.headers, info);
}

/** Parses a 2xx JSON body; a body that is not JSON is the provider's fault. */
export async function readJson(
  provider: string,
  response: TransportResponse,
  signal?: AbortSignalLike,
): Promise<unknown> {
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw transportError(provider, error, signal);
  }
  const parsed = safeJson(text);
  if (parsed === undefined)
    throw new ProviderUnavailableError(`${provider} returned a body that is not JSON`, { provider });
  return parsed;
}

export function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Classifies a failure of the connection or body stream. Keeps the cause, drops its message. */
export function transportError(provider: string, error: unknown, signal?: AbortSignalLike): KeyholdError {
  if (isKeyholdError(error)) return error;
  if (signal?.aborted) return new AbortedError('The call was aborted', { provider });
  const code = (error as { code?: string } | undefined)?.code;
  if (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new TimeoutError(`${provider} did not answer in time`, { provider, providerCode: code });
  }
  return new ProviderUnavailableError(`Could not reach ${provider}${code ? ` (${code})` : ''}`, {
    provider,
    providerCode: code,
  });
}

/**
 * Caller headers go first and the adapter's win, compared case-insensitively, so a caller's
 * `X-Api-Key` can never ride along beside (or replace) the adapter's own authentication header.
 */
export function mergeHeaders(
  extra: Readonly<Record<string, string>> | undefined,
  own: Readonly<Record<string, string>>,
): Record<string, string> {
  // `own` is built fresh for each request by the adapter, so it can be handed on as it is.
  if (!extra) return own as Record<string, string>;
  const ownNames = new Set(Object.keys(own).map((n) => n.toLowerCase()));
  const merged: Record<string, string> = {};
  for (const [name, value] of Object.entries(extra)) {
    if (!ownNames.has(name.toLowerCase())) merged[name] = value;
  }
  return Object.assign(merged, own);
}

/** Joins a base URL and a path without doubling or losing slashes. */
export function joinUrl(base: string, path: string): string {
  const key = `${base}\n${path}`;
  let joined = joinedUrls.get(key);
  if (joined === undefined) {
    joined = `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
    // Bases come from engines and tenants' credentials: few, but bounded all the same.
    if (joinedUrls.size >= 1000) joinedUrls.clear();
    joinedUrls.set(key, joined);
  }
  return joined;
}

const joinedUrls = new Map<string, string>();
