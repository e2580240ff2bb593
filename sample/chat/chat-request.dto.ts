import { Type } from 'class-transformer';
import { ArrayNotEmpty, IsArray, IsBoolean, IsIn, IsInt, IsNotEmpty, IsNumber, IsOptional, IsString, Max, Min, ValidateNested } from 'class-validator';
import type { Role } from '../../lib';

const ROLES: readonly Role[] = ['system', 'user', 'assistant'];

export class ChatMessageDto {
  @IsIn(ROLES)
  role!: Role;

  @IsString()
  content!: string;
}

/** `POST /chat` body. */
export class ChatRequestDto {
  /** Default: the sample's configured model (`LLM_MODEL`). */
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  model?: string;

  @IsArray()
  @ArrayNotEmpty()
  @ValidateNested({ each: true })
  @Type(() => ChatMessageDto)
  messages!: ChatMessageDto[];

  /** Answer as Server-Sent Events (so does `Accept: text/event-stream`). */
  @IsOptional()
  @IsBoolean()
  stream?: boolean;

  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  maxTokens?: number;
}
