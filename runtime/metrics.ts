/**
 * Prometheus metrics registry (text exposition format 0.0.4) implementing runtime/role.ts `Metrics`.
 * Histograms use fixed latency-style buckets (seconds or any unit the caller observes in).
 */
import type { Labels, Metrics } from './role.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Series {
  labels: Labels;
  value: number;
  buckets?: number[];
  sum?: number;
  count?: number;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  series: Map<string, Series>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

export class MetricsRegistry implements Metrics {
  private readonly families = new Map<string, Family>();

  private series(name: string, help: string, type: Family['type'], labels: Labels = {}): Series {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    let fam = this.families.get(name);
    if (!fam) {
      fam = { name, help, type, series: new Map() };
      this.families.set(name, fam);
    }
    const key = labelKey(labels);
    let s = fam.series.get(key);
    if (!s) {
      s = { labels, value: 0 };
      if (type === 'histogram') {
        s.buckets = BUCKETS.map(() => 0);
        s.sum = 0;
        s.count = 0;
      }
      fam.series.set(key, s);
    }
    return s;
  }

  counter(name: string, help: string, labels?: Labels): { inc(by?: number): void } {
    const s = this.series(name, help, 'counter', labels);
    return {
      inc: (by = 1) => {
        s.value += by;
      },
    };
  }

  gauge(name: string, help: string, labels?: Labels): { set(value: number): void } {
    const s = this.series(name, help, 'gauge', labels);
    return {
      set: (v) => {
        s.value = v;
      },
    };
  }

  histogram(name: string, help: string, labels?: Labels): { observe(value: number): void } {
    const s = this.series(name, help, 'histogram', labels);
    return {
      observe: (v) => {
        s.sum! += v;
        s.count! += 1;
        for (let i = 0; i < BUCKETS.length; i++) if (v <= BUCKETS[i]!) s.buckets![i]! += 1;
      },
    };
  }

  /** Current value of a counter/gauge series (tests, health). */
  value(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.series.get(labelKey(labels))?.value ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const fam of this.families.values()) {
      lines.push(`# HELP ${fam.name} ${fam.help.replace(/\n/g, ' ')}`);
      lines.push(`# TYPE ${fam.name} ${fam.type}`);
      for (const s of fam.series.values()) {
        const lk = labelKey(s.labels);
        if (fam.type !== 'histogram') {
          lines.push(`${fam.name}${lk ? `{${lk}}` : ''} ${s.value}`);
          continue;
        }
        BUCKETS.forEach((b, i) => {
          lines.push(`${fam.name}_bucket{${lk ? `${lk},` : ''}le="${b}"} ${s.buckets![i]}`);
        });
        lines.push(`${fam.name}_bucket{${lk ? `${lk},` : ''}le="+Inf"} ${s.count}`);
        lines.push(`${fam.name}_sum${lk ? `{${lk}}` : ''} ${s.sum}`);
        lines.push(`${fam.name}_count${lk ? `{${lk}}` : ''} ${s.count}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}
