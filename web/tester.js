// tester.js - call one tool from the page, as MCP Inspector does: a form
// made from the tool's inputSchema, sent through /mcp, the result shown as
// the client would get it (text, structured content, images) or the error.
import { el, jsonText } from './dom.js';

let uid = 0;

/** One field per property. Strings, numbers, integers, booleans and enums
 *  get their own control; arrays, objects and anything else are JSON. */
function fieldFor(name, schema, required) {
  const id = `arg-${++uid}`;
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  const hintId = schema.description ? `${id}-hint` : null;
  const errId = `${id}-err`;
  const described = [hintId, errId].filter(Boolean).join(' ');
  let input;
  let kind;
  if (Array.isArray(schema.enum)) {
    kind = 'enum';
    input = el('select', { id, 'aria-describedby': described },
      required ? null : el('option', { value: '', text: '(not set)' }),
      ...schema.enum.map((v, i) => el('option', { value: String(i), text: typeof v === 'string' ? v : JSON.stringify(v) })));
  } else if (type === 'boolean') {
    kind = 'boolean';
    input = el('input', { id, type: 'checkbox', 'aria-describedby': described });
    if (schema.default === true) input.checked = true;
  } else if (type === 'number' || type === 'integer') {
    kind = type;
    input = el('input', {
      id, type: 'number', step: type === 'integer' ? '1' : 'any', 'aria-describedby': described,
      min: schema.minimum ?? null, max: schema.maximum ?? null,
    });
  } else if (type === 'string') {
    kind = 'string';
    input = el('input', { id, type: 'text', 'aria-describedby': described, spellcheck: 'false' });
  } else {
    kind = 'json';
    input = el('textarea', { id, rows: '3', 'aria-describedby': described, spellcheck: 'false', placeholder: type === 'array' ? '[ ]' : '{ }' });
  }
  if (required && kind !== 'boolean') input.required = true;
  if (schema.default !== undefined && kind !== 'boolean' && kind !== 'enum') {
    input.value = kind === 'json' ? JSON.stringify(schema.default) : String(schema.default);
  }
  const err = el('span', { id: errId, class: 'field-error', role: 'alert' });
  const typeText = Array.isArray(schema.enum) ? 'one of' : (type || 'JSON');
  const row = el('div', { class: `field field-${kind}` },
    el('label', { for: id }, el('span', { class: 'fname', text: name }),
      el('span', { class: 'ftype muted', text: ` ${typeText}${required ? ', required' : ''}` })),
    input,
    hintId ? el('span', { id: hintId, class: 'hint muted', text: schema.description }) : null,
    err);
  return { name, kind, schema, input, err, required, row };
}

/** The arguments the fields hold; throws after marking the bad field. */
function collect(fields) {
  const args = {};
  let bad = null;
  for (const f of fields) {
    f.err.textContent = '';
    f.input.removeAttribute('aria-invalid');
    const fail = (msg) => {
      f.err.textContent = msg;
      f.input.setAttribute('aria-invalid', 'true');
      bad = bad || f;
    };
    const raw = f.input.value;
    switch (f.kind) {
      case 'boolean':
        args[f.name] = f.input.checked;
        break;
      case 'enum':
        if (raw !== '') args[f.name] = f.schema.enum[Number(raw)];
        else if (f.required) fail('required');
        break;
      case 'number':
      case 'integer':
        if (raw.trim() === '') { if (f.required) fail('required'); break; }
        if (!Number.isFinite(Number(raw))) { fail('not a number'); break; }
        if (f.kind === 'integer' && !Number.isInteger(Number(raw))) { fail('must be a whole number'); break; }
        args[f.name] = Number(raw);
        break;
      case 'string':
        if (raw === '' && !f.required) break;
        args[f.name] = raw;
        break;
      default:
        if (raw.trim() === '') { if (f.required) fail('required'); break; }
        try { args[f.name] = JSON.parse(raw); } catch (e) { fail(`not JSON: ${e.message}`); }
    }
  }
  if (bad) {
    bad.input.focus();
    throw new Error('fix the marked fields');
  }
  return args;
}

/** Shows a tools/call answer: content items, structured content, errors. */
function renderAnswer(box, answer, ms) {
  box.textContent = '';
  if (answer.error) {
    box.dataset.outcome = 'error';
    box.append(el('p', { class: 'result-head bad', text: `Error ${answer.error.code}: ${answer.error.message}` }));
    if (answer.error.data !== undefined) box.append(el('pre', { text: jsonText(answer.error.data) }));
    return;
  }
  const r = answer.result || {};
  box.dataset.outcome = r.isError ? 'tool-error' : 'ok';
  box.append(el('p', { class: `result-head ${r.isError ? 'bad' : 'good'}`, text: `${r.isError ? 'The tool reported an error' : 'Result'} · ${ms} ms` }));
  for (const item of r.content || []) {
    if (item.type === 'text') box.append(el('pre', { class: 'result-text', text: item.text }));
    else if (item.type === 'image' && item.data) {
      box.append(el('img', { class: 'result-img', src: `data:${item.mimeType || 'image/png'};base64,${item.data}`, alt: `image result (${item.mimeType || 'image'})` }));
    } else box.append(el('pre', { text: jsonText(item) }));
  }
  if (r.structuredContent !== undefined) {
    box.append(el('p', { class: 'muted', text: 'Structured content' }), el('pre', { class: 'result-structured', text: jsonText(r.structuredContent) }));
  }
}

/** The tester for `tool` of `server`, as an element. */
export function toolTester(server, tool, mcp) {
  const schema = tool.inputSchema || { type: 'object' };
  const props = schema.properties || {};
  const req = new Set(Array.isArray(schema.required) ? schema.required : []);
  const fields = Object.entries(props).map(([n, s]) => fieldFor(n, s || {}, req.has(n)));
  const result = el('div', { class: 'result', 'aria-live': 'polite' });
  const status = el('span', { class: 'muted', role: 'status' });
  const button = el('button', { type: 'submit', class: 'btn primary', text: `Call ${tool.name}` });
  const form = el('form', { class: 'tester', 'aria-label': `Call ${tool.name}`, novalidate: true },
    fields.length ? null : el('p', { class: 'muted', text: 'This tool takes no arguments.' }),
    ...fields.map((f) => f.row),
    el('div', { class: 'tester-actions' }, button, status),
    result);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    let args;
    try { args = collect(fields); } catch (err) { status.textContent = err.message; return; }
    button.disabled = true;
    status.textContent = 'calling…';
    const t0 = performance.now();
    try {
      const answer = await mcp.callTool(server, tool.name, args);
      renderAnswer(result, answer, Math.round(performance.now() - t0));
      status.textContent = '';
    } catch (err) {
      result.textContent = '';
      result.dataset.outcome = 'error';
      result.append(el('p', { class: 'result-head bad', text: `The call failed: ${err.message}` }));
      status.textContent = '';
    }
    button.disabled = false;
  });
  return form;
}
