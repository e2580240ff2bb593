/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: it rejects what a
 * Prometheus server would reject and more (a sample before its TYPE, a family split in two, a duplicate series,
 * a bad escape, a histogram whose buckets are not cumulative or whose +Inf bucket is not its count, a negative
 * counter), so that "the text parses" means something.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];

export function parsePrometheusText(text: string): Map<string, Family> {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('exposition text must end with a newline');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | undefined;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line.slice(0, 80))})`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return; // an ordinary comment
      const [, kind, name, rest] = m;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name`);
      const fam = enter(name, where);
      if (kind === 'HELP') {
        if (fam.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        fam.help = unescapeHelp(rest, where);
      } else {
        if (!TYPES.includes(rest as MetricType)) throw new Error(`${where}: unknown type ${rest}`);
        if (fam.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        if (fam.typed) throw new Error(`${where}: second TYPE for ${name}`);
        fam.type = rest as MetricType;
        fam.typed = true;
      }
      return;
    }
    const sample = parseSample(line, where);
    const familyName = familyOf(sample.name, families);
    const fam = enter(familyName, where);
    if (fam.type === 'histogram' && !/_(bucket|sum|count)$/.test(sample.name)) throw new Error(`${where}: histogram sample ${sample.name}`);
    fam.samples.push(sample);
  });

  function enter(name: string, where: string): Family & { typed?: boolean } {
    if (current?.name === name) return current;
    if (closed.has(name) || families.has(name)) throw new Error(`${where}: the lines of ${name} are not together`);
    if (current !== undefined) closed.add(current.name);
    current = { name, type: 'untyped', samples: [] };
    families.set(name, current);
    return current;
  }

  for (const fam of families.values()) check(fam);
  return families;
}

function familyOf(sampleName: string, families: Map<string, Family>): string {
  const m = /^(.*)_(bucket|sum|count)$/.exec(sampleName);
  if (m !== null) {
    const f = families.get(m[1]);
    if (f !== undefined && (f.type === 'histogram' || f.type === 'summary')) return m[1];
  }
  return sampleName;
}

function parseSample(line: string, where: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{)?/.exec(line);
  if (m === null) throw new Error(`${where}: bad sample`);
  const name = m[1];
  let pos = m[0].length;
  const labels: Record<string, string> = {};
  if (m[2] === '{') {
    for (;;) {
      if (line[pos] === '}') {
        pos++;
        break;
      }
      const ln = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(pos));
      if (ln === null) throw new Error(`${where}: bad label at ${pos}`);
      const label = ln[1];
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new Error(`${where}: bad label name ${label}`);
      if (label in labels) throw new Error(`${where}: label ${label} twice`);
      pos += ln[0].length;
      let value = '';
      for (;;) {
        const c = line[pos++];
        if (c === undefined) throw new Error(`${where}: unterminated label value`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[pos++];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new Error(`${where}: bad escape \\${e}`);
        } else value += c;
      }
      labels[label] = value;
      if (line[pos] === ',') pos++;
      else if (line[pos] !== '}') throw new Error(`${where}: expected , or } at ${pos}`);
    }
  }
  const rest = line.slice(pos);
  const v = /^ (\S+)(?: (-?\d+))?$/.exec(rest);
  if (v === null) throw new Error(`${where}: bad value part ${JSON.stringify(rest)}`);
  return { name, labels, value: parseValue(v[1], where) };
}

function parseValue(s: string, where: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) throw new Error(`${where}: bad number ${s}`);
  return Number(s);
}

function unescapeHelp(s: string, where: string): string {
  return s.replace(/\\(.)/g, (_, e: string) => {
    if (e === 'n') return '\n';
    if (e === '\\') return '\\';
    throw new Error(`${where}: bad escape in HELP \\${e}`);
  });
}

function seriesKey(s: Sample): string {
  return `${s.name}{${Object.keys(s.labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(s.labels[k])}`)
    .join(',')}}`;
}

function check(fam: Family): void {
  const seen = new Set<string>();
  for (const s of fam.samples) {
    const k = seriesKey(s);
    if (seen.has(k)) throw new Error(`duplicate series ${k}`);
    seen.add(k);
    if (fam.type === 'counter' && !(s.value >= 0)) throw new Error(`counter ${k} is ${s.value}`);
  }
  if (fam.type !== 'histogram') return;
  // Group by the labels other than `le`.
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of fam.samples) {
    const { le, ...rest } = s.labels;
    const g = seriesKey({ name: '', labels: rest, value: 0 });
    let e = groups.get(g);
    if (e === undefined) groups.set(g, (e = { buckets: [] }));
    if (s.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${fam.name} bucket without le`);
      e.buckets.push([parseValue(le, fam.name), s.value]);
    } else if (s.name.endsWith('_sum')) e.sum = s.value;
    else e.count = s.value;
  }
  for (const [g, e] of groups) {
    if (e.count === undefined || e.sum === undefined) throw new Error(`${fam.name}${g}: no _count or _sum`);
    const b = e.buckets;
    if (b.length === 0 || b[b.length - 1][0] !== Infinity) throw new Error(`${fam.name}${g}: no +Inf bucket last`);
    for (let i = 1; i < b.length; i++) {
      if (!(b[i][0] > b[i - 1][0])) throw new Error(`${fam.name}${g}: buckets not in increasing le order`);
      if (b[i][1] < b[i - 1][1]) throw new Error(`${fam.name}${g}: buckets not cumulative`);
    }
    if (b[b.length - 1][1] !== e.count) throw new Error(`${fam.name}${g}: +Inf bucket ${b[b.length - 1][1]} != count ${e.count}`);
  }
}

/**
 * The value of the one series of `sampleName` whose labels include `labels`; undefined when none, an error
 * when several match (the test's labels are not specific enough).
 */
export function valueOf(families: Map<string, Family>, sampleName: string, labels: Record<string, string> = {}): number | undefined {
  const found = samplesOf(families, sampleName, labels);
  if (found.length > 1) throw new Error(`${found.length} series of ${sampleName} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}

/** Every sample of `sampleName` whose labels include `labels`. */
export function samplesOf(families: Map<string, Family>, sampleName: string, labels: Record<string, string> = {}): Sample[] {
  const out: Sample[] = [];
  for (const fam of families.values()) {
    for (const s of fam.samples) {
      if (s.name !== sampleName) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) out.push(s);
    }
  }
  return out;
}

/** The sum of the values of `sampleName` whose labels include `labels` (0 when none). */
export function sumOf(families: Map<string, Family>, sampleName: string, labels: Record<string, string> = {}): number {
  return samplesOf(families, sampleName, labels).reduce((a, s) => a + s.value, 0);
}
