// Settings: what a stage needs from its caller, named once. The CLI turns them into `--name`
// options and the actions into `name` inputs (the same kebab-case names, so docs, errors and
// workflow files agree), and both read them through readSettings, so every value is parsed and
// checked the same way before any work starts.

/** One setting. `parse` turns the given text into the value and throws a message without the name. */
export interface Setting<T> {
  description: string;
  /** Placeholder in --help, e.g. PATH. */
  value?: string;
  /** The default, as text (as action.yml writes it); absent means "not set". */
  default?: string;
  required?: boolean;
  /** A boolean is an on/off switch: `--name` / `--no-name` on the CLI, getBooleanInput in an action. */
  kind?: "boolean";
  parse: (text: string) => T;
}

export type SettingSpec = Record<string, Setting<unknown>>;

/** The parsed values of a spec; settings without a value (and no default) are undefined. */
export type SettingValues<S extends SettingSpec> = {
  [K in keyof S]: S[K] extends { required: true } | { default: string }
    ? ReturnType<S[K]["parse"]>
    : ReturnType<S[K]["parse"]> | undefined;
};

/** How an adapter reads one raw value: text (empty or undefined = not given) or a boolean. */
export type RawSettingReader = (
  name: string,
  setting: Setting<unknown>,
) => string | boolean | undefined;

/** A setting's value was missing or bad: the message names the setting. */
export class SettingError extends Error {}

/** Reads and parses every setting of `spec` with `read`; the first bad one throws, named. */
export function readSettings<S extends SettingSpec>(
  spec: S,
  read: RawSettingReader,
): SettingValues<S> {
  const values: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(spec)) {
    const raw = read(name, setting);
    if (typeof raw === "boolean") {
      values[name] = raw;
      continue;
    }
    const text = raw?.trim() ? raw.trim() : setting.default;
    if (text === undefined || text === "") {
      if (setting.required) throw new SettingError(`${name}: required; ${setting.description}`);
      values[name] = undefined;
      continue;
    }
    try {
      values[name] = setting.parse(text);
    } catch (error) {
      throw new SettingError(`${name}: ${(error as Error).message}`);
    }
  }
  return values as SettingValues<S>;
}

type Options = Omit<Setting<unknown>, "parse" | "kind">;

/** Text as given (a path, a name, a version). */
export function text(options: Options & { required: true }): Setting<string> & { required: true };
export function text(options: Options & { default: string }): Setting<string> & { default: string };
export function text(options: Options): Setting<string>;
export function text(options: Options): Setting<string> {
  return { value: "VALUE", ...options, parse: (value) => value };
}

/** A finite number. */
export function number(options: Options & { default: string }): Setting<number> & {
  default: string;
};
export function number(options: Options): Setting<number>;
export function number(options: Options): Setting<number> {
  return {
    value: "N",
    ...options,
    parse: (value) => {
      const parsed = Number(value);
      if (!Number.isFinite(parsed)) throw new Error(`"${value}" is not a number`);
      return parsed;
    },
  };
}

/** An on/off switch. */
export function flag(options: Options & { default: "true" | "false" }): Setting<boolean> & {
  default: string;
} {
  return {
    ...options,
    kind: "boolean",
    parse: (value) => {
      if (/^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
      throw new Error(`"${value}" is not allowed; expected true or false`);
    },
  };
}

/** Names or paths separated by commas, spaces or new lines, in order. */
export function list(options: Options & { required: true }): Setting<string[]> & {
  required: true;
};
export function list(options: Options): Setting<string[]>;
export function list(options: Options): Setting<string[]> {
  return {
    value: "A,B,...",
    ...options,
    parse: (value) => value.split(/[\s,]+/).filter(Boolean),
  };
}

/** One shard of a job split in `count` parts: `index/count`, 0-based, e.g. 0/2. */
export interface Shard {
  index: number;
  count: number;
}

/** The one parser of `K/N` shard settings. */
export function parseShard(value: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (!match) throw new Error(`"${value}" is not allowed; expected INDEX/COUNT such as 0/2`);
  return { index: Number(match[1]), count: Number(match[2]) };
}

/** A `K/N` shard setting. */
export function shard(options: Options): Setting<Shard> {
  return { value: "K/N", ...options, parse: parseShard };
}
