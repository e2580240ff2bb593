import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsNumber, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

/**
 * `GET /chat/stream?prompt=...`: what a browser's `EventSource` can send (a GET with query parameters, no body).
 * Numbers arrive as text; `@Type(() => Number)` converts them before validation.
 */
export class ChatStreamQueryDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(8_000)
  prompt!: string;

  /** An optional system prompt. */
  @IsOptional()
  @IsString()
  @MaxLength(8_000)
  system?: string;

  /** Default: the sample's configured model (`LLM_MODEL`). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  model?: string;

  @IsOptional()
  @Type(() => Number)
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  maxTokens?: number;
}
