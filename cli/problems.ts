/** Human rendering of problems: `file:line:col error CODE message` and an indented hint, colored on a TTY. */

import { style } from '../dashboard/style.js';
import type { Problem } from '../kernel/errors.js';

export function renderProblem(p: Problem, stream: NodeJS.WriteStream = process.stdout): string {
  const where = [p.file, p.line, p.line === undefined ? undefined : p.column].filter((x) => x !== undefined).join(':');
  const severity = p.severity === 'error' ? style.red('error', stream) : style.yellow('warning', stream);
  const head = `${where ? `${style.bold(where, stream)} ` : ''}${severity} ${style.dim(p.code, stream)} ${p.message}`;
  return p.hint ? `${head}\n  ${style.cyan('hint:', stream)} ${p.hint}` : head;
}
