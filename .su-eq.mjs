import { readYamlSubset } from './dist/topology/yaml-subset.js';
import { parse } from 'yaml';
import fs from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
const files = [process.argv[2], ...fs.readdirSync('templates').map(f => 'templates/' + f)];
for (const f of files) { const t = fs.readFileSync(f, 'utf8'); const a = readYamlSubset(t); console.log(f, a === undefined ? 'fallback' : isDeepStrictEqual(a, parse(t, {uniqueKeys:false})) ? 'EQUAL' : 'DIFF'); }
// random fuzz over small alphabet
const atoms = ['a', 'b', 'true', 'null', '1', '-3', '007', '1.5', 'x-y', 'k/v', '__proto__', '"q"', '#c', ' #c', '', '&a', '*a', 'constructor', 'Null', 'yes', '0x1', '~'];
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
function flow(d) { const r = Math.random(); if (d > 2 || r < 0.5) return pick(atoms); if (r < 0.75) return '[' + Array.from({length: Math.floor(Math.random()*3)}, () => flow(d+1)).join(pick([', ', ',', ' , '])) + pick([']', ',]', ' ]']); return '{' + pick([' ', '']) + Array.from({length: Math.floor(Math.random()*3)}, () => pick(atoms) + pick([': ', ':', ' : ']) + flow(d+1)).join(', ') + pick(['}', ' }', ',}']); }
let n = 0, acc = 0, bad = 0;
for (let i = 0; i < 200000; i++) {
  const lines = []; const m = 1 + Math.floor(Math.random() * 6);
  for (let j = 0; j < m; j++) lines.push(pick(['', '', '  ', '    ', ' ', '#x', '- ']) + pick(atoms) + pick([':', ': ', ':  ', ' :']) + (Math.random() < 0.3 ? '' : flow(0)) + pick(['', ' # c', '#c', '  ']));
  const t = lines.join('\n') + pick(['\n', '', '\n\n']);
  const a = readYamlSubset(t); n++;
  if (a === undefined) continue; acc++;
  let b; try { const d = (await import('yaml')).parseDocument(t, {uniqueKeys: false, strict: true}); if (d.errors.length || d.warnings.length) { bad++; console.log('ERRS', JSON.stringify(t), d.errors.map(e=>e.message)); continue; } b = d.toJS(); } catch (e) { bad++; console.log('THROW', JSON.stringify(t)); continue; }
  if (!isDeepStrictEqual(a, b)) { bad++; if (bad < 10) console.log('DIFF', JSON.stringify(t), JSON.stringify(a), JSON.stringify(b)); }
}
console.log({ n, acc, bad });
