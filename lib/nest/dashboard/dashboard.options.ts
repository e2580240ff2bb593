import type { CanActivate, Type } from '@nestjs/common';
import { ConfigurationError } from '../../core/errors';
import {
  DEFAULT_DASHBOARD_PATH,
  DEFAULT_RECENT_EVENTS,
  DEFAULT_REFRESH_MS,
  MAX_RECENT_EVENTS,
  MAX_REFRESH_MS,
  MIN_REFRESH_MS,
} from './dashboard.constants';
import type { DashboardSettings, LlmRotateDashboardAsyncOptions, LlmRotateDashboardOptions, LlmRotateDashboardRuntimeOptions } from './dashboard.interfaces';

const REGISTER_KEYS = ['path', 'pool', 'actions', 'recentEvents', 'refreshMs', 'imports'];
const ASYNC_KEYS = ['path', 'pool', 'actionsGuard', 'imports', 'inject', 'useFactory'];
const RUNTIME_KEYS = ['actions', 'recentEvents', 'refreshMs'];
/** Path segments Express and Fastify both take literally (no parameters, wildcards or groups). */
const PATH_RE = /^[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/;

/** What `register()` is given, checked: every problem named by its option, then the settings and the guard. */
export function settingsFromRegister(input: LlmRotateDashboardOptions | undefined): { settings: DashboardSettings; guard: Type<CanActivate> | undefined } {
  const where = 'LlmRotateDashboardModule.register';
  const o = (input ?? {}) as Record<string, unknown>;
  const problems = [...unknownNames(o, REGISTER_KEYS), ...routeProblems(o), ...runtimeProblems(o)];
  const actions = o.actions as { enabled?: unknown; guard?: unknown } | undefined;
  if (actions !== undefined) {
    if (!isRecord(actions)) problems.push(`actions: must be an object { enabled, guard } (got ${show(actions)})`);
    else {
      problems.push(...unknownNames(actions, ['enabled', 'guard'], 'actions.'));
      if (typeof actions.enabled !== 'boolean') problems.push(`actions.enabled: must be true or false (got ${show(actions.enabled)})`);
      if (actions.guard !== undefined && typeof actions.guard !== 'function') problems.push(`actions.guard: must be a guard class (got ${show(actions.guard)})`);
      if (actions.enabled === true && actions.guard === undefined) {
        problems.push('actions.guard: required when actions are enabled (a guard class that decides who may disable, enable or reset keys)');
      }
    }
  }
  fail(where, problems);
  const enabled = actions?.enabled === true;
  return { settings: settings(o, enabled), guard: enabled ? (actions?.guard as Type<CanActivate>) : undefined };
}

/** The static part of `registerAsync()`, checked. */
export function checkAsyncOptions(input: LlmRotateDashboardAsyncOptions): void {
  const o = (input ?? {}) as unknown as Record<string, unknown>;
  const problems = [...unknownNames(o, ASYNC_KEYS), ...routeProblems(o)];
  if (typeof o.useFactory !== 'function') problems.push(`useFactory: must be a function returning the options (got ${show(o.useFactory)})`);
  if (o.actionsGuard !== undefined && typeof o.actionsGuard !== 'function') problems.push(`actionsGuard: must be a guard class (got ${show(o.actionsGuard)})`);
  if (o.inject !== undefined && !Array.isArray(o.inject)) problems.push(`inject: must be an array of tokens (got ${show(o.inject)})`);
  fail('LlmRotateDashboardModule.registerAsync', problems);
}

/** What `registerAsync()`'s factory returned, checked, with the static part. */
export function settingsFromAsync(input: LlmRotateDashboardAsyncOptions, made: LlmRotateDashboardRuntimeOptions | undefined): DashboardSettings {
  const o = (made ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (!isRecord(o)) problems.push(`useFactory: must return an object (got ${show(made)})`);
  else {
    problems.push(...unknownNames(o, RUNTIME_KEYS), ...runtimeProblems(o));
    const actions = o.actions;
    if (actions !== undefined) {
      if (!isRecord(actions)) problems.push(`actions: must be an object { enabled } (got ${show(actions)})`);
      else {
        problems.push(...unknownNames(actions, ['enabled'], 'actions.'));
        if (typeof actions.enabled !== 'boolean') problems.push(`actions.enabled: must be true or false (got ${show(actions.enabled)})`);
        if (actions.enabled === true && input.actionsGuard === undefined) {
          problems.push('actions.enabled: the actions need a guard: give registerAsync({ actionsGuard }) as well');
        }
      }
    }
  }
  fail('LlmRotateDashboardModule.registerAsync (from useFactory)', problems);
  const enabled = (o.actions as { enabled?: boolean } | undefined)?.enabled === true;
  return settings({ ...o, path: input.path, pool: input.pool }, enabled);
}

/** `path` as a controller path (no leading or trailing slash). */
export function normalizePath(path: unknown): string {
  return typeof path === 'string' ? path.trim().replace(/^\/+|\/+$/g, '') : DEFAULT_DASHBOARD_PATH;
}

function settings(o: Record<string, unknown>, actionsEnabled: boolean): DashboardSettings {
  return {
    path: o.path === undefined ? DEFAULT_DASHBOARD_PATH : normalizePath(o.path),
    pool: o.pool as string | undefined,
    actionsEnabled,
    recentEvents: (o.recentEvents as number | undefined) ?? DEFAULT_RECENT_EVENTS,
    refreshMs: (o.refreshMs as number | undefined) ?? DEFAULT_REFRESH_MS,
  };
}

function routeProblems(o: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (o.path !== undefined) {
    if (typeof o.path !== 'string') problems.push(`path: must be a string such as "llm-rotate" or "admin/llm" (got ${show(o.path)})`);
    else if (!PATH_RE.test(normalizePath(o.path))) {
      problems.push(`path: must be one or more segments of letters, digits, ".", "_", "~" or "-" separated by "/" (got ${show(o.path)})`);
    }
  }
  if (o.pool !== undefined && (typeof o.pool !== 'string' || o.pool.trim() === '')) problems.push(`pool: must be the name of a pool (got ${show(o.pool)})`);
  return problems;
}

function runtimeProblems(o: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const n = o.recentEvents;
  if (n !== undefined && !(Number.isInteger(n) && (n as number) >= 0 && (n as number) <= MAX_RECENT_EVENTS)) {
    problems.push(`recentEvents: must be an integer from 0 to ${MAX_RECENT_EVENTS} (got ${show(n)})`);
  }
  const r = o.refreshMs;
  if (r !== undefined && !(Number.isInteger(r) && (r as number) >= MIN_REFRESH_MS && (r as number) <= MAX_REFRESH_MS)) {
    problems.push(`refreshMs: must be an integer from ${MIN_REFRESH_MS} to ${MAX_REFRESH_MS} (got ${show(r)})`);
  }
  return problems;
}

function unknownNames(o: Record<string, unknown>, known: readonly string[], prefix = ''): string[] {
  return Object.keys(o)
    .filter((k) => !known.includes(k))
    .map((k) => `${prefix}${k}: unknown option (known: ${known.join(', ')})`);
}

function fail(where: string, problems: string[]): void {
  if (problems.length > 0) {
    throw new ConfigurationError(problems, `${where}: invalid options (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
