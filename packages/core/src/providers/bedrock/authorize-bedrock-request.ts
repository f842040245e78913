import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { AuthenticationError } from '../../errors.js';
import type { Credential } from '../../keys/credential.js';

/** A request ready to go out, before authentication. */
export interface UnsignedBedrockRequest {
  url: string;
  headers: Record<string, string>;
  /** The exact bytes that will be sent: a SigV4 signature covers their hash. */
  body: Uint8Array;
}

/**
 * Adds authentication headers to one Bedrock request, from the credential of this call only.
 *
 * - A Bedrock API key (`secrets.apiKey`) goes as `Authorization: Bearer <key>`; it wins when a
 *   credential also holds an access key pair, as in the AWS SDKs.
 *   https://docs.aws.amazon.com/bedrock/latest/userguide/api-keys-use.html
 * - Otherwise the request is signed with SigV4 (service `bedrock`, the credential's region), the
 *   session token, if any, going as `x-amz-security-token`.
 *
 * SigV4 and the model id: the URL path carries the model id percent-encoded once
 * (`…-v1%3A0`). AWS services other than S3 canonicalise a path by encoding each segment again,
 * so the signature is computed over `…-v1%253A0`. `SignatureV4` does exactly that when given the
 * already-encoded path with its default `uriEscapePath: true`, which is how the AWS SDK signs the
 * same URL. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 *
 * The signer is built per call and dropped afterwards; nothing of the credential outlives it here.
 */
export async function authorizeBedrockRequest(
  provider: string,
  credential: Credential,
  request: UnsignedBedrockRequest,
  signingDate: Date = new Date(),
): Promise<Record<string, string>> {
  const { apiKey, accessKeyId, secretAccessKey, sessionToken } = credential.secrets;
  if (apiKey) {
    // Not `{ ...request.headers, authorization }` (packages/gateway/test/hot-path-literals.test.ts).
    const headers: Record<string, string> = { authorization: '', ...request.headers };
    headers.authorization = `Bearer ${apiKey.reveal()}`;
    return headers;
  }
  if (!accessKeyId || !secretAccessKey) {
    throw new AuthenticationError(
      `The credential for provider "${provider}" needs an API key or an access key pair`,
      { provider },
    );
  }
  const region = credential.fields.region;
  if (!region) {
    throw new AuthenticationError(`The credential for provider "${provider}" has a missing field "region"`, {
      provider,
    });
  }
  const url = new URL(request.url);
  const signer = new SignatureV4({
    service: 'bedrock',
    region,
    credentials: {
      accessKeyId: accessKeyId.reveal(),
      secretAccessKey: secretAccessKey.reveal(),
      ...(sessionToken ? { sessionToken: sessionToken.reveal() } : {}),
    },
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: {},
      // The transport sends `Host` from the URL; it is signed here with the same value.
      headers: { ...request.headers, host: url.host },
      body: request.body,
    },
    { signingDate },
  );
  const { host: _host, ...headers } = signed.headers;
  return headers;
}
