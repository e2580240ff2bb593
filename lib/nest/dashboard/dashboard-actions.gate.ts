import { ForbiddenException, Inject, Injectable, NotFoundException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { LLM_ROTATE_DASHBOARD_SETTINGS } from './dashboard.constants';
import type { DashboardSettings } from './dashboard.interfaces';

interface RequestLike {
  method?: string;
  url?: string;
  headers?: Record<string, string | string[] | undefined>;
}

/**
 * Runs before the user's guard on every operator action: answers 404 (as Nest does for a route it does not have)
 * while the actions are off, and refuses a request a browser marks as coming from another site (`Sec-Fetch-Site`),
 * so a page elsewhere cannot make a signed-in operator's browser disable keys.
 */
@Injectable()
export class DashboardActionsGate implements CanActivate {
  constructor(@Inject(LLM_ROTATE_DASHBOARD_SETTINGS) private readonly settings: DashboardSettings) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<RequestLike>();
    if (!this.settings.actionsEnabled) throw new NotFoundException(`Cannot ${req.method ?? 'POST'} ${req.url ?? ''}`);
    const site = req.headers?.['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') throw new ForbiddenException('Operator actions are only accepted from the dashboard itself (same origin)');
    return true;
  }
}
