// The picture of a benchmark's latest run: .bench/reports/<name>.svg with bars of ours against
// every peer, one panel per measure, titled with the date, the machine and the versions; and
// .bench/reports/<name>.json beside it with the same numbers.
import { availableParallelism, cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { $ } from "zx";
import { writeFileAtomic, writeJsonAtomic } from "../../lib/io/files.ts";
import { libraryVersions } from "../../lib/io/versions.ts";
import { renderSvg } from "../../stages/4-evaluate/plots.ts";
import { BENCH_DIR } from "./paths.ts";

export const REPORTS_DIR = join(BENCH_DIR, "reports");

/** The machine's 1-minute load average when the bench started: these machines are shared. */
const LOAD_AT_START = loadavg()[0];

export interface Bar {
  side: string;
  /** Null when the side was not measured (e.g. --skip-peers): no bar. */
  value: number | null;
}

export interface Panel {
  /** What is measured, with its unit and which way is better, e.g. "fit time, s (lower is better)". */
  title: string;
  /** The first bar is ours. */
  bars: Bar[];
}

export interface Machine {
  cpu: string;
  cores: number;
  memory_gb: number;
  /** 1-minute load average when the bench started; above the core count, others were busy too. */
  load_at_start: number;
}

export interface BenchReport {
  bench: string;
  /** One line under the title: what was run, e.g. "100 trees, 16,512 training rows". */
  setup: string;
  panels: Panel[];
  /** The bench's last-line JSON. */
  result: Record<string, unknown>;
  /** Versions of the peers' packages that this bench uses (ours are added). */
  versions: Record<string, string>;
  notes?: string[];
}

/** The CPU as `lscpu` names it (else the kernel's cpuinfo), the cores and the memory. */
export async function describeMachine(): Promise<Machine> {
  const lscpu = await $({ nothrow: true, quiet: true })`lscpu`;
  const model = /^Model name:\s*(.+)$/m.exec(lscpu.stdout)?.[1]?.trim();
  return {
    cpu: model ?? cpus()[0]?.model ?? "unknown CPU",
    cores: availableParallelism(),
    memory_gb: Math.round(totalmem() / 2 ** 30),
    load_at_start: Number(LOAD_AT_START.toFixed(1)),
  };
}

/** Writes the report's SVG and JSON; returns their paths. */
export async function writeReport(report: BenchReport): Promise<{ svg: string; json: string }> {
  const machine = await describeMachine();
  const date = new Date().toISOString().slice(0, 10);
  const versions = { ...libraryVersions(), ...report.versions };
  const svgPath = join(REPORTS_DIR, `${report.bench}.svg`);
  const jsonPath = join(REPORTS_DIR, `${report.bench}.json`);
  await writeFileAtomic(svgPath, await renderSvg(reportSpec(report, { machine, date, versions })));
  await writeJsonAtomic(jsonPath, {
    bench: report.bench,
    date,
    machine,
    setup: report.setup,
    versions,
    result: report.result,
    panels: report.panels,
    notes: report.notes ?? [],
  });
  console.error(`bench ${report.bench}: wrote ${svgPath} and ${jsonPath}`);
  return { svg: svgPath, json: jsonPath };
}

/** The vega-lite spec of the report: one horizontal bar chart per panel, ours in colour. */
export function reportSpec(
  report: BenchReport,
  context: { machine: Machine; date: string; versions: Record<string, string> },
): TopLevelSpec {
  const { machine, date, versions } = context;
  const versionText = Object.entries(versions).map(([name, version]) => `${name} ${version}`);
  // Versions wrap over as many subtitle lines as they need, a few per line.
  const versionLines: string[] = [];
  for (let i = 0; i < versionText.length; i += 6) {
    versionLines.push(versionText.slice(i, i + 6).join(", "));
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: `npm run bench -- ${report.bench}: ${report.setup}`,
      subtitle: [
        `${date} · ${machine.cpu}, ${machine.cores} cores, ${machine.memory_gb} GB · load average ${machine.load_at_start} at start`,
        ...versionLines,
        ...(report.notes ?? []),
      ],
      anchor: "start",
    },
    background: "white",
    vconcat: report.panels.map((panel) => {
      const values = panel.bars
        .map((bar, index) => ({ ...bar, who: index === 0 ? "ours" : "peer" }))
        .filter((bar) => bar.value !== null && Number.isFinite(bar.value))
        .map((bar) => ({ ...bar, label: formatValue(bar.value as number) }));
      const y = {
        field: "side",
        type: "nominal",
        sort: null,
        title: null,
        axis: { labelLimit: 280 },
      } as const;
      return {
        title: panel.title,
        width: 420,
        data: { values },
        encoding: { y },
        layer: [
          {
            mark: "bar",
            encoding: {
              x: { field: "value", type: "quantitative", title: null },
              color: {
                field: "who",
                type: "nominal",
                scale: { domain: ["ours", "peer"], range: ["#d9480f", "#868e96"] },
                legend: null,
              },
            },
          },
          {
            mark: { type: "text", align: "left", dx: 3 },
            encoding: {
              x: { field: "value", type: "quantitative" },
              text: { field: "label", type: "nominal" },
            },
          },
        ],
      };
    }),
  };
}

/** The versions of `names` only (those a bench uses), from all the installed ones. */
export function pickVersions(
  versions: Record<string, string> | undefined,
  names: string[],
): Record<string, string> {
  return Object.fromEntries(
    names.filter((name) => versions?.[name]).map((name) => [name, versions?.[name] as string]),
  );
}

/** A value with about three significant digits, e.g. 1.78, 30.8, 7080. */
export function formatValue(value: number): string {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}
