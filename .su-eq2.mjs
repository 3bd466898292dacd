import { readYamlSubset } from './dist/topology/yaml-subset.js';
import { parseDocument } from 'yaml';
import { isDeepStrictEqual } from 'node:util';
const keys = ['a', 'b', 'c', 'x-y', 'k.v', 'constructor', 'A_1'];
const vals = ['a', 'b1', '1', '-3', '0', 'true', 'x-y', 'k/v', 'on', 'yes', 'NaN', 'Infinity', 'e1', 'a.b'];
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
function flow(d) { const r = Math.random(); if (d > 2 || r < 0.5) return pick(vals); if (r < 0.75) return '[' + Array.from({length: Math.floor(Math.random()*3)}, () => flow(d+1)).join(pick([', ', ',', ' , '])) + ']'; return '{' + pick([' ', '']) + Array.from({length: Math.floor(Math.random()*3)}, () => pick(keys) + ': ' + flow(d+1)).join(pick([', ', ','])) + pick(['}', ' }']); }
let n = 0, acc = 0, bad = 0;
for (let i = 0; i < 100000; i++) {
  const lines = []; const m = 1 + Math.floor(Math.random() * 8);
  for (let j = 0; j < m; j++) lines.push(pick(['', '', '  ', '    ', '   ']) + pick(keys) + pick([':', ': ', ':  ']) + (Math.random() < 0.3 ? '' : flow(0)) + pick(['', ' # c', '  ', '']) + (Math.random() < 0.1 ? '\n  # x' : ''));
  const t = lines.join('\n') + pick(['\n', '', '\n\n']);
  const a = readYamlSubset(t); n++;
  if (a === undefined) continue; acc++;
  const d = parseDocument(t, {uniqueKeys: false, strict: true});
  if (d.errors.length || d.warnings.length) { bad++; if (bad < 10) console.log('ERRS', JSON.stringify(t), d.errors.map(e=>e.message)); continue; }
  const b = d.toJS();
  if (!isDeepStrictEqual(a, b)) { bad++; if (bad < 10) console.log('DIFF', JSON.stringify(t), JSON.stringify(a), JSON.stringify(b)); }
}
console.log({ n, acc, bad });
