import { Type } from '@sinclair/typebox';
import { parseAllowListEntry } from '../egress/allow-list.js';
import { loadAllowList, saveAllowList } from '../egress/allow-list-store.js';
import { badRequest } from './admin-error.js';
import { type AnyRouteSpec, defineRoute, OPERATOR } from './route-spec.js';
import { Strict } from './schema-helpers.js';

const AllowListView = Type.Object(
  {
    hosts: Type.Array(Type.String(), {
      description:
        'Host names (`vllm.internal`, `*.corp.example`), IP addresses or CIDR ranges that tenant endpoints may ' +
        'reach although they are private, loopback or link-local — and over plain http.',
    }),
  },
  { title: 'EgressAllowList' },
);

/** The operator's SSRF allow-list. */
export function egressRoutes(): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/api/v1/egress/allow-list',
      operationId: 'getEgressAllowList',
      summary: 'Read the egress allow-list',
      tag: 'Egress',
      roles: OPERATOR,
      status: 200,
      response: AllowListView,
      handler: async (ctx) => ({ hosts: await loadAllowList(ctx.deps.db) }),
    }),
    defineRoute({
      method: 'PUT',
      path: '/api/v1/egress/allow-list',
      operationId: 'setEgressAllowList',
      summary: 'Replace the egress allow-list',
      tag: 'Egress',
      roles: OPERATOR,
      body: Strict(
        { hosts: Type.Array(Type.String({ maxLength: 300 }), { maxItems: 1000 }) },
        { title: 'EgressAllowListInput' },
      ),
      status: 200,
      response: AllowListView,
      handler: async (ctx) => {
        const entries = ctx.body.hosts.map((raw, i) => {
          const parsed = parseAllowListEntry(raw);
          if (!parsed.ok) throw badRequest(`hosts.${i}`, parsed.message);
          return parsed.entry;
        });
        const unique = [...new Set(entries)].sort();
        await ctx.deps.db.transaction().execute(async (trx) => {
          await saveAllowList(trx, unique);
          await ctx.record(
            trx,
            { tenantId: null, action: 'egress.allow_list.set', details: { hosts: unique } },
            { kind: 'egress-allow-list' },
          );
        });
        ctx.deps.ssrf.setAllowList(unique);
        return { hosts: unique };
      },
    }),
  ];
}
