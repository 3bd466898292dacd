/**
 * Live progress of plan/deploy/destroy on a TTY (Ink): one line per node or resource with its state and
 * elapsed time; finished rows move into <Static> above the live area (so they stay in the scrollback and are
 * never redrawn), and a summary line closes the view. Loaded lazily by the commands, only on a TTY.
 *
 * The row model (`ProgressModel`) is plain TypeScript shared with the plain-line renderer of non-TTY runs.
 */
import { Box, render, Static, Text } from 'ink';
import type { DeployEvent } from '../stacks/realizer.js';
import { COLOR, formatRow, ProgressModel, type ProgressRow, rowWhat } from './deploy-progress-model.js';

export { formatRow, ProgressModel, type ProgressRow } from './deploy-progress-model.js';

export interface DeployProgressProps {
  title: string;
  completed: readonly ProgressRow[];
  live: readonly ProgressRow[];
  now: number;
  summary?: string;
}

export function DeployProgress({ title, completed, live, now, summary }: DeployProgressProps) {
  // Column widths from every row seen so far; capped so one long name cannot push the rest off screen.
  const rows = [...completed, ...live];
  const width = Math.min(40, Math.max(0, ...rows.map((r) => r.id.length)));
  const whatWidth = Math.min(40, Math.max(0, ...rows.map((r) => rowWhat(r).length)));
  return (
    <>
      <Static items={[...completed]}>
        {(row) => (
          <Text key={row.key} color={COLOR[row.state]}>
            {formatRow(row, now, width, whatWidth)}
          </Text>
        )}
      </Static>
      <Box flexDirection="column">
        {summary === undefined ? <Text bold>{title}</Text> : null}
        {live.map((row) => (
          <Text key={row.key} color={COLOR[row.state]}>
            {formatRow(row, now, width, whatWidth)}
          </Text>
        ))}
        {summary === undefined ? null : <Text bold>{summary}</Text>}
      </Box>
    </>
  );
}

export interface ProgressSink {
  onEvent(e: DeployEvent): void;
  /** Draw the summary and stop rendering. */
  finish(summary: string): Promise<void>;
}

/** Ink progress on a TTY stream; redraws at most 5 times a second (elapsed times tick while rows run). */
export function startInkProgress(title: string, stdout: NodeJS.WriteStream = process.stdout): ProgressSink {
  const model = new ProgressModel();
  const view = (summary?: string) => (
    <DeployProgress
      title={title}
      completed={model.completed}
      live={model.liveRows()}
      now={Date.now()}
      {...(summary === undefined ? {} : { summary })}
    />
  );
  const instance = render(view(), { stdout, patchConsole: false, exitOnCtrlC: false });
  let dirty = false;
  const timer = setInterval(() => {
    if (dirty || model.liveRows().length > 0) instance.rerender(view());
    dirty = false;
  }, 200);
  return {
    onEvent(e) {
      model.apply(e);
      dirty = true;
    },
    async finish(summary) {
      clearInterval(timer);
      instance.rerender(view(summary));
      instance.unmount();
      await instance.waitUntilExit().catch(() => {});
    },
  };
}
