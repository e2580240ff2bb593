import {
  BadRequestException,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
  Sse,
  UseGuards,
  type CanActivate,
  type MessageEvent,
  type Type,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { UsageSummary } from '../../core/observability/usage-summary';
import { DashboardActionsGate } from './dashboard-actions.gate';
import type { DashboardAction, DashboardActionResult, DashboardEventsView, DashboardKeyView, DashboardStatusView } from './dashboard.interfaces';
import { DASHBOARD_PAGE, DASHBOARD_PAGE_CSP } from './dashboard.page';
import type { EndingResponse } from './dashboard.live';
import { LlmRotateDashboardService } from './dashboard.service';

/**
 * The read-only routes of a dashboard mounted at `path`: the page, its JSON and its event stream. A class is made
 * per registration (a controller's path is fixed when its class is decorated).
 */
export function createDashboardController(path: string): Type<unknown> {
  @Controller(path)
  class LlmRotateDashboardController {
    constructor(@Inject(LlmRotateDashboardService) private readonly dashboard: LlmRotateDashboardService) {}

    @Get()
    @Header('Content-Type', 'text/html; charset=utf-8')
    @Header('Content-Security-Policy', DASHBOARD_PAGE_CSP)
    @Header('Cache-Control', 'no-store')
    @Header('X-Content-Type-Options', 'nosniff')
    @Header('Referrer-Policy', 'no-referrer')
    page(): string {
      return DASHBOARD_PAGE;
    }

    @Get('status')
    @Header('Cache-Control', 'no-store')
    status(): Promise<DashboardStatusView> {
      return this.dashboard.status();
    }

    @Get('keys')
    @Header('Cache-Control', 'no-store')
    async keys(): Promise<{ generatedAt: string; keys: DashboardKeyView[] }> {
      const keys = await this.dashboard.keys();
      return { generatedAt: new Date().toISOString(), keys };
    }

    @Get('usage')
    @Header('Cache-Control', 'no-store')
    usage(): UsageSummary {
      return this.dashboard.usage();
    }

    @Get('events')
    @Header('Cache-Control', 'no-store')
    events(@Query('limit') limit?: string): DashboardEventsView {
      return this.dashboard.events(parseLimit(limit));
    }

    /** SSE: an event `state` (a {@link DashboardStateView}) at once, then on every change and every `refreshMs`. */
    @Sse('stream')
    stream(@Res({ passthrough: true }) res: unknown): Observable<MessageEvent> {
      return this.dashboard.stream(nodeResponse(res));
    }
  }
  return LlmRotateDashboardController;
}

/**
 * The operator actions of a dashboard mounted at `path`, behind {@link DashboardActionsGate} and the user's guard.
 * Registered only when a guard was given.
 */
export function createDashboardActionsController(path: string, guard: Type<CanActivate>): Type<unknown> {
  @Controller(path)
  @UseGuards(DashboardActionsGate, guard)
  class LlmRotateDashboardActionsController {
    constructor(@Inject(LlmRotateDashboardService) private readonly dashboard: LlmRotateDashboardService) {}

    /** Takes the key out of rotation for every worker (with Redis) until it is enabled again. */
    @Post('keys/:keyId/disable')
    @HttpCode(200)
    disable(@Param('keyId') keyId: string): Promise<DashboardActionResult> {
      return this.apply(keyId, 'disable');
    }

    /** Undoes an operator's disable (a key disabled in the configuration stays disabled). */
    @Post('keys/:keyId/enable')
    @HttpCode(200)
    enable(@Param('keyId') keyId: string): Promise<DashboardActionResult> {
      return this.apply(keyId, 'enable');
    }

    /** Clears a cooldown or quarantine and the failure count: the key is ACTIVE now. */
    @Post('keys/:keyId/reset')
    @HttpCode(200)
    reset(@Param('keyId') keyId: string): Promise<DashboardActionResult> {
      return this.apply(keyId, 'reset');
    }

    private async apply(keyId: string, action: DashboardAction): Promise<DashboardActionResult> {
      if (!(await this.dashboard.act(keyId, action))) throw new NotFoundException(`The pool has no key "${keyId}"`);
      const key = (await this.dashboard.keys()).find((k) => k.keyId === keyId);
      return { keyId, action, key };
    }
  }
  return LlmRotateDashboardActionsController;
}

function parseLimit(limit: string | undefined): number | undefined {
  if (limit === undefined || limit === '') return undefined;
  if (!/^\d+$/.test(limit) || Number(limit) < 1) throw new BadRequestException(`limit: must be a positive integer (got ${JSON.stringify(limit)})`);
  return Number(limit);
}

/** The Node response under Express' (itself one) or Fastify's reply (`.raw`). */
function nodeResponse(res: unknown): EndingResponse | undefined {
  const r = res as { raw?: unknown } | null;
  const candidate = (r !== null && typeof r === 'object' && typeof r.raw === 'object' ? r.raw : res) as Partial<EndingResponse> | null;
  return candidate !== null && typeof candidate === 'object' && typeof candidate.once === 'function' ? (candidate as EndingResponse) : undefined;
}
