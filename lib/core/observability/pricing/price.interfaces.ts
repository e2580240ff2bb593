/** A model's list price in USD per million tokens. */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Input tokens read from the provider's prompt cache (default: the input price). */
  cachedInputPerMTok?: number;
}

/**
 * The `pricing` option: model id → price. A key `provider:model` (e.g. `bedrock:anthropic.claude-3-haiku-20240307-v1:0`)
 * prices one provider's model only. User entries override and extend the defaults.
 */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/** An estimated cost: USD, or 'unknown' when the model has no price (never a misleading 0). */
export type EstimatedCost = number | 'unknown';
