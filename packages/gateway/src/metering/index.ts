export { UNPRICED_PROVIDERS } from './price-provider-ids.js';
export {
  type Cost,
  type CreatePriceTableOptions,
  createPriceTable,
  type PriceAt,
  type PriceLookup,
  type PriceOfOptions,
  type PriceOverride,
  type PriceSource,
  type PriceTable,
  type TokenPrices,
} from './price-table.js';
export { dollarsToMicros } from './to-micros.js';
export { type WorstCaseInput, worstCaseCost } from './worst-case-cost.js';
