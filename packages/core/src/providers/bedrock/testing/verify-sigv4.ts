import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { RecordedRequest } from '../../../../test/support/upstream-server.js';

/**
 * An independent SigV4 check, the server's side of the protocol written from the AWS
 * specification with node:crypto (not with the library the adapter signs with), so that a bug in
 * how the adapter drives the signer cannot be mirrored here.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
export type SigV4Verdict =
  | { ok: true; accessKeyId: string; region: string; sessionToken: string | undefined }
  | {
      ok: false;
      errorType: 'IncompleteSignatureException' | 'UnrecognizedClientException' | 'InvalidSignatureException';
      /** What AWS would echo: the canonical request it expected (it contains the session token). */
      canonicalRequest?: string;
    };

const AUTH =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function uriEncode(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function header(request: RecordedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export function verifySigV4(
  request: RecordedRequest,
  secretFor: (accessKeyId: string) => string | undefined,
  expected: { service: string },
): SigV4Verdict {
  const authorization = header(request, 'authorization') ?? '';
  const match = AUTH.exec(authorization);
  const amzDate = header(request, 'x-amz-date');
  if (!match || !amzDate) return { ok: false, errorType: 'IncompleteSignatureException' };
  const [, accessKeyId, date, region, service, signedHeaderList, signature] = match as unknown as string[];
  const signedHeaders = signedHeaderList!.split(';');
  const sessionToken = header(request, 'x-amz-security-token');
  if (
    service !== expected.service ||
    !amzDate.startsWith(date!) ||
    !signedHeaders.includes('host') ||
    !signedHeaders.includes('x-amz-date') ||
    (sessionToken !== undefined && !signedHeaders.includes('x-amz-security-token'))
  ) {
    return { ok: false, errorType: 'IncompleteSignatureException' };
  }
  const secret = secretFor(accessKeyId!);
  if (secret === undefined) return { ok: false, errorType: 'UnrecognizedClientException' };

  // Non-S3 services encode every segment of the path as received once more.
  const rawPath = request.url.split('?')[0]!;
  const canonicalUri = rawPath
    .split('/')
    .map((segment) => uriEncode(segment))
    .join('/');
  const canonicalHeaders = signedHeaders
    .map((name) => `${name}:${(header(request, name) ?? '').trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = createHash('sha256').update(request.rawBody).digest('hex');
  const declaredHash = header(request, 'x-amz-content-sha256');
  const canonicalRequest = [
    request.method,
    canonicalUri,
    '',
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  let key: Buffer = createHmac('sha256', `AWS4${secret}`).update(date!).digest();
  for (const part of [region!, service!, 'aws4_request'])
    key = createHmac('sha256', key).update(part).digest();
  const expectedSignature = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(signature!, 'hex');
  const valid =
    given.length === expectedSignature.length &&
    timingSafeEqual(given, expectedSignature) &&
    (declaredHash === undefined || declaredHash === payloadHash);
  if (!valid) return { ok: false, errorType: 'InvalidSignatureException', canonicalRequest };
  return { ok: true, accessKeyId: accessKeyId!, region: region!, sessionToken };
}
