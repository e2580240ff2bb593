import 'reflect-metadata';
import { Exclude, Type } from 'class-transformer';
import {
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { PROVIDERS, type ProviderName } from '../types';
import { MAX_COUNT, MAX_DURATION_SECONDS, MAX_TIMER_MS, PRIORITY_LIMIT, WEIGHT_LIMIT } from './bounds';
import { STRATEGIES, type StrategyName } from './options.interfaces';

/**
 * class-validator schemas of {@link LlmRotateOptions}: validated once at start-up and on every reload. Every number
 * has a documented range (./bounds.ts); cross-field rules (cooldown ≤ maxCooldownSeconds, headers, URL credentials,
 * duplicates) are checked in validate.ts.
 */


const URL_OPTS = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };
const providerList = PROVIDERS.join(', ');

export class KeyDto {
  @IsString() @IsNotEmpty() keyId!: string;
  @IsIn(PROVIDERS as unknown as string[], { message: `$property must be one of ${providerList}` }) provider!: ProviderName;
  /** The scheme is checked in validateOptions (built-in, or one of `secretResolvers`). */
  @IsString()
  @Matches(/^[a-z][a-z0-9+.-]*:\/\/./, { message: 'secretRef must be env://NAME, file:///path, literal://value or <scheme>://… of a secretResolvers entry' })
  secretRef!: string;
  @IsOptional() @IsArray() @IsString({ each: true }) models?: string[];
  @IsOptional() @IsNumber() @Min(-PRIORITY_LIMIT) @Max(PRIORITY_LIMIT) priority?: number;
  @IsOptional() @IsNumber() @Min(0) @Max(WEIGHT_LIMIT) weight?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_COUNT) maxConcurrent?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_COUNT) rateLimitRpm?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_COUNT) rateLimitTpm?: number;
  @IsOptional() @IsBoolean() enabled?: boolean;
  @IsOptional() @IsArray() @IsString({ each: true }) regions?: string[];
  @IsOptional() @IsArray() @IsString({ each: true }) tags?: string[];
  @IsOptional() @IsUrl(URL_OPTS) baseUrl?: string;
  @IsOptional() @IsObject() metadata?: Record<string, unknown>;
}

export class ProviderDto {
  @IsOptional() @IsNumber() @Min(0) @Max(MAX_DURATION_SECONDS) cooldownSeconds?: number;
  @IsOptional() @IsNumber() @Min(0) @Max(MAX_DURATION_SECONDS) quarantineSeconds?: number;
  @IsOptional() @IsNumber() @Min(1) @Max(MAX_DURATION_SECONDS) maxCooldownSeconds?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_COUNT) maxConsecutiveFailures?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) timeoutMs?: number;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) firstTokenTimeoutMs?: number;
  // At least 1 KiB: an error body is cut there at the earliest, beyond the 500 characters a message keeps.
  @IsOptional() @IsInt() @Min(1024) @Max(MAX_TIMER_MS) maxEventBytes?: number;
  @IsOptional() @IsInt() @Min(1024) @Max(MAX_TIMER_MS) maxResponseBytes?: number;
  @IsOptional() @IsUrl(URL_OPTS) baseUrl?: string;
  @IsOptional() @IsObject() headers?: Record<string, string>;
  @IsOptional() @IsString() apiVersion?: string;
  @IsOptional() @IsObject() deployments?: Record<string, string>;
  @IsOptional() @IsString() project?: string;
  @IsOptional() @IsString() location?: string;
  @IsOptional() @IsString() region?: string;
  @IsOptional() @IsString() anthropicVersion?: string;
}

export class StateStoreDto {
  @IsIn(['memory', 'redis'], { message: '$property must be one of memory, redis' }) backend!: 'memory' | 'redis';
  @IsOptional() @IsString() @Matches(/^rediss?:\/\//, { message: 'redisUrl must start with redis:// or rediss://' }) redisUrl?: string;
  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9_.:-]+$/, { message: 'redisNamespace may hold letters, digits and _ . : - only' })
  redisNamespace?: string;
  /**
   * A user's ioredis client: never copied by class-transformer (it would try to rebuild the client's internals);
   * the store checks its shape instead.
   */
  @Exclude({ toClassOnly: true }) @IsOptional() client?: unknown;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) commandTimeoutMs?: number;
  @IsOptional() @IsArray() @ArrayNotEmpty() @IsString({ each: true })
  @Matches(/^rediss?:\/\//, { each: true, message: 'clusterNodes must be redis:// or rediss:// URLs' })
  clusterNodes?: string[];
}

export class RegistryDto {
  @IsArray() @ArrayNotEmpty({ message: 'keys must list at least one key' })
  @ValidateNested({ each: true }) @Type(() => KeyDto)
  keys!: KeyDto[];
  /** Validated per provider name in {@link validateOptions}. */
  @IsOptional() @IsObject() providers?: Record<string, ProviderDto>;
  @IsOptional() @ValidateNested() @Type(() => StateStoreDto) stateStore?: StateStoreDto;
  @IsOptional() @IsObject() fallbacks?: Record<string, unknown>;
}

export class OptionsDto {
  @ValidateNested() @Type(() => RegistryDto) @IsObject({ message: 'registry must be an object' }) registry!: RegistryDto;
  @IsArray() @ArrayNotEmpty({ message: 'useKeys must name at least one key' }) @IsString({ each: true }) useKeys!: string[];
  @IsOptional() @IsIn(STRATEGIES as string[], { message: `$property must be one of ${STRATEGIES.join(', ')}` })
  strategy?: StrategyName;
  @IsOptional() @IsObject() priorities?: Record<string, number>;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) leaseTtlMs?: number;
  @IsOptional() @IsIn([true, false, 'debug', 'verbose', 'log'], { message: '$property must be true, false, debug, verbose or log' })
  logUsage?: boolean | 'debug' | 'verbose' | 'log';
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) shutdownTimeoutMs?: number;
  /** Functions: never copied by class-transformer; their shape is checked in validateOptions. */
  @Exclude({ toClassOnly: true }) @IsOptional() secretResolvers?: unknown;
  /** Checked entry by entry in validateOptions. */
  @IsOptional() @IsObject() pricing?: Record<string, unknown>;
  @IsOptional() @IsBoolean({ message: '$property must be true or false (or left unset: on when @opentelemetry/api is installed)' }) tracing?: boolean;
}
