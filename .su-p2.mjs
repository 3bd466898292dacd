const fs = await import('node:fs');
const text = fs.readFileSync('/tmp/su/t.yaml', 'utf8');
const yaml = await import('yaml');
for (const n of [100, 200, 400, 500]) {
  const lines = text.split('\n'); const idx = lines.indexOf('components:');
  const sub = lines.slice(0, idx + 1 + n).join('\n') + '\n';
  let t = performance.now();
  const doc = yaml.parseDocument(sub, { prettyErrors: false, uniqueKeys: false, strict: true });
  const a = performance.now() - t; t = performance.now();
  const toks = [...new yaml.Lexer().lex(sub)].length; const b = performance.now() - t; t = performance.now();
  const csts = [...new yaml.Parser().parse(sub)].length; const c = performance.now() - t;
  console.log(n, 'parseDoc', a.toFixed(0), 'lex', b.toFixed(0), toks, 'parser', c.toFixed(0));
}
