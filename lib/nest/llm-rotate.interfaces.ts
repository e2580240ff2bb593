import type { InjectionToken, ModuleMetadata, OptionalFactoryDependency, Provider, Type } from '@nestjs/common';
import type { LlmRotateOptions } from '../core/config/options.interfaces';

/** What the module takes besides the engine's options. They never reach the engine's validation. */
export interface LlmRotateModuleExtras {
  /**
   * A named pool: inject it with `@InjectLlmRotate(name)` (and `@InjectLlmRotateHealth(name)`,
   * `@InjectLlmRotateEngine(name)`). Without a name, the default pool: `LlmRotateService` by class.
   */
  name?: string;
  /** Register the pool's providers globally (every module can inject them without importing the module). */
  isGlobal?: boolean;
}

/** `LlmRotateModule.forRoot(options)`: the engine's options plus `name` / `isGlobal`. */
export type LlmRotateModuleOptions = LlmRotateOptions & LlmRotateModuleExtras;

/** What a `useClass` / `useExisting` options provider implements. */
export interface LlmRotateOptionsFactory {
  createLlmRotateOptions(): LlmRotateOptions | Promise<LlmRotateOptions>;
}

/**
 * `LlmRotateModule.forRootAsync(options)`: one of `useFactory` (with `inject`), `useClass` or `useExisting`.
 * `R` is what the factory returns; {@link ExactOptions} refuses any option name `LlmRotateOptions` does not know.
 */
export interface LlmRotateModuleAsyncOptions<R extends LlmRotateOptions = LlmRotateOptions> extends LlmRotateModuleExtras, Pick<ModuleMetadata, 'imports'> {
  /** Tokens whose instances are passed to `useFactory`, in order. */
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
  useFactory?: (...args: never[]) => R | Promise<R>;
  useClass?: Type<LlmRotateOptionsFactory>;
  useExisting?: Type<LlmRotateOptionsFactory>;
  /** Providers the factory (or the class) may inject, registered in this module only. */
  extraProviders?: Provider[];
}

/**
 * `T` with every property that `S` does not know turned into `never`, recursively (objects, arrays, unions).
 * Records (`metadata`, `headers`, `priorities`, …), functions and `unknown` slots are left as they are.
 */
export type ExactOptions<T, S> = T extends (...args: never[]) => unknown
  ? T
  : T extends readonly unknown[]
    ? S extends readonly (infer E)[]
      ? { [I in keyof T]: ExactOptions<T[I], E> }
      : T
    : T extends object
      ? S extends object
        ? string extends keyof S
          ? T
          : { [K in keyof T]: K extends keyof S ? ExactOptions<T[K], NonNullable<S[K]>> : never }
        : T
      : T;

/**
 * A factory's object literal is not checked for unknown names by TypeScript (only an annotated one is): this
 * adds that check. A misspelt option in what `useFactory` returns fails to compile, as in `forRoot`.
 */
export type StrictFactory<R> = [R] extends [ExactOptions<R, LlmRotateOptions>]
  ? unknown
  : { useFactory: (...args: never[]) => ExactOptions<R, LlmRotateOptions> | Promise<ExactOptions<R, LlmRotateOptions>> };
