export { ADMIN_API_VERSION, adminRoutes, createAdminApi } from './admin-api.js';
export type { AdminChange, AdminDeps } from './admin-deps.js';
export { AdminError, ErrorBody } from './admin-error.js';
export { buildOpenApiDocument, TENANT_HEADER } from './openapi.js';
export type { Principal, Role } from './principal.js';
