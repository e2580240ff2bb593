import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DashboardActionsGate } from './dashboard-actions.gate';
import { DEFAULT_DASHBOARD_PATH, LLM_ROTATE_DASHBOARD_ASYNC_OPTIONS, LLM_ROTATE_DASHBOARD_SETTINGS } from './dashboard.constants';
import { createDashboardActionsController, createDashboardController } from './dashboard.controller';
import type { LlmRotateDashboardAsyncOptions, LlmRotateDashboardOptions, LlmRotateDashboardRuntimeOptions } from './dashboard.interfaces';
import { checkAsyncOptions, normalizePath, settingsFromAsync, settingsFromRegister } from './dashboard.options';
import { LlmRotateDashboardService } from './dashboard.service';

const DASHBOARD_MODULE_ID = Symbol('LLM_ROTATE_DASHBOARD_MODULE_ID');

/**
 * A live dashboard of one key pool, mounted where the app says:
 *
 * ```ts
 * LlmRotateDashboardModule.register({ path: 'dashboard' })                       // read-only
 * LlmRotateDashboardModule.register({ path: 'ops/llm', pool: 'cheap',
 *   actions: { enabled: true, guard: AdminGuard } })                             // with operator actions
 * ```
 *
 * Routes under `path`: `GET /` the page, `GET status`, `GET keys`, `GET usage`, `GET events?limit=`, `GET stream`
 * (SSE), and with actions `POST keys/:keyId/disable|enable|reset`. Nothing exists, and nothing is subscribed or
 * allocated, unless the module is imported; the recent-events buffer lives from module init to module destroy.
 */
@Module({})
export class LlmRotateDashboardModule {
  static register(options: LlmRotateDashboardOptions = {}): DynamicModule {
    const { settings, guard } = settingsFromRegister(options);
    const controllers = [createDashboardController(settings.path)];
    if (guard !== undefined) controllers.push(createDashboardActionsController(settings.path, guard));
    return build(options.imports ?? [], controllers, [{ provide: LLM_ROTATE_DASHBOARD_SETTINGS, useValue: settings }]);
  }

  /**
   * `path`, `pool` and `actionsGuard` as they are (they shape the routes); the rest from `useFactory`:
   * `registerAsync({ imports: [ConfigModule], inject: [ConfigService], actionsGuard: AdminGuard,
   * useFactory: (c) => ({ actions: { enabled: c.get('LLM_DASHBOARD_ACTIONS') === 'true' } }) })`.
   */
  static registerAsync(options: LlmRotateDashboardAsyncOptions): DynamicModule {
    checkAsyncOptions(options);
    const path = options.path === undefined ? DEFAULT_DASHBOARD_PATH : normalizePath(options.path);
    const statics = { ...options, path };
    const controllers = [createDashboardController(path)];
    if (options.actionsGuard !== undefined) controllers.push(createDashboardActionsController(path, options.actionsGuard));
    const factory = options.useFactory as (...args: unknown[]) => LlmRotateDashboardRuntimeOptions | Promise<LlmRotateDashboardRuntimeOptions>;
    return build(options.imports ?? [], controllers, [
      { provide: LLM_ROTATE_DASHBOARD_ASYNC_OPTIONS, inject: options.inject ?? [], useFactory: factory },
      {
        provide: LLM_ROTATE_DASHBOARD_SETTINGS,
        inject: [LLM_ROTATE_DASHBOARD_ASYNC_OPTIONS],
        useFactory: (made: LlmRotateDashboardRuntimeOptions | undefined) => settingsFromAsync(statics, made),
      },
    ]);
  }
}

function build(imports: NonNullable<DynamicModule['imports']>, controllers: DynamicModule['controllers'], settings: Provider[]): DynamicModule {
  return {
    module: LlmRotateDashboardModule,
    imports,
    controllers,
    providers: [
      ...settings,
      LlmRotateDashboardService,
      DashboardActionsGate,
      // Two registrations with equal options are still two dashboards (Nest would otherwise merge them).
      { provide: DASHBOARD_MODULE_ID, useValue: randomUUID() },
    ],
    exports: [LlmRotateDashboardService],
  };
}
