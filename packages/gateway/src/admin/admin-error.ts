import { type Static, Type } from '@sinclair/typebox';

/** The error body of every admin API response that is not a success. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable snake_case code, e.g. `not_found`, `invalid_request`.' }),
      message: Type.String(),
      field: Type.Optional(
        Type.String({ description: 'The request field at fault (body, query, path or header).' }),
      ),
    }),
  },
  { title: 'Error' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/**
 * A refusal of the admin API: a status, a stable code, Keyhold's own message (never a copy of
 * anything secret) and the field at fault. Thrown by handlers, rendered by the plugin.
 */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }

  toBody(): ErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.field === undefined ? {} : { field: this.field }),
      },
    };
  }
}

/** The one "not found" every missing or foreign object answers with, whatever its tenant. */
export const notFound = (what: string): AdminError => new AdminError(404, 'not_found', `No such ${what}`);

export const badRequest = (field: string, message: string): AdminError =>
  new AdminError(400, 'invalid_request', message, field);

export const forbidden = (message = 'Your role may not do this'): AdminError =>
  new AdminError(403, 'forbidden', message);
