import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../store/testing/backends.js';
import {
  type FixtureEvent,
  type FixtureTenant,
  fixtureEvents,
  loadUsage,
} from '../store/testing/usage-fixtures.js';
import { type AdminHarness, type SeededTenant, seedTenant, startAdmin } from './testing/admin-harness.js';

/** The RFC 4180 reading of a CSV body: fields, quotes doubled inside quoted fields, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field).toBe('');
  expect(row).toEqual([]);
  return rows;
}

interface Sums {
  requests: number;
  errors: number;
  input_tokens: number;
  output_tokens: number;
  cost_micros: number;
}

/** Sums folded in JavaScript from the events as generated. */
function sumOf(events: readonly FixtureEvent[], keep: (e: FixtureEvent) => boolean): Sums {
  const out: Sums = { requests: 0, errors: 0, input_tokens: 0, output_tokens: 0, cost_micros: 0 };
  for (const e of events) {
    if (!keep(e)) continue;
    out.requests += 1;
    out.errors += e.status === 'error' ? 1 : 0;
    out.input_tokens += e.inputTokens;
    out.output_tokens += e.outputTokens;
    out.cost_micros += e.costMicros;
  }
  return out;
}

const pickSums = (view: Record<string, unknown>): Sums => ({
  requests: view.requests as number,
  errors: view.errors as number,
  input_tokens: view.input_tokens as number,
  output_tokens: view.output_tokens as number,
  cost_micros: view.cost_micros as number,
});

const inRange = (from: string, to: string) => (e: FixtureEvent) =>
  e.occurredAt >= new Date(from) && e.occurredAt < new Date(to);

