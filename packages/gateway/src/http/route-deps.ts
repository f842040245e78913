import type { Directory } from '../routing/directory.js';
import type { ModelCatalogue } from '../routing/model-catalogue.js';
import type { ProviderCaller } from '../routing/provider-caller.js';

/** What the API routes need; built once by `createGateway`. */
export interface RouteDeps {
  directory: Directory;
  catalogue: ModelCatalogue;
  caller: ProviderCaller;
}
