/** Injection token of one dashboard's settings (validated, defaults applied). */
export const LLM_ROTATE_DASHBOARD_SETTINGS = Symbol('LLM_ROTATE_DASHBOARD_SETTINGS');
/** Injection token of what `registerAsync`'s factory returned (before validation). */
export const LLM_ROTATE_DASHBOARD_ASYNC_OPTIONS = Symbol('LLM_ROTATE_DASHBOARD_ASYNC_OPTIONS');

export const DASHBOARD_LOGGER_CONTEXT = 'LlmRotateDashboard';

export const DEFAULT_DASHBOARD_PATH = 'llm-rotate';
/** Usage events kept for the page and `GET <path>/events` (a ring buffer, allocated once). */
export const DEFAULT_RECENT_EVENTS = 200;
export const MAX_RECENT_EVENTS = 100_000;
/** How often live pages get the pool's state when nothing happens here (other workers' changes, cooldowns ending). */
export const DEFAULT_REFRESH_MS = 2_000;
export const MIN_REFRESH_MS = 250;
export const MAX_REFRESH_MS = 3_600_000;
/** The least time between two live updates, however many usage events arrive. */
export const LIVE_THROTTLE_MS = 250;
/** A live update is sent this long after a cooldown or quarantine runs out, so the page sees the key come back. */
export const EXPIRY_GRACE_MS = 30;
/** The most events a live frame carries (the page shows that many): a page never gets the whole of a big buffer. */
export const LIVE_EVENTS_MAX = 100;
