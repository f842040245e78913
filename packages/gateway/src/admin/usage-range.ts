import { badRequest } from './admin-error.js';

/** The longest range one usage query may cover. */
export const MAX_RANGE_DAYS = 366;

const DAY_MS = 86_400_000;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
// RFC 3339: a date, a time, optional fraction, and a zone (Z or ±hh:mm). No zone is ambiguous.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** A UTC day `YYYY-MM-DD` as its midnight; a 400 naming `field` when it is not a real date. */
export function parseDay(value: string, field: string): Date {
  const match = DAY.exec(value);
  const date = match
    ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])))
    : undefined;
  // Date.UTC rolls 2026-02-30 over to March: a real date prints back as itself.
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
    throw badRequest(field, `"${field}" must be a date as YYYY-MM-DD`);
  }
  return date;
}

/** A UTC day (its midnight) or an RFC 3339 date-time with a zone. */
export function parseInstant(value: string, field: string): Date {
  if (DAY.test(value)) return parseDay(value, field);
  const date = DATE_TIME.test(value) ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) {
    throw badRequest(field, `"${field}" must be a date (YYYY-MM-DD) or a date-time with a zone (RFC 3339)`);
  }
  return date;
}

/** Refuses an empty, inverted or too long range, naming the field to change. */
export function checkRange(from: Date, to: Date, fields: { from: string; to: string }): void {
  if (!(from.getTime() < to.getTime())) {
    throw badRequest(fields.to, `"${fields.to}" must be after "${fields.from}"`);
  }
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
    throw badRequest(fields.to, `A range covers at most ${MAX_RANGE_DAYS} days`);
  }
}

/** Midnight UTC of the first day of the month containing `at`. */
export const startOfMonth = (at: Date): Date => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));

/** Midnight UTC of the day containing `at`. */
export const startOfDay = (at: Date): Date => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

/** Every UTC day `YYYY-MM-DD` in `[from, to)`; both at midnight UTC. */
export function daysBetween(from: Date, to: Date): string[] {
  const out: string[] = [];
  for (let t = from.getTime(); t < to.getTime(); t += DAY_MS)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export const addDays = (date: Date, days: number): Date => new Date(date.getTime() + days * DAY_MS);