for (const backend of BACKENDS) {
  describe(`usage API on ${backend}`, () => {
    let h: AdminHarness;
    let acme: SeededTenant;
    let globex: SeededTenant;
    let acmeCredential: string;
    let events: FixtureEvent[];
    const START = new Date('2026-03-01T00:00:00Z');

    beforeAll(async () => {
      h = await startAdmin(backend);
      acme = await seedTenant(h, 'Acme');
      globex = await seedTenant(h, 'Globex');
      const saved = await h.call(
        { key: acme.admin.key },
        'PUT',
        `/api/v1/tenants/${acme.id}/credentials/openai`,
        {
          body: { apiKey: 'sk-acme-usage-canary-7781' },
        },
      );
      expect(saved.status).toBe(200);
      acmeCredential = saved.body.id;
      const acmeFixture: FixtureTenant = {
        id: acme.id,
        users: [acme.admin.id, acme.member.id],
        keys: [randomUUID(), randomUUID()],
        credentials: [acmeCredential, randomUUID()],
      };
      const globexFixture: FixtureTenant = {
        id: globex.id,
        users: [globex.admin.id, globex.member.id],
        keys: [randomUUID(), randomUUID()],
        credentials: [randomUUID(), randomUUID()],
      };
      // Recent events too, so credential listings (the last 30 days) have something to show.
      const recent = new Date(Date.now() - 3 * 86_400_000);
      events = [
        ...fixtureEvents(acmeFixture, { count: 600, start: START, days: 31, seed: 11 }),
        ...fixtureEvents(globexFixture, { count: 300, start: START, days: 31, seed: 12 }),
        ...fixtureEvents(acmeFixture, { count: 40, start: recent, days: 2, seed: 13 }),
      ];
      await loadUsage(h.database.db, events);
    });
    afterAll(() => h?.close());

    const isAcme = (e: FixtureEvent) => e.tenantId === acme.id;
    const isGlobex = (e: FixtureEvent) => e.tenantId === globex.id;

    describe('GET /api/v1/usage', () => {
      it("a tenant admin gets its tenant's usage grouped by model and day, totals equal to the events", async () => {
        const r = await h.call(
          { key: acme.admin.key },
          'GET',
          '/api/v1/usage?from=2026-03-01&to=2026-04-01&group_by=model,day',
        );
        expect(r.status).toBe(200);
        expect(r.body).toMatchObject({
          tenant_id: acme.id,
          from: '2026-03-01T00:00:00.000Z',
          to: '2026-04-01T00:00:00.000Z',
          group_by: ['model', 'day'],
        });
        const march = inRange('2026-03-01', '2026-04-01');
        expect(pickSums(r.body.totals)).toEqual(sumOf(events, (e) => isAcme(e) && march(e)));
        expect(r.body.totals.cost_usd).toBe(
          (sumOf(events, (e) => isAcme(e) && march(e)).cost_micros / 1e6).toFixed(6),
        );
        const group = r.body.groups.find(
          (g: { model: string; day: string }) => g.model === 'gpt-4o-mini' && g.day === '2026-03-05',
        );
        expect(pickSums(group)).toEqual(
          sumOf(
            events,
            (e) =>
              isAcme(e) && e.model === 'gpt-4o-mini' && e.occurredAt.toISOString().startsWith('2026-03-05'),
          ),
        );
        expect(Object.keys(group).sort()).toEqual(
          [
            'model',
            'day',
            'requests',
            'errors',
            'estimated_requests',
            'input_tokens',
            'output_tokens',
            'cached_input_tokens',
            'cache_write_input_tokens',
            'reasoning_tokens',
            'cost_micros',
            'cost_usd',
            'avg_latency_ms',
            'last_at',
          ].sort(),
        );
      });

      it('is exact for date-times that cut days in two (edges read from the events)', async () => {
        const from = '2026-03-03T07:30:00Z';
        const to = '2026-03-19T16:45:10.500Z';
        const r = await h.call(
          { key: acme.admin.key },
          'GET',
          `/api/v1/usage?from=${from}&to=${encodeURIComponent(to)}&group_by=provider`,
        );
        expect(r.status).toBe(200);
        expect(pickSums(r.body.totals)).toEqual(sumOf(events, (e) => isAcme(e) && inRange(from, to)(e)));
        for (const g of r.body.groups) {
          expect(pickSums(g)).toEqual(
            sumOf(events, (e) => isAcme(e) && inRange(from, to)(e) && e.provider === g.provider),
          );
        }
      });

      it('a member sees only their own usage, whatever user_id says', async () => {
        const url = '/api/v1/usage?from=2026-03-01&to=2026-04-01&group_by=user';
        const own = await h.call({ key: acme.member.key }, 'GET', url);
        expect(own.status).toBe(200);
        expect(own.body.groups.map((g: { user_id: string }) => g.user_id)).toEqual([acme.member.id]);
        expect(pickSums(own.body.totals)).toEqual(
          sumOf(
            events,
            (e) => isAcme(e) && e.userId === acme.member.id && inRange('2026-03-01', '2026-04-01')(e),
          ),
        );
        const other = await h.call({ key: acme.member.key }, 'GET', `${url}&user_id=${acme.admin.id}`);
        expect(other.status).toBe(404);
        expect(other.text).not.toContain('"requests"');
        expect(
          (await h.call({ key: acme.member.key }, 'GET', `${url}&user_id=${acme.member.id}`)).body,
        ).toEqual(own.body);
      });

      it('the operator sees every tenant, or one with tenant_id', async () => {
        const all = await h.call(
          'operator',
          'GET',
          '/api/v1/usage?from=2026-02-01&to=2026-05-01&group_by=tenant',
        );
        expect(all.status).toBe(200);
        expect(all.body.tenant_id).toBeNull();
        const byTenant = new Map(
          all.body.groups.map((g: { tenant_id: string }) => [g.tenant_id, pickSums(g)]),
        );
        const window = inRange('2026-02-01', '2026-05-01');
        expect(byTenant).toEqual(
          new Map([
            [acme.id, sumOf(events, (e) => isAcme(e) && window(e))],
            [globex.id, sumOf(events, (e) => isGlobex(e) && window(e))],
          ]),
        );
        const one = await h.call(
          'operator',
          'GET',
          `/api/v1/usage?from=2026-02-01&to=2026-05-01&tenant_id=${globex.id}&group_by=key_source`,
        );
        expect(one.body.tenant_id).toBe(globex.id);
        expect(pickSums(one.body.totals)).toEqual(sumOf(events, (e) => isGlobex(e) && window(e)));
        const missing = await h.call('operator', 'GET', `/api/v1/usage?tenant_id=${randomUUID()}`);
        expect(missing.status).toBe(404);
      });

      it('filters by credential: the usage of one stored key', async () => {
        const r = await h.call(
          { key: acme.admin.key },
          'GET',
          `/api/v1/usage?from=2026-03-01&to=2026-04-01&credential_id=${acmeCredential}&group_by=credential`,
        );
        expect(r.body.groups.map((g: { credential_id: string }) => g.credential_id)).toEqual([
          acmeCredential,
        ]);
        expect(pickSums(r.body.totals)).toEqual(
          sumOf(events, (e) => e.credentialId === acmeCredential && inRange('2026-03-01', '2026-04-01')(e)),
        );
      });
    });

    describe('GET /api/v1/metering/tenant/{id}', () => {
      it('answers totals, models by cost and every day of the period (end included)', async () => {
        const r = await h.call(
          { key: acme.admin.key },
          'GET',
          `/api/v1/metering/tenant/${acme.id}?start=2026-03-01&end=2026-03-31`,
        );
        expect(r.status).toBe(200);
        expect(r.body.tenant_id).toBe(acme.id);
        expect(r.body.period).toEqual({
          start: '2026-03-01',
          end: '2026-03-31',
          from: '2026-03-01T00:00:00.000Z',
          to: '2026-04-01T00:00:00.000Z',
        });
        expect(r.body.currency).toBe('USD');
        const march = (e: FixtureEvent) => isAcme(e) && inRange('2026-03-01', '2026-04-01')(e);
        expect(pickSums(r.body.totals)).toEqual(sumOf(events, march));
        expect(r.body.by_day).toHaveLength(31);
        expect(r.body.by_day[0].day).toBe('2026-03-01');
        expect(r.body.by_day[30].day).toBe('2026-03-31');
        for (const d of r.body.by_day) {
          expect(pickSums(d)).toEqual(
            sumOf(events, (e) => march(e) && e.occurredAt.toISOString().startsWith(d.day)),
          );
        }
        const costs = r.body.by_model.map((m: { cost_micros: number }) => m.cost_micros);
        expect(costs).toEqual([...costs].sort((a, b) => b - a));
        for (const m of r.body.by_model) {
          expect(pickSums(m)).toEqual(sumOf(events, (e) => march(e) && e.model === m.model));
          expect(m.cost_usd).toMatch(/^\d+\.\d{6}$/);
        }
      });

      it('a day without usage is listed with zeros', async () => {
        const r = await h.call(
          'operator',
          'GET',
          `/api/v1/metering/tenant/${acme.id}?start=2026-06-01&end=2026-06-02`,
        );
        expect(r.status).toBe(200);
        expect(
          r.body.by_day.map((d: { day: string; requests: number; cost_usd: string }) => [
            d.day,
            d.requests,
            d.cost_usd,
          ]),
        ).toEqual([
          ['2026-06-01', 0, '0.000000'],
          ['2026-06-02', 0, '0.000000'],
        ]);
        expect(r.body.by_model).toEqual([]);
        expect(r.body.totals.avg_latency_ms).toBeNull();
      });

      it('the operator reads any tenant; a tenant admin another tenant only as a 404, like a missing one', async () => {
        const url = (id: string) => `/api/v1/metering/tenant/${id}?start=2026-03-01&end=2026-03-31`;
        const operator = await h.call('operator', 'GET', url(globex.id));
        expect(operator.status).toBe(200);
        expect(pickSums(operator.body.totals)).toEqual(
          sumOf(events, (e) => isGlobex(e) && inRange('2026-03-01', '2026-04-01')(e)),
        );
        const foreign = await h.call({ key: acme.admin.key }, 'GET', url(globex.id));
        const missing = await h.call({ key: acme.admin.key }, 'GET', url(randomUUID()));
        expect(foreign.status).toBe(404);
        expect(missing.status).toBe(404);
        expect(foreign.body).toEqual(missing.body);
        expect((await h.call('operator', 'GET', url(randomUUID()))).status).toBe(404);
        expect((await h.call({ key: acme.member.key }, 'GET', url(acme.id))).status).toBe(403);
      });
    });

    describe('CSV export', () => {
      it('answers RFC 4180 CSV with a header row, for ?format=csv and for Accept: text/csv', async () => {
        const url = '/api/v1/usage?from=2026-03-01&to=2026-04-01&group_by=model';
        const byFormat = await h.app.inject({
          method: 'GET',
          url: `${url}&format=csv`,
          headers: { authorization: `Bearer ${acme.admin.key}` },
        });
        const byAccept = await h.app.inject({
          method: 'GET',
          url,
          headers: { authorization: `Bearer ${acme.admin.key}`, accept: 'text/csv' },
        });
        for (const response of [byFormat, byAccept]) {
          expect(response.statusCode).toBe(200);
          expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
          expect(response.headers['content-disposition']).toBe(
            'attachment; filename="usage-2026-03-01-2026-04-01.csv"',
          );
        }
        expect(byAccept.body).toBe(byFormat.body);
        expect(byFormat.body.endsWith('\r\n')).toBe(true);
        const [header, ...rows] = parseCsv(byFormat.body);
        expect(header).toEqual([
          'model',
          'requests',
          'errors',
          'estimated_requests',
          'input_tokens',
          'output_tokens',
          'cached_input_tokens',
          'cache_write_input_tokens',
          'reasoning_tokens',
          'cost_micros',
          'cost_usd',
          'avg_latency_ms',
          'last_at',
        ]);
        const json = await h.call({ key: acme.admin.key }, 'GET', url);
        expect(rows).toHaveLength(json.body.groups.length);
        for (const [i, row] of rows.entries()) {
          const g = json.body.groups[i];
          expect(row.slice(1, 3)).toEqual([String(g.requests), String(g.errors)]);
          expect(row[9]).toBe(String(g.cost_micros));
        }
        // A model name with a comma and quotes survives quoting; one that a spreadsheet would run as a
        // formula is defused with a leading apostrophe.
        expect(byFormat.body).toContain('"\'=HYPERLINK(""x"",""y""), v2"');
        expect(rows.map((r) => r[0])).toContain('\'=HYPERLINK("x","y"), v2');
        expect(rows.some((r) => r[0]!.startsWith('='))).toBe(false);
      });

      it('exports the metering report as one row per day and model', async () => {
        const response = await h.app.inject({
          method: 'GET',
          url: `/api/v1/metering/tenant/${acme.id}?start=2026-03-01&end=2026-03-31&format=csv`,
          headers: { authorization: `Bearer ${acme.admin.key}` },
        });
        expect(response.statusCode).toBe(200);
        expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
        const [header, ...rows] = parseCsv(response.body);
        expect(header!.slice(0, 5)).toEqual(['tenant_id', 'day', 'provider', 'model', 'requests']);
        const total = rows.reduce((sum, r) => sum + Number(r[4]), 0);
        const cost = rows.reduce((sum, r) => sum + Number(r[12]), 0);
        const march = (e: FixtureEvent) => isAcme(e) && inRange('2026-03-01', '2026-04-01')(e);
        expect(total).toBe(sumOf(events, march).requests);
        expect(cost).toBe(sumOf(events, march).cost_micros);
        expect(new Set(rows.map((r) => r[0]))).toEqual(new Set([acme.id]));
      });

      it('format=json wins over Accept: text/csv', async () => {
        const response = await h.app.inject({
          method: 'GET',
          url: '/api/v1/usage?format=json',
          headers: { authorization: `Bearer ${acme.admin.key}`, accept: 'text/csv' },
        });
        expect(response.headers['content-type']).toMatch(/^application\/json/);
      });
    });

    describe('tenant isolation', () => {
      it("a forged tenant_id never yields another tenant's data", async () => {
        const forged = await h.call(
          { key: acme.admin.key },
          'GET',
          `/api/v1/usage?from=2026-03-01&to=2026-04-01&tenant_id=${globex.id}&group_by=tenant`,
        );
        expect(forged.status).toBe(404);
        expect(forged.text).not.toContain(globex.id);
        const csv = await h.call(
          { key: acme.admin.key },
          'GET',
          `/api/v1/usage?from=2026-03-01&to=2026-04-01&tenant_id=${globex.id}&format=csv`,
        );
        expect(csv.status).toBe(404);
      });

      it('filters naming another tenant’s user or credential find nothing', async () => {
        const r = await h.call(
          { key: acme.admin.key },
          'GET',
          `/api/v1/usage?from=2026-03-01&to=2026-04-01&user_id=${globex.member.id}`,
        );
        expect(r.status).toBe(200);
        expect(r.body.totals.requests).toBe(0);
        expect(r.body.groups).toEqual([]);
      });

      it('the metering path and the tenant header cannot disagree', async () => {
        const r = await h.call({ key: acme.admin.key }, 'GET', `/api/v1/metering/tenant/${acme.id}`, {
          headers: { 'x-keyhold-tenant': globex.id },
        });
        expect(r.status).toBe(404);
      });
    });

    describe('bad input', () => {
      const bad = async (url: string, field: string, code = 'invalid_request') => {
        const r = await h.call({ key: acme.admin.key }, 'GET', url);
        expect(r.status, url).toBe(400);
        expect(r.body.error, url).toMatchObject({ code, field });
        expect(r.text).not.toMatch(/at .*\.ts:\d+/);
        return r;
      };

      it('refuses inverted, empty and too long ranges and malformed dates, naming the field', async () => {
        await bad('/api/v1/usage?from=2026-03-10&to=2026-03-01', 'to');
        await bad('/api/v1/usage?from=2026-03-10&to=2026-03-10', 'to');
        await bad('/api/v1/usage?from=2025-01-01&to=2026-03-01', 'to');
        await bad('/api/v1/usage?from=2026-02-30&to=2026-03-10', 'from');
        await bad('/api/v1/usage?from=yesterday', 'from');
        // A date-time without a zone is ambiguous.
        await bad('/api/v1/usage?from=2026-03-01T10:00:00&to=2026-03-02', 'from');
        await bad(`/api/v1/metering/tenant/${acme.id}?start=2026-03-31&end=2026-03-01`, 'end');
        await bad(`/api/v1/metering/tenant/${acme.id}?start=2026-13-01`, 'start');
        await bad(`/api/v1/metering/tenant/${acme.id}?start=2026-03-01T00:00:00Z`, 'start');
      });

      it('names an unknown group_by dimension, and an unknown query field', async () => {
        const r = await bad('/api/v1/usage?group_by=model,colour', 'group_by');
        expect(r.body.error.message).toContain('"colour"');
        await bad('/api/v1/usage?tenant=x', 'tenant', 'unknown_field');
        await bad(`/api/v1/metering/tenant/${acme.id}?group_by=day`, 'group_by', 'unknown_field');
        await bad('/api/v1/usage?user_id=not-a-uuid', 'user_id');
        await bad('/api/v1/usage?format=xml', 'format');
      });

      it('needs credentials', async () => {
        expect((await h.call('anonymous', 'GET', '/api/v1/usage')).status).toBe(401);
        expect((await h.call('anonymous', 'GET', `/api/v1/metering/tenant/${acme.id}`)).status).toBe(401);
      });
    });

    describe('credential listings', () => {
      it("show each credential's requests and cost over the last 30 days and its last request", async () => {
        const r = await h.call({ key: acme.admin.key }, 'GET', `/api/v1/tenants/${acme.id}/credentials`);
        expect(r.status).toBe(200);
        const listed = r.body.credentials.find((c: { id: string }) => c.id === acmeCredential);
        const since = Date.UTC(
          new Date().getUTCFullYear(),
          new Date().getUTCMonth(),
          new Date().getUTCDate() - 29,
        );
        const recent = events.filter(
          (e) => e.credentialId === acmeCredential && e.occurredAt.getTime() >= since,
        );
        expect(recent.length).toBeGreaterThan(0);
        const sums = sumOf(recent, () => true);
        expect(listed.usage).toEqual({
          window_days: 30,
          requests: sums.requests,
          errors: sums.errors,
          input_tokens: sums.input_tokens,
          output_tokens: sums.output_tokens,
          cost_micros: sums.cost_micros,
          last_request_at: new Date(Math.max(...recent.map((e) => e.occurredAt.getTime()))).toISOString(),
        });
        expect(r.text).not.toContain('sk-acme-usage-canary-7781');
      });

      it('show zeros for a credential without usage', async () => {
        await h.call({ key: globex.admin.key }, 'PUT', `/api/v1/tenants/${globex.id}/credentials/anthropic`, {
          body: { apiKey: 'sk-ant-globex-unused-0001' },
        });
        const r = await h.call({ key: globex.admin.key }, 'GET', `/api/v1/tenants/${globex.id}/credentials`);
        expect(r.body.credentials[0].usage).toEqual({
          window_days: 30,
          requests: 0,
          errors: 0,
          input_tokens: 0,
          output_tokens: 0,
          cost_micros: 0,
          last_request_at: null,
        });
      });
    });

    it('leaks no key into any response or log', () => {
      for (const text of [...h.seen, ...h.logs]) {
        expect(text).not.toContain('sk-acme-usage-canary-7781');
        expect(text).not.toContain('sk-ant-globex-unused-0001');
      }
    });
  });
}

describe('OpenAPI document', () => {
  it('lists the usage and metering routes with their CSV form', async () => {
    const h = await startAdmin('pglite');
    try {
      const doc = (await h.call('anonymous', 'GET', '/openapi.json')).body;
      const usage = doc.paths['/api/v1/usage'].get;
      const metering = doc.paths['/api/v1/metering/tenant/{tenant_id}'].get;
      expect(usage.operationId).toBe('queryUsage');
      expect(metering.operationId).toBe('getTenantMetering');
      for (const op of [usage, metering]) {
        expect(Object.keys(op.responses['200'].content)).toEqual(['application/json', 'text/csv']);
      }
      expect(usage.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['from', 'to', 'group_by', 'tenant_id', 'format']),
      );
      expect(metering.parameters.map((p: { name: string }) => p.name)).toEqual(
        expect.arrayContaining(['tenant_id', 'start', 'end', 'format']),
      );
      expect(
        doc.paths['/api/v1/tenants/{tenant_id}/credentials'].get.responses['200'].content['application/json']
          .schema.properties.credentials.items.properties.usage,
      ).toBeDefined();
    } finally {
      await h.close();
    }
  });
});
